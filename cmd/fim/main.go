// Command fim is a file integrity monitor: `fim baseline` records a snapshot of the
// configured paths, `fim check` reports what changed since.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/report"
	"fim/walk"
)

// exitError carries an exit code out of a command; a nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{report.ExitUsage, fmt.Errorf(format, args...)}
}

var dbFlag = &cli.StringFlag{Name: "db", Usage: "baseline database (default $FIM_DB, the config's db, /var/lib/fim/baseline.db as root, else $XDG_STATE_HOME/fim/baseline.db)"}
var configFlag = &cli.StringFlag{Name: "config", Usage: "YAML configuration file (default /etc/fim/fim.yaml if present)"}
var rootFlag = &cli.StringFlag{Name: "root", Usage: "read the tree under `DIR` but record paths as if DIR were /"}
var signFlag = &cli.StringFlag{Name: "sign", Usage: "sign the baseline with the Ed25519 private key in `FILE` (see fim keygen)"}
var workersFlag = &cli.IntFlag{Name: "workers", Usage: "goroutines listing and hashing (default: number of CPUs)"}
var noProvenanceFlag = &cli.BoolFlag{Name: "no-provenance", Usage: "do not ask the package databases under the root what they make of each change (see README: provenance)"}
var showExplainedFlag = &cli.BoolFlag{Name: "show-explained", Usage: "text: list each change its package explains, not one line per package"}
var explainedOKFlag = &cli.BoolFlag{Name: "explained-ok", Usage: "only changes the package manager does not explain set the exit bits"}

// onUsageError makes a bad flag exit with ExitUsage; each command needs it, as commands
// do not inherit the app's.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return &exitError{report.ExitUsage, err}
}

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

func baselineCommand() *cli.Command {
	return &cli.Command{
		Name:         "baseline",
		Usage:        "walk the paths and store a snapshot of them",
		ArgsUsage:    "[PATH...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag,
			&cli.IntFlag{Name: "max-depth", Usage: "levels below each path to record (0: unlimited)"},
			&cli.StringFlag{Name: "max-file-size", Usage: "record larger files without hashing them, e.g. 64MiB (0: unlimited)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "skip absolute paths matching `GLOB` (repeatable; ** crosses directories; a matching directory is pruned)"},
			&cli.BoolFlag{Name: "no-hidden", Usage: "skip names starting with a dot (recorded by default)"},
			&cli.BoolFlag{Name: "follow-symlinks", Usage: "record what symlinks point to and descend into linked directories"},
			&cli.BoolFlag{Name: "cross-mounts", Usage: "descend into other filesystems"},
			&cli.IntFlag{Name: "max-entries", Usage: "fail rather than record more than `N` entries (0: unlimited)"},
			signFlag, quietFlag, fromTarFlag, fromMtreeFlag,
			&cli.BoolFlag{Name: "no-provenance", Usage: "do not keep which package lists each path beside the baseline (DB.packages), which explains a later remove"},
		},
		Action: runBaseline,
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:         "check",
		Usage:        "walk what the baseline recorded and report the differences",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag,
			reportFormatFlag, outputFlag, redactFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, e.g. mtime,ctime,inode,device,nlink"},
			&cli.BoolFlag{Name: "update", Usage: "after reporting, replace the baseline with the current state"},
			&cli.BoolFlag{Name: "fast", Usage: "re-read only files whose device, inode, size, mtime or ctime changed (see README: what --fast trusts)"},
			verifyFlag, maxAgeFlag, minGenerationFlag, generationFileFlag,
			signFlag, quietFlag, noProvenanceFlag, showExplainedFlag, explainedOKFlag,
		},
		Action: runCheck,
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

// exitOnPanic makes a panic of a command exit ExitRuntime with one line, where the
// runtime would exit 2, which reads as "entries removed". It is deferred by main, so it
// sees the panics of the main goroutine; nothing can catch a fatal error of the runtime
// (out of memory), which is why every input fim reads has a bound.
func exitOnPanic() {
	if p := recover(); p != nil {
		fmt.Fprintf(os.Stderr, "fim: internal error: %s\n", strings.ReplaceAll(fmt.Sprint(p), "\n", " "))
		os.Exit(report.ExitRuntime)
	}
}

// exitCode prints err, if any, as one line and maps it to fim's exit codes.
func exitCode(err error) int {
	if err == nil {
		return report.ExitOK
	}
	code := report.ExitRuntime
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
		if ee.err == nil {
			return code
		}
	case errors.Is(err, baseline.ErrBadBaseline):
		code = report.ExitBaseline
	case errors.Is(err, walk.ErrSymlinkedRoot):
		code = report.ExitUsage
	}
	fmt.Fprintf(os.Stderr, "fim: %v\n", err)
	return code
}
