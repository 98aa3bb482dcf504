package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gobwas/glob"

	"fim/diff"
	"fim/walk"
)

func compile(t testing.TB, p *Policy) *Compiled {
	t.Helper()
	c, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kinds(ks ...diff.Kind) diff.KindSet {
	var s diff.KindSet
	for _, k := range ks {
		s = s.With(k)
	}
	return s
}

func attrs(as ...diff.Attr) diff.AttrSet {
	var s diff.AttrSet
	for _, a := range as {
		s = s.With(a)
	}
	return s
}

// nested has rules inside rules, listed out of order, and a sibling (/etc/ssh-keys)
// whose name extends a rule's (/etc/ssh).
var nested = &Policy{Rules: []Rule{
	{Path: "/etc/ssh", Events: []string{"change"}, Ignore: []string{"ctime", "mtime"}},
	{Path: "/etc", Events: []string{"create", "remove"}, Ignore: []string{"mtime"}},
	{Path: "/etc/ssh/keys", Ignore: []string{"inode"}},
	{Path: "/var/log", Events: []string{"remove"}},
}}

func TestFilter(t *testing.T) {
	c := compile(t, nested)
	tests := []struct {
		path   string
		kinds  diff.KindSet
		ignore diff.AttrSet
	}{
		{"/etc", kinds(diff.Create, diff.Remove), attrs(diff.AttrMtime)},
		{"/etc/passwd", kinds(diff.Create, diff.Remove), attrs(diff.AttrMtime)},
		{"/etc/ssh-keys", kinds(diff.Create, diff.Remove), attrs(diff.AttrMtime)},
		{"/etc/ssh", kinds(diff.Change), attrs(diff.AttrCtime, diff.AttrMtime)},
		{"/etc/ssh/sshd_config", kinds(diff.Change), attrs(diff.AttrCtime, diff.AttrMtime)},
		{"/etc/ssh/keys", diff.AllKinds, attrs(diff.AttrInode)},
		{"/etc/ssh/keys/host_rsa", diff.AllKinds, attrs(diff.AttrInode)},
		{"/var/log/syslog", kinds(diff.Remove), 0},
		{"/var", diff.AllKinds, 0},
		{"/var/logs", diff.AllKinds, 0},
		{"/", diff.AllKinds, 0},
		{"/etcetera", diff.AllKinds, 0},
	}
	for _, tt := range tests {
		k, a := c.Filter(tt.path)
		if k != tt.kinds || a != tt.ignore {
			t.Errorf("Filter(%q) = %06b, %v; want %06b, %v", tt.path, k, a.Strings(), tt.kinds, tt.ignore.Strings())
		}
	}

	// A rule at / catches everything no deeper rule does.
	p := &Policy{Rules: []Rule{{Path: "/etc"}, {Path: "/", Events: []string{"chmod"}}}}
	if k, _ := compile(t, p).Filter("/var/x"); k != kinds(diff.Chmod) {
		t.Errorf("Filter(/var/x) under a / rule = %06b, want chmod", k)
	}
}

func TestFilterDoesNotAllocate(t *testing.T) {
	c := compile(t, nested)
	if n := testing.AllocsPerRun(100, func() { c.Filter("/etc/ssh/keys/host_rsa") }); n != 0 {
		t.Errorf("Filter allocates %v times per call", n)
	}
}

func BenchmarkFilter(b *testing.B) {
	c := compile(b, nested)
	b.ReportAllocs()
	for b.Loop() {
		c.Filter("/etc/ssh/keys/host_rsa")
	}
}

// patterns returns the source of a root's exclude patterns.
func patterns(t *testing.T, r walk.Root) []string {
	t.Helper()
	var out []string
	for _, m := range r.Exclude {
		g, ok := m.(*glob.Pattern)
		if !ok {
			t.Fatalf("%s: exclude matcher is a %T, want *glob.Pattern", r.Path, m)
		}
		out = append(out, g.String())
	}
	return out
}

func TestRoots(t *testing.T) {
	p := &Policy{
		CrossMounts: true,
		Exclude:     []string{"/proc/**", "**/*.swp"},
		Rules: []Rule{
			{Path: "/usr", MaxFileSize: 1 << 30, IncludeHidden: true},
			{Path: "/etc-old"},
			{Path: "/etc/ssh", MaxDepth: 1, FollowSymlinks: true, Exclude: []string{"/etc/ssh/*.bak"}},
			{Path: "/etc", MaxDepth: 3, IncludeHidden: true},
			{Path: "/"},
		},
	}
	roots := compile(t, p).Roots()
	type root struct {
		path    string
		opts    walk.Options
		exclude []string
	}
	global := []string{"/proc/**", "**/*.swp"}
	want := []root{
		{"/", walk.Options{NoHidden: true, CrossMounts: true}, global},
		{"/etc", walk.Options{MaxDepth: 3, CrossMounts: true}, global},
		{"/etc/ssh", walk.Options{MaxDepth: 1, NoHidden: true, FollowSymlinks: true, CrossMounts: true}, append(global[:2:2], "/etc/ssh/*.bak")},
		{"/etc-old", walk.Options{NoHidden: true, CrossMounts: true}, global},
		{"/usr", walk.Options{MaxFileSize: 1 << 30, CrossMounts: true}, global},
	}
	if len(roots) != len(want) {
		t.Fatalf("got %d roots, want %d", len(roots), len(want))
	}
	for i, r := range roots {
		got := root{r.Path, r.Options, patterns(t, r)}
		got.opts.Exclude = nil
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("root %d:\n got  %+v\n want %+v", i, got, want[i])
		}
	}

	ssh := roots[2]
	for path, excluded := range map[string]bool{
		"/proc/1/status":        true,
		"/etc/ssh/.x.swp":       true,
		"/etc/ssh/sshd.bak":     true,
		"/etc/ssh/sub/sshd.bak": false, // '*' stops at '/'
		"/etc/ssh/sshd_config":  false,
	} {
		got := false
		for _, m := range ssh.Exclude {
			got = got || m.Match(path)
		}
		if got != excluded {
			t.Errorf("%s excluded = %v, want %v", path, got, excluded)
		}
	}

	// Roots returns a copy: reordering it does not reorder the next call's result.
	roots[0], roots[1] = roots[1], roots[0]
	if c := compile(t, p); c.Roots()[0].Path != "/" {
		t.Error("Roots shares its slice")
	}
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &q) {
		t.Fatalf("round trip changed the policy:\n got  %+v\n want %+v", &q, p)
	}
	before, after := compile(t, p), compile(t, &q)
	br, ar := before.Roots(), after.Roots()
	if len(br) != len(ar) {
		t.Fatalf("%d roots before, %d after", len(br), len(ar))
	}
	for i := range br {
		b, a := br[i], ar[i]
		if b.Path != a.Path || !reflect.DeepEqual(patterns(t, b), patterns(t, a)) {
			t.Errorf("root %d: %s %v before, %s %v after", i, b.Path, patterns(t, b), a.Path, patterns(t, a))
		}
		b.Exclude, a.Exclude = nil, nil
		if !reflect.DeepEqual(b.Options, a.Options) {
			t.Errorf("root %s: options %+v before, %+v after", b.Path, b.Options, a.Options)
		}
	}
	for _, path := range []string{"/", "/etc", "/etc/passwd", "/etc/ssh/sshd_config", "/usr/bin/ls", "/var"} {
		bk, ba := before.Filter(path)
		ak, aa := after.Filter(path)
		if bk != ak || ba != aa {
			t.Errorf("Filter(%s): %06b %v before, %06b %v after", path, bk, ba.Strings(), ak, aa.Strings())
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		msg    string
	}{
		{"no rules", Policy{}, "no paths configured"},
		{"relative root", Policy{Root: "mnt", Rules: []Rule{{Path: "/"}}}, `root: "mnt" is not absolute`},
		{"negative max_entries", Policy{MaxEntries: -1, Rules: []Rule{{Path: "/"}}}, "max_entries: -1 is negative"},
		{"bad global glob", Policy{Exclude: []string{"["}, Rules: []Rule{{Path: "/"}}}, `exclude: invalid pattern "["`},
		{"empty path", Policy{Rules: []Rule{{Path: ""}}}, `path "": "" is not absolute`},
		{"relative path", Policy{Rules: []Rule{{Path: "etc"}}}, `path "etc": "etc" is not absolute`},
		{"unclean path", Policy{Rules: []Rule{{Path: "/etc/"}}}, `path "/etc/": "/etc/" is not clean (want "/etc")`},
		{"NUL in path", Policy{Rules: []Rule{{Path: "/etc\x00"}}}, "contains a NUL byte"},
		{"invalid UTF-8", Policy{Rules: []Rule{{Path: "/etc\xff"}}}, "is not valid UTF-8"},
		{"duplicate path", Policy{Rules: []Rule{{Path: "/etc"}, {Path: "/usr"}, {Path: "/etc"}}}, `path "/etc": duplicate path`},
		{"negative depth", Policy{Rules: []Rule{{Path: "/", MaxDepth: -2}}}, `path "/": max_depth: -2 is negative`},
		{"negative size", Policy{Rules: []Rule{{Path: "/", MaxFileSize: -1}}}, "max_file_size: -1 is negative"},
		{"bad event", Policy{Rules: []Rule{{Path: "/", Events: []string{"modify"}}}}, `events: unknown event type "modify"`},
		{"bad attr", Policy{Rules: []Rule{{Path: "/", Ignore: []string{"atime"}}}}, `ignore: unknown attribute "atime"`},
		{"bad glob", Policy{Rules: []Rule{{Path: "/", Exclude: []string{"{a"}}}}, `exclude: invalid pattern "{a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.policy.Compile()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want an error containing %q", err, tt.msg)
			}
		})
	}
}

func TestNewPolicy(t *testing.T) {
	template := Rule{Path: "/ignored", MaxDepth: 2, MaxFileSize: 10, IncludeHidden: true, Exclude: []string{"**/*.tmp"}}
	p := NewPolicy([]string{"/etc/", "/usr//bin"}, template)
	want := []Rule{
		{Path: "/etc", MaxDepth: 2, MaxFileSize: 10, IncludeHidden: true, Exclude: []string{"**/*.tmp"}},
		{Path: "/usr/bin", MaxDepth: 2, MaxFileSize: 10, IncludeHidden: true, Exclude: []string{"**/*.tmp"}},
	}
	if !reflect.DeepEqual(p.Rules, want) {
		t.Errorf("got %+v, want %+v", p.Rules, want)
	}
	p.Rules[0].Exclude[0] = "changed"
	if template.Exclude[0] != "**/*.tmp" || p.Rules[1].Exclude[0] != "**/*.tmp" {
		t.Error("rules share the template's slices")
	}
	if _, err := NewPolicy([]string{"etc"}, template).Compile(); err == nil {
		t.Error("a relative path compiled")
	}
}
