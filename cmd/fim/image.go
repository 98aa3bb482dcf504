package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"fim/config"
	"fim/tarball"
	"fim/walk"
)

var fromTarFlag = &cli.StringFlag{Name: "from-tar", Usage: "record the tree in the tar stream `FILE` (- for stdin; gzip is read too) without unpacking it; PATHs are inside the image (default /)"}

// imageSource returns the image a baseline is read from instead of walked: "" for a walk.
func imageSource(c *cli.Context) string {
	if f := c.String("from-tar"); f != "" {
		return "tar:" + f
	}
	return ""
}

// readImage reads the entries of the image --from-tar names, selected as the walk would
// select them, and marks the policy: its source, and the attributes the image cannot
// carry as ignored. It returns the entries as a walk would deliver them.
func readImage(c *cli.Context, pol *config.Policy, wk *walk.Walker, warn *warnings) (func(context.Context, func(*walk.Entry) error) error, error) {
	if c.IsSet("root") || pol.Root != "" {
		return nil, usageErr("--from-tar reads the image, not a tree: --root goes with fim check")
	}
	var maxSize int64
	for i, r := range pol.Rules {
		if r.FollowSymlinks {
			return nil, usageErr("--from-tar: %s: symlinks in an image are recorded, never followed", r.Path)
		}
		if i > 0 && r.MaxFileSize != maxSize {
			return nil, usageErr("--from-tar: every path needs the same max_file_size")
		}
		maxSize = r.MaxFileSize
	}
	file := c.String("from-tar")
	in := os.Stdin
	if file != "-" {
		f, err := os.Open(file) // named by the operator: may be a pipe such as <(docker export …)
		if err != nil {
			return nil, usageErr("--from-tar: %v", err)
		}
		defer f.Close()
		in = f
	}
	es, err := tarball.Read(c.Context, in, tarball.Options{MaxFileSize: maxSize, Select: wk.Selects, Warn: warn.add})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if pol.MaxEntries > 0 && len(es) > pol.MaxEntries {
		return nil, fmt.Errorf("%s: %d entries, more than --max-entries %d", file, len(es), pol.MaxEntries)
	}
	pol.Source = imageSource(c)
	for i := range pol.Rules {
		for _, a := range tarball.Uncarried() {
			if !slices.Contains(pol.Rules[i].Ignore, a) {
				pol.Rules[i].Ignore = append(pol.Rules[i].Ignore, a)
			}
		}
	}
	return func(ctx context.Context, fn func(*walk.Entry) error) error {
		for _, e := range es {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
