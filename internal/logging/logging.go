// Package logging is the one way fim's notices, warnings and errors reach the user: a
// line each on standard error, "fim: " before it, its paths redacted below the roots a
// --redact (or a watch's redact key) puts in force.
package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"fim/report"
)

// A Logger writes lines to its writer, each whole in one write, with a prefix.
type Logger struct {
	prefix string
	mu     sync.Mutex
	w      io.Writer
	roots  atomic.Pointer[[]string]
}

// New returns a logger writing to w, prefix before each line.
func New(w io.Writer, prefix string) *Logger { return &Logger{w: w, prefix: prefix} }

// Stderr is fim's logger, the Logf it gives every package that has something to say.
var Stderr = New(os.Stderr, "fim: ")

// Printf writes a line, with the paths below the roots of Redact redacted
// (report.RedactText).
func (l *Logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if roots := l.roots.Load(); roots != nil {
		msg = report.RedactText(msg, *roots)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s%s\n", l.prefix, msg)
}

// Redact puts roots in force: the lines written from now on have the paths below them
// redacted (nil: none).
func (l *Logger) Redact(roots []string) {
	if roots == nil {
		l.roots.Store(nil)
		return
	}
	l.roots.Store(&roots)
}
