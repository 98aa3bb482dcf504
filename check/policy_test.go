package check

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"fim/config"
)

// TestNewPolicy builds the policy of a baseline from paths named with their limits,
// or from a configuration file, with the overrides given beside either.
func TestNewPolicy(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfgFile := filepath.Join(dir, "fim.yaml")
	write(t, cfgFile, "root: /sysroot\nmax_entries: 7\nexclude: ['/tmp/**']\npaths:\n  - path: /etc\n    max_depth: 3\n")
	cfg, err := config.Load(cfgFile)
	must(t, err)
	limits := config.Rule{MaxDepth: 2, IncludeHidden: true, MaxFileSize: 1 << 20}
	rule := func(path string, r config.Rule) config.Rule { r.Path = path; return r }
	for _, c := range []struct {
		name  string
		o     PolicyOptions
		want  *config.Policy
		wrong string // the *OptionError's message
	}{
		{"paths from the working directory", PolicyOptions{Paths: []string{"a", "/b/../c"}, Limits: limits},
			&config.Policy{Rules: []config.Rule{rule(dir+"/a", limits), rule("/c", limits)}}, ""},
		{"paths under a root are recorded paths", PolicyOptions{Paths: []string{"etc", "/usr//bin"}, Root: new("r")},
			&config.Policy{Root: dir + "/r", Rules: []config.Rule{{Path: "/etc"}, {Path: "/usr/bin"}}}, ""},
		{"paths of an image are recorded paths", PolicyOptions{Paths: []string{"etc"}, Image: true},
			&config.Policy{Rules: []config.Rule{{Path: "/etc"}}}, ""},
		{"an empty root is no root", PolicyOptions{Paths: []string{"a"}, Root: new("")},
			&config.Policy{Rules: []config.Rule{{Path: dir + "/a"}}}, ""},
		{"the configuration's", PolicyOptions{Config: cfg},
			&config.Policy{Root: "/sysroot", MaxEntries: 7, Exclude: []string{"/tmp/**"},
				Rules: []config.Rule{{Path: "/etc", MaxDepth: 3, IncludeHidden: true}}}, ""},
		{"overrides of the configuration", PolicyOptions{Config: cfg, Exclude: []string{"/var/**"}, MaxEntries: new(0),
			CrossMounts: new(true), Root: new("")},
			&config.Policy{CrossMounts: true, Exclude: []string{"/tmp/**", "/var/**"},
				Rules: []config.Rule{{Path: "/etc", MaxDepth: 3, IncludeHidden: true}}}, ""},
		{"a limit beside a configuration", PolicyOptions{Config: cfg, LimitsSet: []string{"max-depth"}}, nil,
			"--max-depth applies to PATH arguments; set it per path in the config"},
		{"nothing to record", PolicyOptions{}, nil, "no PATH given and no config file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol, err := NewPolicy(c.o)
			var oe *OptionError
			switch {
			case c.wrong != "":
				if !errors.As(err, &oe) || err.Error() != c.wrong {
					t.Errorf("%v, want the OptionError %q", err, c.wrong)
				}
			case err != nil:
				t.Fatal(err)
			case !reflect.DeepEqual(pol, c.want):
				t.Errorf("policy\n%+v\nwant\n%+v", pol, c.want)
			}
		})
	}
	// The configuration is not changed by the overrides.
	if again, err := config.Load(cfgFile); err != nil || !reflect.DeepEqual(again, cfg) {
		t.Errorf("the configuration changed: %+v", cfg)
	}
}

// TestRecordedPaths: named paths are recorded absolute and clean, from the working
// directory on this host, as given under a root; none gives nil.
func TestRecordedPaths(t *testing.T) {
	wd, err := os.Getwd()
	must(t, err)
	for _, c := range []struct {
		paths     []string
		underRoot bool
		want      []string
	}{
		{nil, false, nil},
		{nil, true, nil},
		{[]string{"etc/../usr//bin", "/srv/"}, true, []string{"/usr/bin", "/srv"}},
		{[]string{"etc/../usr//bin", "/srv/"}, false, []string{filepath.Join(wd, "usr/bin"), "/srv"}},
	} {
		got, err := RecordedPaths(c.paths, c.underRoot)
		must(t, err)
		if !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("RecordedPaths(%q, %v) = %#v, want %#v", c.paths, c.underRoot, got, c.want)
		}
	}
}

// TestLoadPolicy: fim baseline's policy from the paths named or the configuration file
// named, each refused beside the other; an image with neither records its whole tree.
func TestLoadPolicy(t *testing.T) {
	if _, err := os.Stat(DefaultConfig); err == nil {
		t.Skipf("%s exists: it would be read when no path is named", DefaultConfig)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "fim.yaml")
	write(t, cfgFile, "paths:\n  - path: /etc\n")
	for _, c := range []struct {
		name    string
		o       PolicyOptions
		want    []config.Rule
		withCfg bool
		wrong   string // in the *OptionError's message
	}{
		{"paths with a size", PolicyOptions{Paths: []string{"/a"}, MaxFileSize: "1KiB"},
			[]config.Rule{{Path: "/a", MaxFileSize: 1024}}, false, ""},
		{"the configuration file", PolicyOptions{ConfigFile: cfgFile, MaxFileSize: "1KiB"},
			[]config.Rule{{Path: "/etc", IncludeHidden: true}}, true, ""},
		{"an image, whole", PolicyOptions{Image: true}, []config.Rule{{Path: "/"}}, false, ""},
		{"an image's paths", PolicyOptions{Image: true, Paths: []string{"etc"}}, []config.Rule{{Path: "/etc"}}, false, ""},
		{"both", PolicyOptions{Paths: []string{"/a"}, ConfigFile: cfgFile}, nil, false,
			"give PATH arguments or --config, not both"},
		{"neither", PolicyOptions{}, nil, false, "no PATH given and no config file (" + DefaultConfig + ")"},
		{"a bad size", PolicyOptions{Paths: []string{"/a"}, MaxFileSize: "lots"}, nil, false, "--max-file-size: "},
		{"two inputs on standard input", PolicyOptions{Image: true, StdinImage: true, ConfigFile: config.Stdin}, nil, false,
			"--config - and an image on standard input: only one can come on standard input"},
		{"a configuration that does not load", PolicyOptions{ConfigFile: filepath.Join(dir, "none.yaml")}, nil, false, "none.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol, cfg, err := LoadPolicy(c.o)
			var oe *OptionError
			switch {
			case c.wrong != "":
				if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.wrong) {
					t.Errorf("%v, want the OptionError %q", err, c.wrong)
				}
			case err != nil:
				t.Fatal(err)
			case !reflect.DeepEqual(pol.Rules, c.want):
				t.Errorf("rules %+v, want %+v", pol.Rules, c.want)
			case (cfg != nil) != c.withCfg:
				t.Errorf("configuration %+v, want one: %v", cfg, c.withCfg)
			}
		})
	}
}
