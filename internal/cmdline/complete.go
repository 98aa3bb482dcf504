package cmdline

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Values returns the words a flag (its name without dashes) takes at the command cmd
// ("" before any command), or, for the flag "", the words cmd's first argument takes;
// nil where a file name goes, or anything else.
type Values func(flag, cmd string) []string

// CompleteCommand is the hidden first word the completion scripts run the program
// with: PROG __complete WORD... prints the candidates for the last WORD (Complete).
const CompleteCommand = "__complete"

// Complete prints, one per line, the words that can replace the last of args (the
// words of a command line after the program's name, the last the one under the cursor,
// perhaps empty): a command name, a flag of the command named (after "-" or "--"), a
// value values gives for the flag before it (also as --flag=VALUE) or for a command's
// first argument, or the command of `help`. It prints nothing where a file name goes
// (the positional arguments, --db, --config, …), and the scripts complete a file
// name then. bash splits --flag=VALUE into three words ("--flag", "=", "VALUE"): such
// a VALUE is completed on its own, as bash replaces only it.
func Complete(w io.Writer, app *cli.App, values Values, args []string) {
	for _, c := range candidates(app, values, args) {
		fmt.Fprintln(w, c)
	}
}

func candidates(app *cli.App, values Values, args []string) []string {
	if len(args) == 0 {
		args = []string{""}
	}
	// bash's "--flag" "=" "VALUE" (or "--flag" "=" under the cursor) is one word.
	split := false
	if n := len(args); n >= 2 && args[n-1] == "=" && strings.HasPrefix(args[n-2], "-") {
		args, split = append(args[:n-2:n-2], args[n-2]+"="), true
	} else if n >= 3 && args[n-2] == "=" && strings.HasPrefix(args[n-3], "-") {
		args, split = append(args[:n-3:n-3], args[n-3]+"="+args[n-1]), true
	}
	cur, words := args[len(args)-1], args[:len(args)-1]

	flags := slices.Concat(app.Flags, []cli.Flag{cli.HelpFlag, cli.VersionFlag})
	var cmd *cli.Command
	var positional []string
	pending := "" // a flag at the end of words that takes the word under the cursor
	for i := 0; i < len(words); i++ {
		word := words[i]
		switch {
		case word == "--":
			return nil // the rest is positional: file names
		case len(word) > 1 && word[0] == '-':
			if TakesValue(flags, word) {
				if i+1 == len(words) {
					pending = flagName(word)
				}
				i++
			}
		case cmd == nil:
			if cmd = app.Command(word); cmd == nil {
				return nil
			}
			flags = append(slices.Clone(cmd.Flags), cli.HelpFlag)
		default:
			positional = append(positional, word)
		}
	}
	cmdName := ""
	if cmd != nil {
		cmdName = cmd.Name
	}
	valuesOf := func(flag string) []string { return values(flag, cmdName) }
	switch {
	case pending != "":
		return withPrefix(valuesOf(pending), "", cur)
	case strings.HasPrefix(cur, "-") && strings.Contains(cur, "="):
		name, val, _ := strings.Cut(cur, "=")
		if split {
			return withPrefix(valuesOf(flagName(name)), "", val)
		}
		return withPrefix(valuesOf(flagName(name)), name+"=", val)
	case strings.HasPrefix(cur, "-"):
		var names []string
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) == 1 {
					n = "-" + n
				} else {
					n = "--" + n
				}
				if !slices.Contains(names, n) { // --help is both the app's and added
					names = append(names, n)
				}
			}
		}
		return withPrefix(names, "", cur)
	case cmd == nil:
		var names []string
		for _, c := range app.VisibleCommands() {
			names = append(names, c.Name)
		}
		return withPrefix(names, "", cur)
	case len(positional) == 0 && values("", cmd.Name) != nil:
		return withPrefix(values("", cmd.Name), "", cur)
	case cmd.Name == "help" && len(positional) == 0:
		return candidates(app, values, []string{cur})
	}
	return nil
}

// flagName returns the name of a flag word: "format" for "--format" or "-format".
func flagName(word string) string {
	return strings.TrimPrefix(strings.TrimPrefix(word, "-"), "-")
}

// withPrefix returns prefix+w for each of words that starts with cur.
func withPrefix(words []string, prefix, cur string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, cur) {
			out = append(out, prefix+w)
		}
	}
	return out
}
