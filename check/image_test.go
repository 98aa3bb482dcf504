package check

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"fim/config"
	"fim/internal/fstest"
	"fim/tree"
)

// tarOf is a tar stream of the named entries: a name ending in / is a directory, any
// other a file holding its name.
func tarOf(t *testing.T, names ...string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(n))}
		if strings.HasSuffix(n, "/") {
			h.Mode, h.Typeflag, h.Size = 0o755, tar.TypeDir, 0
		}
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(n))
			must(t, err)
		}
	}
	must(t, tw.Close())
	return &buf
}

func paths(es []*tree.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

// TestReadImage: an image gives what a walk of the policy selects, and the policy to
// record it under is a new one: its source named, what the image cannot carry ignored,
// an mtree specification's topmost entries as the paths when none were named. The
// policy given is left as it was.
func TestReadImage(t *testing.T) {
	const spec = "#mtree\n./srv type=dir mode=0755\n./srv/app type=dir mode=0755\n./srv/app/run type=file mode=0755 size=3\n./opt type=dir mode=0700\n"
	for _, c := range []struct {
		name    string
		pol     config.Policy
		im      Image
		paths   []string // read
		rules   []string // the paths of the policy returned
		ignore  []string // ignored on its first path
		cross   bool
		refused string
		usage   bool
	}{
		{"tar, selected as a walk", config.Policy{Rules: []config.Rule{{Path: "/etc", IncludeHidden: true}}, Exclude: []string{"/etc/skip"}},
			Image{Name: "img.tar", In: tarOf(t, "etc/", "etc/passwd", "etc/skip", "usr/", "usr/bin")},
			[]string{"/etc", "/etc/passwd"}, []string{"/etc"}, []string{"size", "ctime", "inode", "device"}, false, "", false},
		{"tar keeps what is ignored already", config.Policy{Rules: []config.Rule{{Path: "/", IncludeHidden: true, Ignore: []string{"ctime", "uid"}}}},
			Image{Name: "-", In: tarOf(t, "a")},
			[]string{"/", "/a"}, []string{"/"}, []string{"ctime", "uid", "size", "inode", "device"}, false, "", false},
		{"tar with a root", config.Policy{Root: "/img", Rules: []config.Rule{{Path: "/"}}},
			Image{Name: "img.tar", In: tarOf(t, "a")}, nil, nil, nil, false, "--root goes with fim check", true},
		{"tar following symlinks", config.Policy{Rules: []config.Rule{{Path: "/", FollowSymlinks: true}}},
			Image{Name: "img.tar", In: tarOf(t, "a")}, nil, nil, nil, false, "never followed", true},
		{"tar over max entries", config.Policy{MaxEntries: 1, Rules: []config.Rule{{Path: "/", IncludeHidden: true}}},
			Image{Name: "img.tar", In: tarOf(t, "a", "b")}, nil, nil, nil, false, "more than --max-entries 1", false},
		{"mtree, topmost", config.Policy{Rules: []config.Rule{{Path: "/", IncludeHidden: true}}},
			Image{Mtree: true, Name: "app.spec", In: strings.NewReader(spec), Topmost: true},
			[]string{"/opt", "/srv", "/srv/app", "/srv/app/run"}, []string{"/opt", "/srv"}, nil, true, "", false},
		{"mtree, paths named, mounts as given", config.Policy{Rules: []config.Rule{{Path: "/srv/app", IncludeHidden: true}}},
			Image{Mtree: true, Name: "app.spec", In: strings.NewReader(spec), CrossMounts: true},
			[]string{"/srv/app", "/srv/app/run"}, []string{"/srv/app"}, nil, false, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var warned []string
			c.im.Warn = func(p string, err error) { warned = append(warned, p+": "+err.Error()) }
			before := c.pol
			before.Rules = slices.Clone(c.pol.Rules)
			pol, es, err := ReadImage(context.Background(), &c.pol, c.im)
			if c.refused != "" {
				var oe *OptionError
				if err == nil || !strings.Contains(err.Error(), c.refused) || errors.As(err, &oe) != c.usage {
					t.Fatalf("error %v, want %q (a usage error: %v)", err, c.refused, c.usage)
				}
				return
			}
			must(t, err)
			if got := paths(fstest.Collect(t, es)); !slices.Equal(got, c.paths) {
				t.Errorf("read %v, want %v", got, c.paths)
			}
			var rules []string
			for _, r := range pol.Rules {
				rules = append(rules, r.Path)
			}
			if !slices.Equal(rules, c.rules) || pol.Source != c.im.Source() || pol.CrossMounts != c.cross {
				t.Errorf("policy: paths %v, source %q, cross mounts %v; want %v, %q, %v", rules, pol.Source, pol.CrossMounts, c.rules, c.im.Source(), c.cross)
			}
			if c.ignore != nil && !slices.Equal(pol.Rules[0].Ignore, c.ignore) {
				t.Errorf("ignored %v, want %v", pol.Rules[0].Ignore, c.ignore)
			}
			if _, err := pol.Compile(); err != nil {
				t.Errorf("the policy returned does not compile: %v", err)
			}
			if c.pol.Source != "" || c.pol.CrossMounts != before.CrossMounts || len(c.pol.Rules) != len(before.Rules) ||
				!slices.Equal(c.pol.Rules[0].Ignore, before.Rules[0].Ignore) {
				t.Errorf("the policy given changed: %+v, was %+v", c.pol, before)
			}
		})
	}
}
