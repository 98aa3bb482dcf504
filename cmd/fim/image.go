package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"

	"github.com/urfave/cli/v2"

	"fim/config"
	"fim/mtree"
	"fim/tarball"
	"fim/walk"
)

var fromTarFlag = &cli.StringFlag{Name: "from-tar", Usage: "record the tree in the tar stream `FILE` (- for stdin; gzip is read too) without unpacking it; PATHs are inside the image (default /)"}
var fromMtreeFlag = &cli.StringFlag{Name: "from-mtree", Usage: "record the tree a BSD mtree specification `SPEC` describes; with --root DIR, every file's digest is checked there and its content hashed"}

// imageSource returns what a baseline is read from instead of walked: "" for a walk.
func imageSource(c *cli.Context) string {
	if f := c.String("from-tar"); f != "" {
		return "tar:" + f
	}
	if f := c.String("from-mtree"); f != "" {
		return "mtree:" + f
	}
	return ""
}

// openInput opens a stream named on the command line: "-" for stdin, a regular file,
// or a pipe such as <(docker export …); a directory or device is refused.
func openInput(flag, file string) (*os.File, func(), error) {
	if file == "-" {
		return os.Stdin, func() {}, nil
	}
	f, err := walk.OpenInput(file, true)
	if err != nil {
		return nil, nil, usageErr("--%s: %v", flag, err)
	}
	return f, func() { f.Close() }, nil
}

// readImage reads the entries of the tar stream or mtree specification named on the
// command line, selected as the walk would select them, and marks the policy: its
// source, and the attributes the source cannot carry as ignored. It returns the entries
// as a walk would deliver them.
func readImage(c *cli.Context, pol *config.Policy, wk *walk.Walker, warn *warnings) (func(context.Context, func(*walk.Entry) error) error, error) {
	if c.String("from-tar") != "" && c.String("from-mtree") != "" {
		return nil, usageErr("give --from-tar or --from-mtree, not both")
	}
	var es []*walk.Entry
	var uncarried []string
	var err error
	if c.String("from-tar") != "" {
		es, err = readTar(c, pol, wk, warn)
		uncarried = tarball.Uncarried()
	} else {
		es, uncarried, err = readMtree(c, pol, wk)
	}
	if err != nil {
		return nil, err
	}
	if pol.MaxEntries > 0 && len(es) > pol.MaxEntries {
		return nil, fmt.Errorf("%d entries, more than --max-entries %d", len(es), pol.MaxEntries)
	}
	pol.Source = imageSource(c)
	for i := range pol.Rules {
		for _, a := range uncarried {
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

func readTar(c *cli.Context, pol *config.Policy, wk *walk.Walker, warn *warnings) ([]*walk.Entry, error) {
	if pol.Root != "" {
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
	in, done, err := openInput("from-tar", file)
	if err != nil {
		return nil, err
	}
	defer done()
	es, err := tarball.Read(c.Context, in, tarball.Options{MaxFileSize: maxSize, Select: wk.Selects, Warn: warn.add})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return es, nil
}

// readMtree imports a specification; an mtree walk crosses mounts, and so does the
// check of what it recorded, unless --cross-mounts says otherwise.
func readMtree(c *cli.Context, pol *config.Policy, wk *walk.Walker) ([]*walk.Entry, []string, error) {
	file := c.String("from-mtree")
	in, done, err := openInput("from-mtree", file)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	spec, err := mtree.Parse(in, file)
	if err != nil {
		return nil, nil, err
	}
	all, uncarried, err := mtree.Entries(spec, mtree.ImportOptions{Root: pol.Root,
		Warn: func(msg string) { fmt.Fprintf(os.Stderr, "fim: warning: %s: %s\n", file, msg) }})
	if err != nil {
		return nil, nil, err
	}
	if !c.IsSet("cross-mounts") {
		pol.CrossMounts = true
	}
	es := all[:0]
	for _, e := range all {
		if wk.Selects(e.Path) {
			es = append(es, e)
		}
	}
	if c.Args().Len() == 0 && c.String("config") == "" && len(pol.Rules) == 1 {
		// No PATH given: a check walks what the specification describes, from its
		// topmost entries, and not the whole of the root.
		tmpl := pol.Rules[0]
		pol.Rules = nil
		recorded := map[string]bool{}
		for _, e := range es {
			recorded[e.Path] = true
			if e.Path == "/" || !recorded[path.Dir(e.Path)] {
				r := tmpl
				r.Path = e.Path
				pol.Rules = append(pol.Rules, r)
			}
		}
	}
	return es, uncarried, nil
}
