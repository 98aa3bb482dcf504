// Command fim is a file integrity monitor: `fim baseline` records a snapshot of the
// configured paths, `fim check` reports what changed since.
package main

import (
	"context"
	"fim/internal/cmdline"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func newApp() *cli.App {
	app := &cli.App{
		Name:            "fim",
		Usage:           "file integrity monitor: record a filesystem baseline, report what changed",
		Version:         versionLine(),
		HideHelpCommand: true, // cmdline.HelpCommand instead: an unknown topic exits ExitUsage
		// urfave/cli adds --help itself only when no command is named help.
		Flags:        []cli.Flag{cli.HelpFlag},
		OnUsageError: cmdline.OnUsageError,
		// Without an action, an unknown command exits 3, which reads as "created and removed".
		Action: cmdline.NoCommand,
		Commands: []*cli.Command{baselineCommand(), checkCommand(), watchCommand(), verifyCommand(), verifyPackagesCommand(), keygenCommand(),
			diffCommand(), acceptCommand(), exportCommand(), listCommand(), infoCommand(), explainCommand(), completionCommand(), schemaCommand(), manCommand(), cmdline.HelpCommand()},
	}
	for _, cmd := range app.Commands {
		withReportFlags(cmd)
	}
	return app
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
