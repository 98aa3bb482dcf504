// Package logging is the one way fim's notices, warnings and errors reach the user: a
// line each on standard error, "fim: " before it, its paths redacted below the roots a
// --redact (or a watch's redact key) puts in force.
package logging

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

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
// (report.RedactText). The line is one line whatever a name in it holds: a control
// byte (a newline that would forge a second line, a terminal escape), a rune that is
// not printable or a byte that is not UTF-8 is written escaped (oneLine), before the
// paths are redacted, so that the part of a name after it is redacted too.
func (l *Logger) Printf(format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
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

// oneLine returns msg with newlines as \n and the other control bytes, the runes that
// are not printable and the bytes that are not UTF-8 as \xNN, \uNNNN or \UNNNNNNNN;
// tabs and backslashes stay (a path escaped already, report.EscapeText, is not escaped
// twice).
func oneLine(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, n := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, msg[i]) // a byte that is not UTF-8
		case r == '\t' || strconv.IsPrint(r):
			b.WriteString(msg[i : i+n])
		case r == '\n':
			b.WriteString(`\n`)
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}
