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

func TestDefaults(t *testing.T) {
	app := testApp()
	cmd := app.Command("scan")
	var fromDefaults string
	cmd.Action = func(c *cli.Context) error {
		fs, err := Defaults(c.Command)
		if err != nil {
			return err
		}
		fromDefaults = fs.Lookup("format").Value.String()
		return nil
	}
	if err := app.Run([]string{"fim", "scan", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	if fromDefaults != "" {
		t.Errorf("Defaults: --format = %q, want its default, not the command line's", fromDefaults)
	}
}
