package check

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fim/internal/fstest"
)

// TestExplainText writes fim explain's text for paths of a real tree that each limit
// decides, against its baseline and against a configuration file; the temporary
// directory is TREE in the golden file.
func TestExplainText(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "x", "dir/b": "y", "deep/1/2/c": "z", "big": strings.Repeat("b", 2048),
		"logs/x.log": "l", ".hidden": "h"})
	must(t, os.Symlink("dir", filepath.Join(f.tree, "link")))
	f.baseline(t)
	write(t, filepath.Join(f.tree, "new"), "n") // after the baseline
	cfg := filepath.Join(f.dir, "fim.yaml")
	write(t, cfg, "paths:\n  - path: "+f.tree+"\n    max_depth: 2\n    include_hidden: false\n    max_file_size: 1KiB\n"+
		"    events: [create, change]\n    ignore: [mtime]\n    exclude: ['**/*.log']\n"+
		"  - path: "+f.tree+"/g.log\n    growing: true\n"+
		"severity:\n  - name: the-a-file\n    paths: ['"+f.tree+"/a']\n    level: high\n")

	var out bytes.Buffer
	for _, c := range []struct {
		arg string
		o   ExplainOptions
	}{
		{"a", ExplainOptions{}},
		{"new", ExplainOptions{}},
		{"gone", ExplainOptions{}},
		{"link", ExplainOptions{}},
		{"link/b", ExplainOptions{}},
		{"dir", ExplainOptions{}},
		{"var/fim.db", ExplainOptions{}},
		{"/elsewhere", ExplainOptions{}},
		{"a", ExplainOptions{Config: cfg}},
		{"a", ExplainOptions{Config: cfg, ReadDB: true}},
		{"big", ExplainOptions{Config: cfg}},
		{"deep/1", ExplainOptions{Config: cfg}},
		{"deep/1/2/c", ExplainOptions{Config: cfg}},
		{".hidden", ExplainOptions{Config: cfg}},
		{"logs/x.log", ExplainOptions{Config: cfg}},
		{"g.log", ExplainOptions{Config: cfg}},
	} {
		c.o.DB = f.db
		arg := c.arg
		if !filepath.IsAbs(arg) {
			arg = filepath.Join(f.tree, arg)
		}
		x, err := Explain(context.Background(), arg, c.o)
		must(t, err)
		cmd := "$ explain " + c.arg
		if c.o.Config != "" {
			cmd += " --config CONFIG"
		}
		if c.o.ReadDB {
			cmd += " --db DB"
		}
		out.WriteString(cmd + "\n")
		must(t, x.WriteText(&out, c.o))
	}
	got := strings.NewReplacer(cfg, "CONFIG", f.db, "DB", f.tree, "TREE").Replace(out.String())
	got = entryLine.ReplaceAllString(got, "$1 UID GID SIZE TIME")
	fstest.Golden(t, filepath.Join("testdata", "explain.golden"), []byte(got))
}

// entryLine matches the owner, size and time of an entry written in the ls -l form,
// which depend on who runs the test and on the filesystem.
var entryLine = regexp.MustCompile(`((?:now|recorded): +\S+ \(\d+\)) +\d+ +\d+ +\d+ \S+Z`)
