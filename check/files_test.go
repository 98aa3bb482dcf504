package check

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"fim/config"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "fim.yaml")
	if err := os.WriteFile(good, []byte("db: /var/tmp/x.db\npaths:\n  - path: /etc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("paths: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadConfig("", false); cfg != nil || err != nil {
		t.Errorf("no file, no default: %v, %v", cfg, err)
	}
	if cfg, err := LoadConfig(good, false); err != nil || cfg.DB != "/var/tmp/x.db" {
		t.Errorf("LoadConfig(%s) = %v, %v", good, cfg, err)
	}
	if _, err := LoadConfig(bad, false); !errors.As(err, new(*OptionError)) {
		t.Errorf("a bad file: err = %v (%T), want an *OptionError", err, err)
	}
}

func TestDBPath(t *testing.T) {
	t.Setenv("FIM_DB", "")
	t.Chdir(t.TempDir())
	wd, _ := os.Getwd()
	cfg := &config.Config{DB: "/from/config.db"}
	for _, tt := range []struct {
		flag, env string
		cfg       *config.Config
		want      string
	}{
		{"flag.db", "/env.db", cfg, filepath.Join(wd, "flag.db")},
		{"", "/env.db", cfg, "/env.db"},
		{"", "", cfg, "/from/config.db"},
	} {
		t.Setenv("FIM_DB", tt.env)
		if got, err := DBPath(tt.flag, tt.cfg); err != nil || got != tt.want {
			t.Errorf("DBPath(%q) with FIM_DB=%q = %q, %v; want %q", tt.flag, tt.env, got, err, tt.want)
		}
	}
	t.Setenv("FIM_DB", "")
	t.Setenv("XDG_STATE_HOME", "/state")
	want := "/state/fim/baseline.db"
	if os.Geteuid() == 0 {
		want = "/var/lib/fim/baseline.db"
	}
	if got, err := DBPath("", nil); err != nil || got != want {
		t.Errorf("DBPath with nothing named = %q, %v; want %q", got, err, want)
	}
}

// TestConfigAndDB: the database --db names wins over the configuration's; without it,
// the configuration's; a configuration that does not load is an OptionError.
func TestConfigAndDB(t *testing.T) {
	t.Setenv("FIM_DB", "")
	dir := t.TempDir()
	file := filepath.Join(dir, "fim.yaml")
	if err := os.WriteFile(file, []byte("db: /var/tmp/x.db\npaths:\n  - path: /etc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ db, want string }{{"", "/var/tmp/x.db"}, {"/y.db", "/y.db"}} {
		cfg, db, err := ConfigAndDB(file, c.db)
		if err != nil || cfg == nil || db != c.want {
			t.Errorf("--db %q: %v, %q, %v; want the configuration and %q", c.db, cfg, db, err, c.want)
		}
	}
	if _, _, err := ConfigAndDB(filepath.Join(dir, "none.yaml"), "/y.db"); !errors.As(err, new(*OptionError)) {
		t.Errorf("no such configuration: %v, want an OptionError", err)
	}
}
