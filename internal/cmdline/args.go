// Package cmdline owns the command-line mechanics fim adds to urfave/cli: flags
// anywhere on the line (FlagsAnywhere), shell completion computed from the same flag
// tables (Complete and the scripts of Script), and a manual page with a dated title and
// the sections urfave/cli does not write (ManPage), a help command and the usage errors
// (UsageError) a command line's mistakes are, a flag's defaults and a bool-or-word flag
// value. It knows no command of fim's: the app, and the values of word-valued flags, are
// passed in.
package cmdline

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// FlagsAnywhere returns the command line args (os.Args) with the flags of the command it
// names moved before that command's positional arguments, so that flags may come
// anywhere on the line, as in `fim baseline /etc --db test.db`. urfave/cli, like Go's
// flag package, stops at the first argument that is not a flag and would take every
// later one, "--db" included, as a PATH; it has no setting to read on.
//
// Which words are flags, and which flags consume the next word as their value, is read
// from the flag table of each command on the way (the app's, then the command's, then
// a subcommand's), the table the parser itself uses, so the two cannot disagree:
//   - "--" ends the flags: every word after it is positional, even one starting with '-';
//   - a flag that takes a value consumes the next word, whatever it is ("--db -x");
//     "--name=value" and bool flags ("--fast", "--fast=false") consume nothing;
//   - an unknown flag stays a flag, so that the parser rejects it (exit 16) rather
//     than fim taking it for a PATH;
//   - with --help, the positionals of a command without subcommands are dropped: its
//     help is shown, as it would be without them;
//   - at a level that has commands, the first positional word names one; flags before
//     it are that level's own, the words after it are the command's. An unknown name
//     ends the reordering, and the parser reports it.
//
// The positionals follow a "--", so that one that starts with '-' stays positional.
// (Shell completion reads the words as typed: see Complete.)
func FlagsAnywhere(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	root := slices.Concat(app.Flags, []cli.Flag{cli.HelpFlag})
	if !app.HideVersion {
		root = append(root, cli.VersionFlag)
	}
	return append([]string{args[0]}, reorder(root, app.Command, args[1:])...)
}

// reorder reorders the words after a command name, with flags the command's flags and
// command (nil at a command without subcommands) its subcommand lookup.
func reorder(flags []cli.Flag, command func(string) *cli.Command, args []string) []string {
	var flagWords, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if command == nil {
				positional = append(positional, a)
				continue
			}
			cmd := command(a)
			if cmd == nil {
				return slices.Concat(flagWords, args[i:])
			}
			sub := slices.Clone(cmd.Flags)
			if !cmd.HideHelp {
				sub = append(sub, cli.HelpFlag)
			}
			var lookup func(string) *cli.Command
			if len(cmd.Subcommands) > 0 {
				lookup = cmd.Command
			}
			return slices.Concat(flagWords, []string{a}, reorder(sub, lookup, args[i+1:]))
		}
		flagWords = append(flagWords, a)
		if !TakesValue(flags, a) {
			continue
		}
		if i+1 == len(args) {
			// No value: the parser must see the flag last, and say so.
			return flagWords
		}
		i++
		flagWords = append(flagWords, args[i])
	}
	if len(positional) == 0 || command == nil && slices.ContainsFunc(flagWords, isHelp) {
		// The parser would read a positional after --help as a help topic, a
		// subcommand's name, which a command without subcommands has none of.
		return flagWords
	}
	return slices.Concat(flagWords, []string{"--"}, positional)
}

// TakesValue reports whether the flag word a ("-name" or "--name", without "=value")
// names a flag in flags that consumes the next word as its value.
func TakesValue(flags []cli.Flag, a string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if name == "" || name[0] == '-' || name[0] == '=' || strings.Contains(name, "=") {
		return false // a bad flag, which the parser rejects, or one with its value
	}
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			if g, ok := f.(*cli.GenericFlag); ok {
				// a value that may go without one (--update, --update=explained)
				if b, ok := g.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
					return false
				}
			}
			d, ok := f.(cli.DocGenerationFlag)
			return ok && d.TakesValue()
		}
	}
	return false // unknown: the parser rejects it
}

// isHelp reports whether the word a is the help flag.
func isHelp(a string) bool {
	return slices.Contains(cli.HelpFlag.Names(), strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"))
}
