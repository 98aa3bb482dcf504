package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/baseline"
	"fim/config"
	"fim/walk"
)

// TestExplain explains paths of a real tree against its baseline, and against a
// configuration file: what the policy selects, what the walk makes of it now, and the
// baseline's record.
func TestExplain(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "x", "dir/b": "y", "deep/1/2/c": "z"})
	must(t, os.Symlink("dir", filepath.Join(f.tree, "link")))
	f.baseline(t)
	write(t, filepath.Join(f.tree, "new"), "n") // after the baseline
	cfg := filepath.Join(f.dir, "fim.yaml")
	write(t, cfg, "paths:\n  - path: "+f.tree+"\n    max_depth: 2\n    include_hidden: false\n")

	for _, c := range []struct {
		name, arg string
		o         ExplainOptions
		monitored bool
		why       walk.Absence // for a selected path
		reason    walk.Reason  // of the selection
		at        string       // Looked.At or the selection's At, below the tree
		recorded  bool         // the baseline has a record
		baseline  bool         // the baseline was read
		line      int          // of the rule, with the configuration
	}{
		{"recorded file", "a", ExplainOptions{}, true, walk.Recorded, walk.ReasonSelected, "/a", true, true, 0},
		{"created since", "new", ExplainOptions{}, true, walk.Recorded, walk.ReasonSelected, "/new", false, true, 0},
		{"nothing there", "gone", ExplainOptions{}, true, walk.Missing, walk.ReasonSelected, "/gone", false, true, 0},
		{"below a symlink", "link/b", ExplainOptions{}, false, walk.BelowSymlink, walk.ReasonSelected, "/link", false, true, 0},
		{"the baseline itself", "var/fim.db", ExplainOptions{}, false, walk.OwnFile, walk.ReasonSelected, "/var/fim.db", false, true, 0},
		{"configured, too deep", "deep/1/2/c", ExplainOptions{Config: cfg}, false, 0, walk.ReasonTooDeep, "/deep/1/2", false, false, 2},
		{"configured, hidden", ".x", ExplainOptions{Config: cfg}, false, 0, walk.ReasonHidden, "/.x", false, false, 2},
		{"configured, with the baseline", "a", ExplainOptions{Config: cfg, ReadDB: true}, true, walk.Recorded, walk.ReasonSelected, "/a", true, true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.DB = f.db
			x, err := Explain(context.Background(), filepath.Join(f.tree, c.arg), c.o)
			must(t, err)
			if x.Path != filepath.Join(f.tree, c.arg) {
				t.Errorf("path %s", x.Path)
			}
			if x.Monitored != c.monitored || x.Reason != c.reason || x.Baseline != c.baseline || (x.Recorded != nil) != c.recorded ||
				x.RuleLine != c.line {
				t.Errorf("monitored %v, reason %v, baseline read %v, recorded %v, rule line %d; want %v, %v, %v, %v, %d",
					x.Monitored, x.Reason, x.Baseline, x.Recorded != nil, x.RuleLine, c.monitored, c.reason, c.baseline, c.recorded, c.line)
			}
			at := x.At
			if x.Selected() {
				at = x.Looked.At
				if x.Looked.Why != c.why {
					t.Errorf("walk: %v, want %v", x.Looked.Why, c.why)
				}
				if (x.Looked.Entry != nil) != (c.why == walk.Recorded) {
					t.Errorf("walk: entry %v for %v", x.Looked.Entry, x.Looked.Why)
				}
			}
			if at != f.tree+c.at {
				t.Errorf("decided at %s, want %s", at, f.tree+c.at)
			}
		})
	}

	// What cannot be explained: a configuration that does not load is the user's
	// mistake; a baseline that is not there is a baseline error.
	write(t, cfg, "paths: [{path: relative}]\n")
	var oe *OptionError
	if _, err := Explain(context.Background(), f.tree, ExplainOptions{Config: cfg}); !errors.As(err, &oe) {
		t.Errorf("bad configuration: %v, want an OptionError", err)
	}
	if _, err := Explain(context.Background(), f.tree, ExplainOptions{DB: filepath.Join(f.dir, "none.db")}); !errors.Is(err, baseline.ErrBadBaseline) {
		t.Errorf("no baseline: %v, want ErrBadBaseline", err)
	}
}

// TestExplainCopy: explain says whether a file under content_diff keeps a copy, and
// what keeps it from one: the shadow files, a no_diff pattern, a private key inside, a
// file not world-readable, content_diff_max, binary content; a rule without
// content_diff. The tree is read under a root, where /etc/shadow is the shadow file.
func TestExplainCopy(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{ContentDiffMax: 200})
	write(t, f.tree+"/etc/shadow", "root:x:1::::::\n")
	write(t, f.tree+"/etc/big.conf", strings.Repeat("x", 201))
	write(t, f.tree+"/etc/site.key", "not a key, by name one\n")
	write(t, f.tree+"/etc/db.secret", "x\n")
	write(t, f.tree+"/plain/a.conf", "a\n")
	f.pol.Root, f.pol.NoDiff = f.tree, []string{"**/*.secret"}
	f.pol.Rules[0].Path = "/etc"
	f.pol.Rules = append(f.pol.Rules, config.Rule{Path: "/plain", IncludeHidden: true})
	var err error
	f.comp, err = f.pol.Compile()
	must(t, err)
	f.baseline(t)
	for rel, want := range map[string]string{
		"/etc/app.conf":        "kept (",
		"/etc/ssh/sshd_config": "kept (",
		"/etc/shadow":          "none: secret: the shadow files are never kept",
		"/etc/site.key":        "none: secret: matches no_diff **/*.key",
		"/etc/db.secret":       "none: secret: matches no_diff **/*.secret",
		"/etc/ssh/id_ed25519":  "none: secret: matches no_diff **/id_*",
		"/etc/notes.txt":       "none: secret: it holds a private key",
		"/etc/private.conf":    "none: private: not world-readable, and its rule has no content_diff_private",
		"/etc/big.conf":        "none: too_large: 201 bytes, content_diff_max is 200",
		"/etc/blob.bin":        "none: binary: not UTF-8 text, or holds a NUL byte",
		"/plain/a.conf":        "none: its rule has no content_diff",
		"/etc/ssh":             "",
	} {
		x, err := Explain(context.Background(), rel, ExplainOptions{DB: f.db})
		must(t, err)
		if !strings.HasPrefix(x.Copy, want) || want == "" && x.Copy != "" {
			t.Errorf("%s: copy %q, want %q", rel, x.Copy, want)
		}
	}
}
