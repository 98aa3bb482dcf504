package config

import (
	"encoding/json"
	"fim/internal/fstest"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeConfig writes data to a file in a temporary directory and returns its path.
func writeConfig(t *testing.T, data string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "fim.yaml")
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *Config
	}{
		{
			name: "minimal",
			yaml: "paths:\n  - path: /etc\n",
			want: &Config{Rules: []Rule{{Path: "/etc", IncludeHidden: true}}},
		},
		{
			name: "cleaned paths",
			yaml: "db: /var/lib/fim//baseline.db\nroot: /mnt/img/\npaths:\n  - path: /etc/../usr/./bin/\n",
			want: &Config{
				DB:    "/var/lib/fim/baseline.db",
				Root:  "/mnt/img",
				Rules: []Rule{{Path: "/usr/bin", IncludeHidden: true}},
			},
		},
		{
			name: "every key",
			yaml: `
db: /db
root: /mnt
max_entries: 10
cross_mounts: true
exclude: ["/proc/**"]
paths:
  - path: /etc
    events: [create, remove]
    max_depth: 3
    max_file_size: 64MiB
    include_hidden: false
    follow_symlinks: true
    exclude: ["/etc/*.bak", "**/*.swp"]
    ignore: [mtime, ctime]
  - {path: /etc/ssh, max_file_size: 1000}
`,
			want: &Config{
				DB: "/db", Root: "/mnt", MaxEntries: 10, CrossMounts: true, Exclude: []string{"/proc/**"},
				Rules: []Rule{
					{
						Path: "/etc", Events: []string{"create", "remove"}, MaxDepth: 3, MaxFileSize: 64 << 20,
						IncludeHidden: false, FollowSymlinks: true, Exclude: []string{"/etc/*.bak", "**/*.swp"},
						Ignore: []string{"mtime", "ctime"},
					},
					{Path: "/etc/ssh", MaxFileSize: 1000, IncludeHidden: true},
				},
			},
		},
		{
			name: "null values are absent",
			yaml: "db:\nexclude: ~\npaths:\n  - path: /etc\n    include_hidden: null\n    events:\n",
			want: &Config{Rules: []Rule{{Path: "/etc", IncludeHidden: true}}},
		},
		{
			name: "block lists and zero limits",
			yaml: "paths:\n- path: /\n  max_depth: 0\n  max_file_size: 0\n  ignore:\n  - inode\n  - device\n",
			want: &Config{Rules: []Rule{{Path: "/", IncludeHidden: true, Ignore: []string{"inode", "device"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(writeConfig(t, tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if _, err := got.Policy().Compile(); err != nil {
				t.Errorf("Compile: %v", err)
			}
		})
	}
}

// TestLoadGolden loads each testdata/*.yaml and compares its policy, as stored in a
// baseline, with the .json file next to it. Run with -update to rewrite them.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(struct {
				DB     string  `json:"db"`
				Policy *Policy `json:"policy"`
			}{c.DB, c.Policy()}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			fstest.Golden(t, strings.TrimSuffix(file, ".yaml")+".json", got)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int    // 0: the error names no line
		key  string // "" for the top level
		msg  string
	}{
		{"empty file", "", 0, "", "no paths configured"},
		{"only comments", "# nothing\n", 0, "", "no paths configured"},
		{"null document", "---\n", 0, "", "no paths configured"},
		{"no paths", "db: /var/lib/fim.db\n", 0, "", "no paths configured"},
		{"empty paths", "paths: []\n", 0, "", "no paths configured"},
		{"not a mapping", "- /etc\n", 1, "", `want a mapping, got a list`},
		{"unknown top-level key", "paths:\n  - path: /etc\nmax_entires: 3\n", 3, "", `unknown key "max_entires" (want one of cross_mounts, db,`},
		{"unknown key in path", "paths:\n  - path: /etc\n    recurse: true\n", 3, "paths[0]", `unknown key "recurse" (want one of content_diff, content_diff_max, content_diff_private, events, exclude,`},
		{"non-string key", "paths:\n  - path: /etc\n    [a]: 1\n", 3, "paths[0]", `unknown key a list`},
		{"duplicate key", "paths:\n  - path: /etc\n    path: /usr\n", 3, "paths[0].path", "duplicate key (first at line 2)"},
		{"bad event", "paths:\n  - path: /etc\n    events: [create, modify]\n", 3, "paths[0].events[1]", `unknown event type "modify" (want one of create,`},
		{"bad event on its own line", "paths:\n  - path: /etc\n    events:\n      - create\n      - delete\n", 5, "paths[0].events[1]", `unknown event type "delete"`},
		{"empty events", "paths:\n  - path: /etc\n    events: []\n", 3, "paths[0].events", "empty list"},
		{"bad attr", "paths:\n  - path: /etc\n    ignore: [mtime, atime]\n", 3, "paths[0].ignore[1]", `unknown attribute "atime" (want one of type,`},
		{"bad size", "db: /var/lib/fim/baseline.db\npaths:\n  - path: /etc\n    max_depth: 2\n  - path: /usr\n    max_depth: 1\n    max_file_size: 12QB\n", 7, "paths[1].max_file_size", `invalid size "12QB"`},
		{"negative size", "paths:\n  - path: /etc\n    max_file_size: -1\n", 3, "paths[0].max_file_size", `invalid size "-1"`},
		{"size overflow", "paths:\n  - path: /etc\n    max_file_size: 9999999TiB\n", 3, "paths[0].max_file_size", `invalid size "9999999TiB": too large`},
		{"size is a list", "paths:\n  - path: /etc\n    max_file_size: [1]\n", 3, "paths[0].max_file_size", "want a size, got a list"},
		{"negative depth", "paths:\n  - path: /etc\n    max_depth: -1\n", 3, "paths[0].max_depth", "-1 is negative"},
		{"depth is a string", "paths:\n  - path: /etc\n    max_depth: \"3\"\n", 3, "paths[0].max_depth", `want an integer, got "3"`},
		{"depth is a float", "paths:\n  - path: /etc\n    max_depth: 1.5\n", 3, "paths[0].max_depth", `want an integer, got "1.5"`},
		{"depth overflows", "paths:\n  - path: /etc\n    max_depth: 99999999999999999999\n", 3, "paths[0].max_depth", "want an integer"},
		{"negative max_entries", "max_entries: -5\npaths:\n  - path: /etc\n", 1, "max_entries", "-5 is negative"},
		{"bool is yes", "paths:\n  - path: /etc\n    include_hidden: yes\n", 3, "paths[0].include_hidden", `want true or false, got "yes"`},
		{"growing is a string", "paths:\n  - path: /etc\n  - path: /var/log\n    growing: \"on\"\n", 4, "paths[1].growing", `want true or false, got "on"`},
		{"bool is a number", "cross_mounts: 1\npaths:\n  - path: /etc\n", 1, "cross_mounts", `want true or false, got "1"`},
		{"relative path", "paths:\n  - path: /etc\n  - path: etc\n", 3, "paths[1].path", `"etc" is not absolute`},
		{"empty path", "paths:\n  - path: \"\"\n", 2, "paths[0].path", "empty path"},
		{"path is a number", "paths:\n  - path: 1\n", 2, "paths[0].path", `want a string, got "1"`},
		{"missing path", "paths:\n  - max_depth: 1\n", 2, "paths[0].path", "required"},
		{"path entry not a mapping", "paths:\n  - /etc\n", 2, "paths[0]", `want a mapping, got "/etc"`},
		{"paths not a list", "paths: /etc\n", 1, "paths", `want a list, got "/etc"`},
		{"duplicate path", "paths:\n  - path: /etc\n  - path: /usr\n  - path: /etc/\n", 4, "paths[2].path", `duplicate path "/etc" (first at line 2)`},
		{"relative db", "db: fim.db\npaths:\n  - path: /etc\n", 1, "db", `"fim.db" is not absolute`},
		{"relative root", "root: mnt\npaths:\n  - path: /etc\n", 1, "root", `"mnt" is not absolute`},
		{"NUL in path", "paths:\n  - path: \"/etc\\0\"\n", 2, "paths[0].path", `"/etc\x00" contains a NUL byte`},
		{"bad glob", "paths:\n  - path: /etc\n    exclude: [\"/etc/[abc\"]\n", 3, "paths[0].exclude[0]", `invalid pattern "/etc/[abc": glob: syntax error`},
		{"bad global glob", "exclude:\n  - /proc/**\n  - \"{a,b\"\npaths:\n  - path: /etc\n", 3, "exclude[1]", `invalid pattern "{a,b"`},
		{"exclude is a string", "exclude: /proc\npaths:\n  - path: /etc\n", 1, "exclude", `want a list, got "/proc"`},
		{"unknown watch key", "paths:\n  - path: /etc\nwatch:\n  batch_sise: 3\n", 4, "watch", `unknown key "batch_sise" (want one of backend, batch_size,`},
		{"watch is a list", "paths:\n  - path: /etc\nwatch: [1]\n", 3, "watch", "want a mapping, got a list"},
		{"watch value a mapping", "paths:\n  - path: /etc\nwatch:\n  ignore:\n    - {a: 1}\n", 5, "watch.ignore[0]", "want a value, got a mapping"},
		{"tab indentation", "paths:\n\t- path: /etc\n", 2, "", "found character that cannot start any token"},
		// For a syntax error the yaml package reports the line where the construct it
		// was parsing starts, not the line of the offending character.
		{"unclosed flow list", "paths: [\n", 1, "", "did not find expected node content"},
		{"bad indentation", "paths:\n  - path: /etc\n   max_depth: 1\n", 1, "", "did not find expected '-' indicator"},
		{"two documents", "paths:\n  - path: /etc\n---\npaths:\n  - path: /usr\n", 3, "", "only one YAML document is allowed"},
		{"severity not a list", "severity: {name: x}\npaths:\n  - path: /etc\n", 1, "severity", "want a list, got a mapping"},
		{"severity unknown key", "severity:\n  - name: x\n    level: high\n    path: /etc\n", 4, "severity[0]", `unknown key "path" (want one of changed, events, gained, level, max, name, paths, verdicts)`},
		{"severity bad level", "severity:\n  - name: x\n    level: severe\n", 3, "severity[0].level", `unknown severity "severe" (want one of info, low, medium, high, critical)`},
		{"severity bad max", "severity:\n  - name: x\n    max: off\n", 3, "severity[0].max", `unknown severity "off"`},
		{"severity bad gain", "severity:\n  - name: x\n    level: high\n    gained: [setuid, sticky]\n", 4, "severity[0].gained[1]", `unknown gain "sticky" (want one of setuid, setgid, capability, world_writable, executable)`},
		{"severity bad verdict", "severity:\n  - name: x\n    level: high\n    verdicts: [mismatch, forged]\n", 4, "severity[0].verdicts[1]", `unknown verdict "forged"`},
		{"severity bad glob", "severity:\n  - name: x\n    level: high\n    paths: [\"/etc/[a\"]\n", 4, "severity[0].paths[0]", `invalid pattern "/etc/[a"`},
		{"severity bad event", "severity:\n  - name: x\n    level: high\n    events: [modify]\n", 4, "severity[0].events[0]", `unknown event type "modify"`},
		{"severity bad attr", "severity:\n  - name: x\n    level: high\n    changed: [atime]\n", 4, "severity[0].changed[0]", `unknown attribute "atime"`},
		{"severity without name", "severity:\n  - level: high\n", 2, "severity[0].name", "required"},
		{"severity empty name", "severity:\n  - name: \"\"\n    level: high\n", 2, "severity[0].name", "empty name"},
		{"severity level and max", "paths:\n  - path: /etc\nseverity:\n  - name: x\n    level: high\n    max: low\n", 4, "severity[0]", "give level or max, not both"},
		{"severity neither", "severity:\n  - name: x\n    paths: [/etc/**]\n", 2, "severity[0]", "level or max: required"},
		{"severity duplicate", "severity:\n  - {name: x, level: low}\n  - {name: y, level: low}\n  - {name: x, level: high}\n", 4, "severity[2].name", `duplicate rule "x" (first at line 2)`},
		{"merge key", "base: &b {max_depth: 1}\npaths:\n  - path: /etc\n", 1, "", `unknown key "base"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, tt.yaml)
			c, err := Load(file)
			if err == nil {
				t.Fatalf("no error, got %+v", c)
			}
			msg := err.Error()
			want := file + ":"
			if tt.line > 0 {
				want += fmt.Sprintf("%d:", tt.line)
			}
			if tt.key != "" {
				want += " " + tt.key + ":"
			}
			want += " " + tt.msg
			if !strings.HasPrefix(msg, want) {
				t.Errorf("error\n  %s\ndoes not start with\n  %s", msg, want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(file)
	if !os.IsNotExist(err) || !strings.Contains(err.Error(), file) {
		t.Errorf("got %v, want a not-exist error naming %s", err, file)
	}
}

func TestConfigPolicyIsACopy(t *testing.T) {
	c, err := Parse("fim.yaml", []byte("exclude: [\"/a\"]\npaths:\n  - path: /etc\n    ignore: [mtime]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy()
	p.Exclude[0] = "/b"
	p.Rules[0].Ignore[0] = "ctime"
	p.Rules[0].Path = "/usr"
	if c.Exclude[0] != "/a" || c.Rules[0].Ignore[0] != "mtime" || c.Rules[0].Path != "/etc" {
		t.Errorf("editing the policy changed the config: %+v", c)
	}
}

// TestDefaultDB: root keeps its baseline under /var/lib, other users theirs under
// $XDG_STATE_HOME, else ~/.local/state; without a home directory there is no default.
func TestDefaultDB(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		name       string
		superuser  bool
		state, dir string // $XDG_STATE_HOME and $HOME
		want, err  string
	}{
		{"root", true, "/state", "", "/var/lib/fim/baseline.db", ""},
		{"XDG_STATE_HOME", false, "/state", home, "/state/fim/baseline.db", ""},
		{"home", false, "", home, home + "/.local/state/fim/baseline.db", ""},
		{"no home", false, "", "", "", "no home directory: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", c.state)
			t.Setenv("HOME", c.dir)
			got, err := DefaultDB(c.superuser)
			if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("DefaultDB(%v) = %q, %v; want %q, %q", c.superuser, got, err, c.want, c.err)
			}
		})
	}
}

// TestWatchSettings reads the watch mapping: each key names its flag and gives its
// values as the command line would, a list one value per item, in file order, with
// where it is for the flag's own errors.
func TestWatchSettings(t *testing.T) {
	c, err := Parse("fim.yaml", []byte("paths:\n  - path: /etc\nwatch:\n  batch_size: 100\n  ignore: [mtime, ctime]\n  redact: true\n  max_read_rate: 50MB/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{Key: "batch_size", Flag: "batch-size", Values: []string{"100"}, Where: "fim.yaml:4: watch.batch_size"},
		{Key: "ignore", Flag: "ignore", Values: []string{"mtime", "ctime"}, Where: "fim.yaml:5: watch.ignore"},
		{Key: "redact", Flag: "redact", Values: []string{"true"}, Where: "fim.yaml:6: watch.redact"},
		{Key: "max_read_rate", Flag: "max-read-rate", Values: []string{"50MB/s"}, Where: "fim.yaml:7: watch.max_read_rate"},
	}
	if !reflect.DeepEqual(c.Watch, want) {
		t.Errorf("settings %+v, want %+v", c.Watch, want)
	}
	for key, flag := range WatchKeys {
		if strings.ReplaceAll(key, "_", "-") != flag {
			t.Errorf("key %s sets --%s: a key is its flag's name with _ for -", key, flag)
		}
	}
}

// TestChanges compares configurations as SIGHUP does: the keys of the watch mapping
// that differ (added, removed, changed), and the other keys that do.
func TestChanges(t *testing.T) {
	parse := func(s string) *Config {
		c, err := Parse("fim.yaml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const paths = "paths:\n  - path: /etc\n"
	base := parse(paths + "watch:\n  batch_size: 5\n  heartbeat: 1m\n")
	for _, tt := range []struct {
		next       string
		watch, top []string
	}{
		{paths + "watch:\n  heartbeat: 1m\n  batch_size: 5\n", nil, nil},
		{paths + "watch:\n  batch_size: 6\n  heartbeat: 1m\n  redact: true\n", []string{"batch_size", "redact"}, nil},
		{paths, []string{"batch_size", "heartbeat"}, nil},
		{paths + "exclude: [x]\nwatch:\n  batch_size: 5\n  heartbeat: 1m\n", nil, []string{"exclude"}},
		{"paths:\n  - path: /etc\n    exclude: [x]\nwatch:\n  batch_size: 5\n  heartbeat: 1m\n", nil, []string{"paths"}},
		{"db: /x.db\nroot: /r\nredact: true\nseverity:\n  - name: shell-profile\n    level: high\n" + paths + "watch:\n  batch_size: 5\n  heartbeat: 1m\n",
			nil, []string{"db", "root", "severity", "redact"}},
	} {
		watch, top := base.Changes(parse(tt.next))
		if !slices.Equal(watch, tt.watch) || !slices.Equal(top, tt.top) {
			t.Errorf("%q: changes %v, top %v; want %v, %v", tt.next, watch, top, tt.watch, tt.top)
		}
	}
	for _, k := range Reloadable {
		if WatchKeys[k] == "" {
			t.Errorf("reloadable %s is not a key", k)
		}
	}
}

// TestReloaded: the flags of the reloadable keys take the command line's value, else
// their key's (parsed by the flag), else their default; a value a flag refuses names
// the file, the line and the key.
func TestReloaded(t *testing.T) {
	want := func(change map[string]any) map[string]any {
		m := map[string]any{"batch_size": 500, "batch_timeout": time.Second, "dedup_window": 2 * time.Second,
			"max_events_per_minute": 0, "heartbeat": time.Duration(0), "min_severity": "", "redact": false}
		maps.Copy(m, change)
		return m
	}
	const paths = "paths:\n  - path: /etc\n"
	for _, tt := range []struct {
		name, config string
		given        map[string]any
		want         map[string]any
		err          string
	}{
		{name: "defaults", config: paths, want: want(nil)},
		{name: "keys", config: paths + "watch:\n  batch_size: 7\n  heartbeat: 1m\n  redact: true\n  min_severity: high\n  workers: 3\n",
			want: want(map[string]any{"batch_size": 7, "heartbeat": time.Minute, "redact": true, "min_severity": "high"})},
		{name: "command line wins", config: paths + "watch:\n  batch_size: 7\n  dedup_window: 5s\n", given: map[string]any{"batch-size": 9, "workers": 2},
			want: want(map[string]any{"batch_size": 9, "dedup_window": 5 * time.Second})},
		{name: "command line wins over a bad value", config: paths + "watch:\n  batch_size: many\n", given: map[string]any{"batch-size": 9},
			want: want(map[string]any{"batch_size": 9})},
		{name: "bad value", config: paths + "watch:\n  batch_timeout: soon\n", err: `fim.yaml:4: watch.batch_timeout: invalid value "soon" for --batch-timeout: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("fim.yaml", []byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Reloaded(fstest.WatchFlags(), tt.given)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want one starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
		})
	}
	c, err := Parse("fim.yaml", []byte(paths))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reloaded(flag.NewFlagSet("watch", flag.ContinueOnError), nil); err == nil || err.Error() != "--batch-size: no such flag" {
		t.Errorf("a flag missing: %v, want --batch-size: no such flag", err)
	}
}
