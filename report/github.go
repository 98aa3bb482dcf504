package report

import (
	"bufio"
	"fmt"
	"io"

	"fim/diff"
)

// GitHub renders events as GitHub Actions workflow commands, one line per event, which
// the runner turns into annotations:
//
//	::error file=/etc/passwd,title=fim%3A change::change /etc/passwd  size: 1024 → 1070
//
// The command is error, warning or notice as the event's level says (see eventLevel:
// by its severity, critical and high errors, medium and low warnings, info notices); the message
// is the event's text line. Unless info.Stream is set, a last line
// "::notice title=fim::fim: 3 changes: …" gives the text format's summary.
//
// Names are escaped as the text format escapes them, so none holds a newline or a
// carriage return, and then as workflow commands require: "%", CR and LF as %25, %0D
// and %0A everywhere, and ":" and "," as %3A and %2C in properties. No file name can
// end a line, end the properties early, or otherwise start a command of its own.
func GitHub(w io.Writer, events []diff.Event, info Info) error {
	bw := bufio.NewWriter(w)
	// Write errors are sticky in bufio.Writer and reported by Flush.
	var b, scratch []byte
	for i := range events {
		ev := &events[i]
		b = append(b[:0], "::"...)
		if l := eventLevel(ev); l == levelNote {
			b = append(b, "notice"...)
		} else {
			b = append(b, l...)
		}
		if !ev.Kind.IsNotice() {
			b = append(b, " file="...)
			scratch = appendEscaped(scratch[:0], ev.Path)
			b = appendCommandEscaped(b, scratch, true)
			b = append(b, ',')
		} else {
			b = append(b, ' ')
		}
		b = append(b, "title=fim%3A "...)
		b = append(b, ev.Kind.String()...) // letters, digits and parentheses only
		b = append(b, "::"...)
		scratch = appendMessage(scratch[:0], ev)
		b = appendCommandEscaped(b, scratch, false)
		b = append(b, '\n')
		_, _ = bw.Write(b)
	}
	if !info.Stream {
		b = append(b[:0], "::notice title=fim::"...)
		scratch = appendSummary(scratch[:0], events, info.Warnings, info.Baseline)
		b = appendCommandEscaped(b, scratch[:len(scratch)-1], false) // without its newline
		b = append(b, '\n')
		_, _ = bw.Write(b)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write github report: %w", err)
	}
	return nil
}

// appendCommandEscaped appends s escaped for a workflow command: "%", CR and LF always,
// ":" and "," too in a property value.
func appendCommandEscaped(b, s []byte, property bool) []byte {
	for _, c := range s {
		switch {
		case c == '%':
			b = append(b, "%25"...)
		case c == '\r':
			b = append(b, "%0D"...)
		case c == '\n':
			b = append(b, "%0A"...)
		case property && c == ':':
			b = append(b, "%3A"...)
		case property && c == ',':
			b = append(b, "%2C"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
