package main

import (
	"cmp"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/internal/cmdline"
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

// image reads --from-tar or --from-mtree: the image a baseline records instead of a
// walk, with its content opened until done; nil for none.
func image(c *cli.Context, warn *warnings) (*check.Image, func(), error) {
	if imageSource(c) == "" {
		return nil, func() {}, nil
	}
	if c.String("from-tar") != "" && c.String("from-mtree") != "" {
		return nil, nil, cmdline.Usagef("give --from-tar or --from-mtree, not both")
	}
	im := &check.Image{Name: cmp.Or(c.String("from-tar"), c.String("from-mtree")), Mtree: c.String("from-tar") == "", Warn: warn.add,
		Topmost: c.Args().Len() == 0 && c.String("config") == "", CrossMounts: c.IsSet("cross-mounts")}
	done, err := im.Open()
	return im, done, err
}
