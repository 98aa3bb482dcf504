package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/report"
	"fim/watch"
)

// completeCommand is the hidden word the completion scripts run fim with: fim
// __complete WORD... prints the candidates for the last WORD (see complete).
const completeCommand = "__complete"

// flagValues lists the values a flag takes, for the flags whose values are words
// rather than file names; a command name as key gives its own list.
var flagValues = map[string]func(cmd string) []string{
	"format": func(cmd string) []string {
		if cmd == "export" {
			return []string{"mtree"}
		}
		names := make([]string, 0, len(report.Formats))
		for n := range report.Formats {
			names = append(names, n)
		}
		sort.Strings(names)
		return names
	},
	"backend": func(string) []string {
		return []string{"auto", watch.SourceFanotify, watch.SourceFsnotify, watch.SourcePeriodic}
	},
	"color": func(string) []string { return []string{"auto", "always", "never"} },
}

// argValues lists the words the first argument of a command takes, for the commands
// whose argument is a word rather than a file name.
var argValues = map[string][]string{
	"completion": {"bash", "zsh", "fish"},
	"schema":     report.SchemaFormats,
}

// complete prints, one per line, the words that can replace the last of args (the
// words of a command line after "fim", the last the one under the cursor, perhaps
// empty): a command name, a flag of the command named (after "-" or "--"), a value of
// the flag before it (--format, --backend, --color; also as --flag=VALUE), the shell
// of `completion`, the format of `schema` or the command of `help`. It prints nothing where a file name goes
// (the positional arguments, --db, --config, …), and the scripts complete a file
// name then. bash splits --flag=VALUE into three words ("--flag", "=", "VALUE"): such
// a VALUE is completed on its own, as bash replaces only it.
func complete(w io.Writer, app *cli.App, args []string) {
	for _, c := range candidates(app, args) {
		fmt.Fprintln(w, c)
	}
}

func candidates(app *cli.App, args []string) []string {
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
			if takesValue(flags, word) {
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
	values := func(flag string) []string {
		if f := flagValues[flag]; f != nil {
			return f(cmdName)
		}
		return nil
	}
	switch {
	case pending != "":
		return withPrefix(values(pending), "", cur)
	case strings.HasPrefix(cur, "-") && strings.Contains(cur, "="):
		name, val, _ := strings.Cut(cur, "=")
		if split {
			return withPrefix(values(flagName(name)), "", val)
		}
		return withPrefix(values(flagName(name)), name+"=", val)
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
	case argValues[cmd.Name] != nil && len(positional) == 0:
		return withPrefix(argValues[cmd.Name], "", cur)
	case cmd.Name == "help" && len(positional) == 0:
		return candidates(app, []string{cur})
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
