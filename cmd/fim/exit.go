package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"fim/baseline"
	"fim/check"
	"fim/diff"
	"fim/internal/cmdline"
	"fim/internal/logging"
	"fim/metrics"
	"fim/provenance"
	"fim/walk"
)

// Exit codes of fim, compatible with AIDE and Tripwire: a check's code is the bitwise OR
// of exitCreated, exitRemoved and exitChanged for the kinds of events it found; codes
// from exitUsage up report that the command itself failed.
const (
	exitOK       = 0  // no differences
	exitCreated  = 1  // some entry was created
	exitRemoved  = 2  // some entry was removed
	exitChanged  = 4  // some entry was changed, chmodded, renamed or moved
	exitUsage    = 16 // bad command line or configuration
	exitBaseline = 17 // the baseline is missing, unreadable or incompatible
	exitRuntime  = 18 // any other error while running
)

// eventsCode returns the exit code for the events of a check.
func eventsCode(events []diff.Event) int {
	code := exitOK
	for i := range events {
		switch events[i].Kind {
		case diff.Create:
			code |= exitCreated
		case diff.Remove:
			code |= exitRemoved
		default: // change, chmod, rename, move; an unknown kind is still a difference
			code |= exitChanged
		}
	}
	return code
}

// eventsExit is the outcome of a command that reported events: nil for none. With
// explainedOK (--explained-ok), only the events the package manager does not explain
// count.
func eventsExit(events []diff.Event, explainedOK bool) error {
	if explainedOK {
		events = provenance.Unexplained(events)
	}
	if code := eventsCode(events); code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

// exitError carries an exit code out of a command, which prints nothing.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// logf writes fim's notices, warnings and errors, and redacting puts in force the
// roots below which their paths are redacted: fim's logger's (internal/logging).
var logf, redacting = logging.Stderr.Printf, logging.Stderr.Redact

// exitOnPanic makes a panic of a command exit exitRuntime with one line, where the
// runtime would exit 2, which reads as "entries removed". It is deferred by main, so it
// sees the panics of the main goroutine; nothing can catch a fatal error of the runtime
// (out of memory), which is why every input fim reads has a bound.
func exitOnPanic() {
	if p := recover(); p != nil {
		logf("internal error: %s", strings.ReplaceAll(fmt.Sprint(p), "\n", " "))
		os.Exit(exitRuntime)
	}
}

// exitCode prints err, if any, as one line and maps it to fim's exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	code := exitRuntime // any error not named below: I/O, the service manager, priority
	switch {
	case errors.As(err, new(*check.OptionError)), errors.As(err, new(*cmdline.UsageError)):
		code = exitUsage
	case errors.Is(err, baseline.ErrBadBaseline):
		code = exitBaseline
	case errors.Is(err, walk.ErrSymlinkedRoot), errors.Is(err, metrics.ErrAddress):
		code = exitUsage
	}
	logf("%v", err)
	return code
}
