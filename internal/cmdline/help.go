package cmdline

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// UsageError is a mistake on the command line: a flag or argument the command does not
// take. Its message is for the user; the program exits with its usage code.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError of the message format makes with args.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// OnUsageError makes urfave/cli's refusal of a flag a UsageError: each command needs
// it, as commands do not inherit the app's.
func OnUsageError(_ *cli.Context, err error, _ bool) error { return &UsageError{err} }

// NoCommand is the action of an app run without a command: it shows the app's help.
// A first argument that names no command is a UsageError, where urfave/cli would exit
// with a code of its own.
func NoCommand(c *cli.Context) error {
	if c.Args().Present() {
		return Usagef("unknown command %q (want one of %s)", c.Args().First(), commandNames(c.App))
	}
	return cli.ShowAppHelp(c)
}

// HelpCommand is the help command, in place of urfave/cli's (App.HideHelpCommand):
// without an argument it shows the app's help, with the name of a command exactly what
// COMMAND --help shows; an unknown command, or more than one, is a UsageError.
func HelpCommand() *cli.Command {
	return &cli.Command{
		Name:         "help",
		Usage:        "show the commands, or the flags of one command",
		ArgsUsage:    "[COMMAND]",
		OnUsageError: OnUsageError,
		Action: func(c *cli.Context) error {
			switch name := c.Args().First(); {
			case c.Args().Len() > 1:
				return Usagef("help: one COMMAND at most")
			case name == "":
				return cli.ShowAppHelp(c)
			case c.App.Command(name) == nil:
				return Usagef("help: unknown command %q (want one of %s)", name, commandNames(c.App))
			default:
				return c.App.RunContext(c.Context, []string{c.App.Name, name, "--help"})
			}
		},
	}
}

// commandNames lists the app's commands, for messages.
func commandNames(app *cli.App) string {
	var names []string
	for _, cmd := range app.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	return strings.Join(names, ", ")
}
