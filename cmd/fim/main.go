// Command fim is a file integrity monitor: `fim baseline` records a snapshot of the
// configured paths, `fim check` reports what changed since.
package main

import (
	"context"
	"fim/internal/cmdline"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func newApp() *cli.App {
	app := &cli.App{
		Name:            "fim",
		Usage:           "file integrity monitor: record a filesystem baseline, report what changed",
		Version:         versionLine(),
		HideHelpCommand: true, // helpCommand instead: an unknown topic exits ExitUsage
		// urfave/cli adds --help itself only when no command is named help.
		Flags:        []cli.Flag{cli.HelpFlag},
		OnUsageError: onUsageError,
		// Without an action, an unknown command exits 3, which reads as "created and removed".
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErr("unknown command %q (want one of %s)", c.Args().First(), commandNames(c.App))
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{baselineCommand(), checkCommand(), watchCommand(), verifyCommand(), verifyPackagesCommand(), keygenCommand(),
			diffCommand(), acceptCommand(), exportCommand(), listCommand(), infoCommand(), explainCommand(), completionCommand(), schemaCommand(), manCommand(), helpCommand()},
	}
	for _, cmd := range app.Commands {
		withReportFlags(cmd)
	}
	return app
}

// commandNames lists the app's commands, for messages.
func commandNames(app *cli.App) string {
	var names []string
	for _, cmd := range app.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	return strings.Join(names, ", ")
}

func helpCommand() *cli.Command {
	return &cli.Command{
		Name:         "help",
		Usage:        "show the commands, or the flags of one command",
		ArgsUsage:    "[COMMAND]",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			switch name := c.Args().First(); {
			case c.Args().Len() > 1:
				return usageErr("help: one COMMAND at most")
			case name == "":
				return cli.ShowAppHelp(c)
			case c.App.Command(name) == nil:
				return usageErr("help: unknown command %q (want one of %s)", name, commandNames(c.App))
			default:
				// Exactly what fim COMMAND --help shows.
				return c.App.RunContext(c.Context, []string{c.App.Name, name, "--help"})
			}
		},
	}
}

func main() {
	defer exitOnPanic()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	app := newApp()
	if len(os.Args) > 1 && os.Args[1] == cmdline.CompleteCommand {
		cmdline.Complete(os.Stdout, app, completionValues, os.Args[2:])
		os.Exit(exitOK)
	}
	err := app.RunContext(ctx, cmdline.FlagsAnywhere(app, os.Args))
	stopProfile()
	stop()
	os.Exit(exitCode(err))
}
