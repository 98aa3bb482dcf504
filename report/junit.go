package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"fim/diff"
)

// junitTimeLayout is the timestamp of a JUnit test suite: ISO 8601 without a zone, as
// the JUnit schema has it; fim writes it in UTC.
const junitTimeLayout = "2006-01-02T15:04:05"

// JUnit renders events as a JUnit XML report, for CI pipelines that check an image or a
// build tree: one <testsuite name="fim"> with one failing <testcase> per event, whose
// classname is the kind and whose name is the path. The <failure> has the kind as its
// type, the event's text line (kind, old path, path, changed attributes with their old
// and new values, origin) as its message, and the same one item per line as its body.
// With no events the suite holds a single passing test case, so that CI shows one test
// passed rather than an empty suite. The suite's timestamp is info.Time in UTC, its
// hostname info.Host.Name ("localhost" when that is empty, as the schema asks); the
// machine id and the warning count are properties.
//
// The document is valid against both schemas CI tools check JUnit reports with: the
// Apache Ant schema as windyroad publishes it (JUnit.xsd), which requires <properties>
// and the suite's <system-out> and <system-err>, and the Jenkins xunit plugin's
// junit-10.xsd. Both are in testdata/xsd, and the tests validate every output with
// xmllint.
//
// Every name is escaped as the text format escapes it before it is escaped for XML, so
// control bytes and bytes that are not valid UTF-8, which XML 1.0 cannot carry, never
// reach the document: a test case's name is EscapeText of the path.
func JUnit(w io.Writer, events []diff.Event, info Info) error {
	bw := bufio.NewWriter(w)
	// Write errors are sticky in bufio.Writer and reported by Flush.
	b := make([]byte, 0, 1024)
	var scratch []byte
	tests := max(len(events), 1)
	b = append(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"fim\" tests=\""...)
	b = strconv.AppendInt(b, int64(tests), 10)
	b = append(b, `" failures="`...)
	b = strconv.AppendInt(b, int64(len(events)-notices(events)), 10)
	b = append(b, `" errors="0" skipped="0" time="0" timestamp="`...)
	b = info.Time.UTC().AppendFormat(b, junitTimeLayout)
	b = append(b, `" hostname="`...)
	scratch = appendEscaped(scratch[:0], info.Host.Name)
	if len(bytes.Trim(scratch, " ")) == 0 {
		// The schema's hostname is a token of at least one character; escaping left
		// no whitespace but the space.
		scratch = append(scratch[:0], "localhost"...)
	}
	b = appendXML(b, scratch)
	b = append(b, "\">\n"...)
	if info.Host.ID == "" && info.Warnings == 0 && info.Baseline.Generation == 0 {
		b = append(b, "  <properties/>\n"...) // required, even empty
	} else {
		b = append(b, "  <properties>\n"...)
		if info.Host.ID != "" {
			b = append(b, `    <property name="host.id" value="`...)
			scratch = appendEscaped(scratch[:0], info.Host.ID)
			b = appendXML(b, scratch)
			b = append(b, "\"/>\n"...)
		}
		if info.Warnings > 0 {
			b = append(b, `    <property name="warnings" value="`...)
			b = strconv.AppendInt(b, int64(info.Warnings), 10)
			b = append(b, "\"/>\n"...)
		}
		if info.Baseline.Generation > 0 {
			b = append(b, `    <property name="baseline.created" value="`...)
			b = info.Baseline.Created.UTC().AppendFormat(b, time.RFC3339)
			b = append(b, `"/>`+"\n"+`    <property name="baseline.generation" value="`...)
			b = strconv.AppendUint(b, info.Baseline.Generation, 10)
			b = append(b, "\"/>\n"...)
		}
		b = append(b, "  </properties>\n"...)
	}
	_, _ = bw.Write(b)
	if len(events) == 0 {
		_, _ = bw.WriteString("  <testcase classname=\"fim\" name=\"no changes\" time=\"0\"/>\n")
	}
	for i := range events {
		b, scratch = appendJUnitCase(b[:0], scratch, &events[i])
		_, _ = bw.Write(b)
	}
	_, _ = bw.WriteString("  <system-out/>\n  <system-err/>\n</testsuite>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// appendJUnitCase appends the failing test case of one event; scratch is a buffer to
// reuse, returned grown.
func appendJUnitCase(b, scratch []byte, ev *diff.Event) ([]byte, []byte) {
	kind := ev.Kind.String()
	if ev.Kind.IsNotice() {
		// A notice of fim watch passes: it is of the watch, not of a file.
		b = append(b, `  <testcase classname="`...)
		b = append(b, kind...)
		b = append(b, `" name="`...)
		scratch = appendMessage(scratch[:0], ev)
		b = appendXML(b, scratch)
		return append(b, `" time="0"/>`+"\n"...), scratch
	}
	b = append(b, `  <testcase classname="`...)
	b = append(b, kind...) // letters, digits and parentheses only
	b = append(b, `" name="`...)
	scratch = appendEscaped(scratch[:0], ev.Path)
	b = appendXML(b, scratch)
	b = append(b, `" time="0">`+"\n"+`    <failure message="`...)
	scratch = appendMessage(scratch[:0], ev)
	b = appendXML(b, scratch)
	b = append(b, `" type="`...)
	b = append(b, kind...)
	b = append(b, `">`...)

	// The body: one item per line.
	scratch = append(scratch[:0], "kind: "...)
	scratch = append(scratch, kind...)
	if ev.OldPath != "" {
		scratch = append(scratch, "\nold_path: "...)
		scratch = appendEscaped(scratch, ev.OldPath)
	}
	scratch = append(scratch, "\npath: "...)
	scratch = appendEscaped(scratch, ev.Path)
	switch ev.Kind {
	case diff.Create, diff.Remove:
		e := ev.After
		if ev.Kind == diff.Remove {
			e = ev.Before
		}
		if e != nil {
			scratch = append(scratch, '\n')
			n := len(scratch)
			scratch = appendState(scratch, e)
			scratch = append(scratch[:n], scratch[n+2:]...) // without appendState's leading "  "
		}
	default:
		for _, a := range ev.Changed.List() {
			scratch = append(scratch, '\n')
			scratch = appendChange(scratch, a, ev.Before, ev.After)
		}
	}
	b = appendXML(b, scratch)
	b = append(b, "</failure>\n  </testcase>\n"...)
	return b, scratch
}

// appendXML appends s with the five characters XML gives a meaning escaped; s must
// already be escaped as the text format escapes (no control bytes but the newlines fim
// itself writes, valid UTF-8), which leaves only characters XML 1.0 allows.
func appendXML(b, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&apos;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// notices counts the notices among events.
func notices(events []diff.Event) int {
	n := 0
	for i := range events {
		if events[i].Kind.IsNotice() {
			n++
		}
	}
	return n
}
