package config

import (
	"fim/internal/fstest"
	"reflect"
	"strings"
	"testing"
)

func TestPreset(t *testing.T) {
	const paths = "paths:\n  - path: /etc\n"
	for _, tt := range []struct {
		name, config string
		given        map[string]string // on the command line
		want         map[string]string // every flag's value after
		err          string
	}{
		{name: "keys set unset flags", config: paths + "watch:\n  batch_size: 7\n  dedup_window: 5s\n",
			want: map[string]string{"batch-size": "7", "dedup-window": "5s"}},
		{name: "command line wins", config: paths + "watch:\n  batch_size: 7\n  heartbeat: 1m\n", given: map[string]string{"batch-size": "9"},
			want: map[string]string{"batch-size": "9", "heartbeat": "1m0s"}},
		{name: "bad value", config: paths + "watch:\n  batch_timeout: soon\n", err: `fim.yaml:4: watch.batch_timeout: invalid value "soon" for --batch-timeout: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("fim.yaml", []byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			fs := fstest.WatchFlags()
			for k, v := range tt.given {
				if err := fs.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			err = c.Preset(func(name string) bool { _, ok := tt.given[name]; return ok }, fs.Set)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q…", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := fs.Lookup(name).Value.String(); got != want {
					t.Errorf("--%s = %q, want %q", name, got, want)
				}
			}
		})
	}
	var none *Config
	if err := none.Preset(func(string) bool { return false }, func(string, string) error { t.Fatal("set without a configuration"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestGiven(t *testing.T) {
	line := map[string]any{"batch-size": 9, "redact": true, "workers": 2} // workers: not reloadable
	got := Given(func(name string) bool { _, ok := line[name]; return ok }, func(name string) any { return line[name] })
	if want := map[string]any{"batch-size": 9, "redact": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("Given = %v, want %v", got, want)
	}
}
