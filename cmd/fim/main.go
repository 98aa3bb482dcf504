// Command fim is a file integrity monitor: `fim baseline` records a snapshot of the
// configured paths, `fim check` reports what changed since.
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func newApp() *cli.App {
	return &cli.App{
		Name:                 "fim",
		Usage:                "file integrity monitor: record a filesystem baseline, report what changed",
		Version:              version(),
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		OnUsageError:         onUsageError,
		// Without an action, an unknown command exits 3, which reads as "created and removed".
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				var names []string
				for _, cmd := range c.App.VisibleCommands() {
					names = append(names, cmd.Name)
				}
				return usageErr("unknown command %q (want one of %s)", c.Args().First(), strings.Join(names, ", "))
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{baselineCommand(), checkCommand(), watchCommand(), verifyCommand(), keygenCommand(),
			diffCommand(), acceptCommand(), exportCommand(), listCommand(), infoCommand(), explainCommand(), completionCommand(), manCommand()},
	}
}

func main() {
	defer exitOnPanic()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	app := newApp()
	err := app.RunContext(ctx, flagsAnywhere(app, os.Args))
	stopProfile()
	stop()
	os.Exit(exitCode(err))
}
