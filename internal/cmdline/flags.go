package cmdline

import (
	"flag"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// Defaults returns the flags of the command newCommand makes, each at its default, in
// a flag set of their own. The command is made anew: a parsed command's flags are not
// at their defaults, as a generic flag's value is the one the command line set.
func Defaults(newCommand func() *cli.Command) (*flag.FlagSet, error) {
	cmd := newCommand()
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	for _, f := range cmd.Flags {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// BoolOr is the value of a flag that is a bool, or one of the words Words: --NAME alone
// is "true", --NAME=WORD one of them. Name is the flag's, for errors.
type BoolOr struct {
	Name  string
	Words []string
	v     string
}

// Set takes "true", "false" or one of Words.
func (b *BoolOr) Set(s string) error {
	if s == "true" || s == "false" || slices.Contains(b.Words, s) {
		b.v = s
		return nil
	}
	want := "--" + b.Name
	for _, w := range b.Words {
		want += " or --" + b.Name + "=" + w
	}
	return fmt.Errorf("%q: want %s", s, want)
}

// String is the value set, "false" before any.
func (b *BoolOr) String() string {
	if b == nil || b.v == "" {
		return "false"
	}
	return b.v
}

// IsBoolFlag lets the flag go without a value.
func (b *BoolOr) IsBoolFlag() bool { return true }
