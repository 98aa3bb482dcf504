package cmdline

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestHelp: help alone, or an app run without a command, shows the app's help; help
// COMMAND shows what COMMAND --help does; an unknown command, or two, is a UsageError
// naming the visible commands.
func TestHelp(t *testing.T) {
	run := func(args ...string) (string, error) {
		app := testApp()
		app.HideHelpCommand, app.Action, app.OnUsageError = true, NoCommand, OnUsageError
		app.Commands[len(app.Commands)-1] = HelpCommand() // in place of the test app's "help"
		app.Command("scan").OnUsageError = OnUsageError   // as every command of fim's
		var out bytes.Buffer
		app.Writer = &out
		err := app.Run(append([]string{"prog"}, args...))
		return out.String(), err
	}
	appHelp, err := run()
	if err != nil || !strings.Contains(appHelp, "COMMANDS:") {
		t.Fatalf("no command: %v, wrote %q", err, appHelp)
	}
	if got, err := run("help"); err != nil || got != appHelp {
		t.Errorf("help: %v, wrote %q, want the app's help", err, got)
	}
	scanHelp, err := run("scan", "--help")
	if err != nil || !strings.Contains(scanHelp, "--max-depth") {
		t.Fatalf("scan --help: %v, wrote %q", err, scanHelp)
	}
	if got, err := run("help", "scan"); err != nil || got != scanHelp {
		t.Errorf("help scan: %v, wrote %q, want %q", err, got, scanHelp)
	}
	const names = "scan, keys, completion, help"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob" (want one of ` + names + ")"},
		{[]string{"help", "frob"}, `help: unknown command "frob" (want one of ` + names + ")"},
		{[]string{"help", "scan", "keys"}, "help: one COMMAND at most"},
		{[]string{"scan", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	} {
		_, err := run(tt.args...)
		var ue *UsageError
		if !errors.As(err, &ue) || err.Error() != tt.want {
			t.Errorf("%q: %v, want the UsageError %q", tt.args, err, tt.want)
		}
	}
}
