package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"fim/diff"
	"fim/walk"
)

func TestExplain(t *testing.T) {
	p := &Policy{
		Exclude: []string{"**/*.tmp"},
		Rules: []Rule{
			{Path: "/etc", MaxDepth: 2, Exclude: []string{"/etc/shadow*"}, Ignore: []string{"mtime"}, IncludeHidden: true},
			{Path: "/etc/ssh", Events: []string{"change"}},
		},
	}
	c := compile(t, p)
	w := &walk.Walker{Roots: c.Roots()}
	tests := []struct {
		path          string
		reason        walk.Reason
		rule          string // "" for none
		policyExclude bool
		pattern       string
		events        diff.KindSet
		ignore        diff.AttrSet
	}{
		{"/etc/passwd", walk.ReasonSelected, "/etc", false, "", diff.AllKinds, attrs(diff.AttrMtime)},
		{"/etc/x.tmp", walk.ReasonExcluded, "/etc", true, "**/*.tmp", diff.AllKinds, attrs(diff.AttrMtime)},
		{"/etc/shadow-", walk.ReasonExcluded, "/etc", false, "/etc/shadow*", diff.AllKinds, attrs(diff.AttrMtime)},
		{"/etc/a/b/c", walk.ReasonTooDeep, "/etc", false, "", diff.AllKinds, attrs(diff.AttrMtime)},
		{"/etc/ssh/sshd_config", walk.ReasonSelected, "/etc/ssh", false, "", kinds(diff.Change), 0},
		{"/etc/ssh/a/b/c", walk.ReasonSelected, "/etc/ssh", false, "", kinds(diff.Change), 0},
		{"/etc/ssh/.x", walk.ReasonHidden, "/etc/ssh", false, "", kinds(diff.Change), 0},
		{"/var", walk.ReasonOutside, "", false, "", diff.AllKinds, 0},
	}
	for _, tt := range tests {
		e := c.Explain(w, tt.path)
		rule := ""
		if e.Rule != nil {
			rule = e.Rule.Path
		}
		pattern := ""
		if e.Pattern != nil {
			pattern = fmt.Sprint(e.Pattern)
		}
		if e.Reason != tt.reason || rule != tt.rule || e.PolicyExclude != tt.policyExclude || pattern != tt.pattern ||
			e.Events != tt.events || e.Ignore != tt.ignore {
			t.Errorf("%s: %v rule %q policy exclude %v pattern %q events %b ignore %b; want %v %q %v %q %b %b", tt.path,
				e.Reason, rule, e.PolicyExclude, pattern, e.Events, e.Ignore,
				tt.reason, tt.rule, tt.policyExclude, tt.pattern, tt.events, tt.ignore)
		}
		if e.Rule != nil && !reflect.DeepEqual(*e.Rule, ruleAt(p, rule)) {
			t.Errorf("%s: rule %+v, want the policy's %+v", tt.path, *e.Rule, ruleAt(p, rule))
		}
	}
	// The rule is a copy: the policy may change after Compile.
	p.Rules[0].MaxDepth = 9
	if e := c.Explain(w, "/etc/passwd"); e.Rule.MaxDepth != 2 {
		t.Errorf("rule changed with the policy: %+v", e.Rule)
	}
}

func ruleAt(p *Policy, path string) Rule {
	for _, r := range p.Rules {
		if r.Path == path {
			return r
		}
	}
	return Rule{}
}

func TestLoadLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fim.yaml")
	data := "# fim\nexclude: ['**/*.tmp']\npaths:\n  - path: /etc\n    max_depth: 2\n  - max_depth: 1\n    path: /usr/bin/\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, lines, err := LoadLines(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"/etc": 4, "/usr/bin": 7}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
	plain, err := Load(file)
	if err != nil || !reflect.DeepEqual(plain, cfg) {
		t.Errorf("Load gives %+v, %v; LoadLines %+v", plain, err, cfg)
	}
	if err := os.WriteFile(file, []byte("paths:\n  - path: /etc\n  - path: /etc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadLines(file); err == nil || err.Error() != file+`:3: paths[1].path: duplicate path "/etc" (first at line 2)` {
		t.Errorf("duplicate: %v", err)
	}
	if _, _, err := LoadLines(file + ".missing"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestFormatSize(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {1, "1"}, {1000, "1000"}, {1024, "1KiB"}, {1536, "1536"}, {64 << 20, "64MiB"},
		{3 << 30, "3GiB"}, {5 << 40, "5TiB"}, {1<<40 + 1<<10, "1073741825KiB"},
	} {
		got := FormatSize(tt.n)
		if got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
		if back, err := ParseSize(got); err != nil || back != tt.n {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", got, back, err, tt.n)
		}
	}
}

// FuzzFormatSize: every size FormatSize writes, ParseSize reads back as the same count.
func FuzzFormatSize(f *testing.F) {
	for _, n := range []int64{0, 1, 1023, 1024, 64 << 20, 1<<63 - 1, 1 << 62} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		if n < 0 {
			return // sizes are never negative (Compile refuses them)
		}
		s := FormatSize(n)
		if back, err := ParseSize(s); err != nil || back != n {
			t.Fatalf("FormatSize(%d) = %q, read back as %d, %v", n, s, back, err)
		}
	})
}
