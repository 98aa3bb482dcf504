package cmdline

import (
	"testing"

	"github.com/urfave/cli/v2"
)

func TestBoolOr(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"", "false", ""},
		{"true", "true", ""},
		{"false", "false", ""},
		{"explained", "explained", ""},
		{"yes", "false", `"yes": want --update or --update=explained`},
	} {
		b := &BoolOr{Name: "update", Words: []string{"explained"}}
		var err error
		if tt.in != "" {
			err = b.Set(tt.in)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("Set(%q): String = %q, want %q", tt.in, got, tt.want)
		}
		if (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("Set(%q) = %v, want %q", tt.in, err, tt.err)
		}
	}
	if !(&BoolOr{}).IsBoolFlag() {
		t.Error("a BoolOr needs no value")
	}
}

// TestDefaults: the flags of a command that ran, --format and the generic --update
// given, are at their defaults.
func TestDefaults(t *testing.T) {
	app := testApp()
	cmd := app.Command("scan")
	var format, update string
	cmd.Action = func(c *cli.Context) error {
		fs, err := Defaults(func() *cli.Command { return testApp().Command("scan") })
		if err != nil {
			return err
		}
		format, update = fs.Lookup("format").Value.String(), fs.Lookup("update").Value.String()
		return nil
	}
	if err := app.Run([]string{"fim", "scan", "--format", "json", "--update=all"}); err != nil {
		t.Fatal(err)
	}
	if format != "" || update != "" {
		t.Errorf("Defaults: --format = %q, --update = %q, want their defaults, not the command line's", format, update)
	}
}
