package cmdline

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp has the shapes the mechanics must handle: app flags, a command with bool,
// string and slice flags, one with subcommands, one hidden, and help.
func testApp() *cli.App {
	return &cli.App{
		Name:  "prog",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}}, &cli.StringFlag{Name: "db"}, &cli.StringFlag{Name: "color"}},
		Commands: []*cli.Command{
			{Name: "scan", Flags: []cli.Flag{
				&cli.StringFlag{Name: "format"}, &cli.BoolFlag{Name: "fast"},
				&cli.StringSliceFlag{Name: "exclude"}, &cli.IntFlag{Name: "max-depth"},
				&cli.GenericFlag{Name: "update", Value: &optional{}}}},
			{Name: "keys", Subcommands: []*cli.Command{{Name: "make", Flags: []cli.Flag{&cli.StringFlag{Name: "out"}}}}},
			{Name: "hidden", Hidden: true},
			{Name: "completion"},
			{Name: "help"},
		},
	}
}

// optional is a flag value that may go without one (--update, --update=all).
type optional struct{ v string }

func (o *optional) Set(s string) error { o.v = s; return nil }
func (o *optional) String() string     { return o.v }
func (o *optional) IsBoolFlag() bool   { return true }

// testValues: scan's --format takes text or json, the app's --color auto or never,
// completion's argument a shell.
func testValues(flag, cmd string) []string {
	switch {
	case flag == "format" && cmd == "scan":
		return []string{"text", "json"}
	case flag == "color" && cmd == "":
		return []string{"auto", "never"}
	case flag == "" && cmd == "completion":
		return Shells
	}
	return nil
}

func TestFlagsAnywhere(t *testing.T) {
	app := testApp()
	for _, tt := range []struct{ in, want string }{
		{"scan /etc --db x", "scan --db -- /etc x"}, // --db is not scan's: it takes nothing, and the parser refuses it
		{"--db x scan /etc --format=json --fast /usr", "--db x scan --format=json --fast -- /etc /usr"},
		{"scan /etc --exclude a --exclude b --max-depth -1", "scan --exclude a --exclude b --max-depth -1 -- /etc"},
		{"scan -- --format /etc", "scan -- --format /etc"},
		{"scan /etc --format -- --x", "scan --format -- --x -- /etc"}, // "--" is --format's value
		{"scan /etc --format", "scan --format"},                       // no value: the parser says so
		{"scan /etc --help", "scan --help"},
		{"scan /etc --fast=false -", "scan --fast=false -- /etc -"},
		{"keys make /k --out o", "keys make --out o -- /k"},
		{"scan --update /etc --update=all /usr", "scan --update --update=all -- /etc /usr"}, // takes no next word
		{"-v keys /k make", "-v keys /k make"},                                              // "/k" names no subcommand: the parser reports it
		{"bogus /etc --db x", "bogus /etc --db x"},
		{"", ""},
	} {
		got := strings.Join(FlagsAnywhere(app, append([]string{"prog"}, strings.Fields(tt.in)...))[1:], " ")
		if got != tt.want {
			t.Errorf("prog %s: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	app := testApp()
	for _, tt := range []struct{ in, want string }{
		{"", "scan keys completion help"}, // hidden commands are not offered
		{"s", "scan"},
		{"scan --f", "--format --fast"},
		{"scan --format ", "text json"},
		{"scan --format=j", "--format=j" + "son"},
		{"scan --format = j", "json"}, // bash splits --format=j into three words
		{"keys --format ", ""},        // not a flag of keys
		{"--color ", "auto never"},
		{"--color=n", "--color=never"},
		{"scan /etc ", ""},  // a file name: the script completes it
		{"scan -- --f", ""}, // after --, every word is a file name
		{"scan --db ", ""},  // --db is not scan's flag; it takes nothing offered
		{"--db ", ""},       // a file name
		{"-", "--verbose -v --db --color --help -h --version"},
		{"completion ", "bash zsh fish"},
		{"help s", "scan"},
		{"bogus ", ""},
	} {
		words := strings.Split(tt.in, " ")
		var b bytes.Buffer
		Complete(&b, app, testValues, words)
		if got := strings.Join(strings.Fields(b.String()), " "); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScript(t *testing.T) {
	for _, shell := range Shells {
		s, err := Script(shell, "prog")
		if err != nil || !strings.Contains(s, " "+CompleteCommand+" ") || !strings.Contains(s, "complete") ||
			!strings.Contains(s, "prog") || strings.Contains(s, "PROG") {
			t.Errorf("%s: %v\n%s", shell, err, s)
		}
	}
	if _, err := Script("csh", "prog"); err == nil {
		t.Error("csh: no error")
	}
}

func TestManPage(t *testing.T) {
	page, err := ManPage(testApp(), `.TH PROG 1 2026-01-02 "prog 1.0"`, "\n.SH SEE ALSO\n.BR ls (1)\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(page, "\n.TH ") != 1 || !strings.Contains(page, "\n.TH PROG 1 2026-01-02 \"prog 1.0\"\n") ||
		!strings.HasSuffix(page, ".SH SEE ALSO\n.BR ls (1)\n") || !strings.Contains(page, "scan") {
		t.Errorf("page:\n%s", page)
	}
}

// FuzzComplete: completing any command line never panics, and every candidate starts
// with the word being completed (as the shells require), or is a value after a bash
// "=" word.
func FuzzComplete(f *testing.F) {
	for _, s := range []string{"scan\x00--", "scan\x00--format\x00=\x00j", "--db\x00x\x00scan\x00--format=", "help\x00",
		"keys\x00--format\x00", "completion\x00b", "scan\x00--\x00-x", "=\x00=", "-\x00=\x00"} {
		f.Add(s)
	}
	app := testApp()
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, "\x00")
		if len(words) > 50 {
			return
		}
		cur := words[len(words)-1]
		split := len(words) >= 2 && (words[len(words)-1] == "=" || words[len(words)-2] == "=")
		for _, c := range candidates(app, testValues, slices.Clone(words)) {
			if !split && !strings.HasPrefix(c, strings.SplitN(cur, "=", 2)[0]) {
				t.Fatalf("%q: candidate %q does not start with %q", words, c, cur)
			}
		}
	})
}
