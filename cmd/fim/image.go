package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/config"
	"fim/tree"
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
// command line that a walk of pol would record, with the policy to record them under
// (check.ReadImage).
func readImage(c *cli.Context, pol *config.Policy, warn *warnings) (*config.Policy, tree.Seq, error) {
	if c.String("from-tar") != "" && c.String("from-mtree") != "" {
		return nil, nil, usageErr("give --from-tar or --from-mtree, not both")
	}
	im := check.Image{Name: c.String("from-tar"), Mtree: c.String("from-tar") == "", Warn: warn.add,
		Topmost: c.Args().Len() == 0 && c.String("config") == "", CrossMounts: c.IsSet("cross-mounts")}
	flag := "from-tar"
	if im.Mtree {
		im.Name, flag = c.String("from-mtree"), "from-mtree"
	}
	in, done, err := openInput(flag, im.Name)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	im.In = in
	return check.ReadImage(c.Context, pol, im) // an *check.OptionError exits ExitUsage
}
