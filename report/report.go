// Package report owns rendering: it turns the events of a check into a report in one of
// the formats of the Formats registry (name, renderer, media type). It does no filtering
// or ordering of its own: events are rendered in the order they are given.
//
// The text format (the default) is for people. It starts with a summary line and has one
// line per event. Every byte of a file name that could forge a line or drive the terminal
// is escaped: control bytes (below 0x20 and 0x7f) as \n, \t or \xNN, bytes that are not
// valid UTF-8 as \xNN, a backslash as \\, and printable-looking but invisible or
// control runes (C1 controls, bidirectional overrides, other non-printable code points)
// as \uNNNN. The same applies to symlink targets and extended attribute names.
//
// The json format is NDJSON for programs: one object per event per line and nothing
// else, each led by the format's version ("fim":{"format":1}, FormatVersion). Paths are raw bytes on Linux, but JSON strings are Unicode, and encoding/json
// replaces each invalid UTF-8 byte with U+FFFD. So when path, old_path or link_target is
// not valid UTF-8, the field holds that lossy string and an extra field path_b64,
// old_path_b64 or link_target_b64 holds the exact bytes in standard base64; decoders
// that need the exact name use the _b64 field whenever it is present. Extended attribute
// names and values that are not printable UTF-8 are written as "base64:<std base64>"
// (a real attribute name always starts with its namespace, such as "user.", and a value
// that itself starts with "base64:" is always encoded, so the prefix is unambiguous).
//
// The other formats feed other tools, each describing an event by its text line (the
// kind, then the text format's line after its kind column, escaped the same way):
//   - junit: one JUnit XML test suite, a failing test case per event (a single passing
//     one when there are none), for CI pipelines. Names are escaped as in the text
//     format before XML escaping, so the document is always well-formed XML 1.0.
//   - sarif: one SARIF 2.1.0 log, a rule per kind and a result per event, located by a
//     percent-encoded file:// URI that keeps every byte of the name.
//   - github: GitHub Actions workflow commands (::error, ::warning), one line per event,
//     escaped so that no file name can start a command of its own.
//   - ecs: NDJSON, one Elastic Common Schema document per event, shaped as those of
//     Auditbeat's file_integrity module, with fim's own fields under "fim" (the format
//     version in fim.format); a path that is not valid UTF-8 has its exact bytes in a
//     *_b64 field there.
//
// Schema gives the JSON Schema of a line of the json and ecs formats, whose version
// (FormatVersion) every line names.
//
// Where a format grades events, a graded event (one with a severity) is an error when
// critical or high, a warning when medium or low, a note when info; an ungraded one is
// an error when a change or remove, else a warning. Every format that describes an
// event by its text line shows its severity and reasons there ("  (critical:
// setuid-gained)"); json, ecs and sarif carry them as fields too.
// junit and sarif write one document per call, so they suit a check, not the batches of
// a continuous stream. Redact hides the names below sensitive directories before any
// format renders them.
package report

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"fim/diff"
)

// Host identifies the machine a check ran on.
type Host struct {
	Name string // hostname
	ID   string // content of /etc/machine-id, trimmed; "" if absent
}

// LocalHost returns the identity of the machine fim runs on. Parts that cannot be read
// are left empty: a report is still worth writing without them.
func LocalHost() Host {
	var h Host
	if name, err := os.Hostname(); err == nil {
		h.Name = name
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.ID = strings.TrimSpace(string(id))
	}
	return h
}

// Info is what a report says besides the events.
type Info struct {
	Time     time.Time // when the check ran
	Host     Host
	Baseline Baseline // the baseline compared with; zero for none (a watch without one)
	Color    bool     // text: colour the kind column with ANSI escapes (the CLI sets it for a terminal)
	Warnings int      // problems met during the check (unreadable files, …), counted in the text summary
	Stream   bool     // one batch of a continuous stream (fim watch): text has no summary line
	// ShowExplained: text lists every event the package manager explains, instead of
	// one line per package.
	ShowExplained bool
	Version       string // fim's version, for the formats that name their tool (sarif)
	// Root is the absolute directory the tree was read under (--root); "" for the
	// host's /. Event paths are relative to it, as if it were /.
	Root string
	// Names names the owners of entries (ecs: file.owner, file.group) as the tree's own
	// passwd and group files do; nil: no names.
	Names Names
}

// Names resolves the user and group ids of entries to names ("": unknown).
type Names interface {
	User(uid int) string
	Group(gid int) string
}

// Baseline identifies the baseline a report compares with, by what its meta says (and
// its digest, and signature if any, cover): when it was made and its generation, so
// that a reader can tell a stale or replayed baseline.
type Baseline struct {
	Created    time.Time
	Generation uint64 // 0: no baseline
}

// Renderer writes events to w in one format. Renderers are deterministic: the same
// events and info give the same bytes.
type Renderer func(w io.Writer, events []diff.Event, info Info) error

// Format is one report format: what --format names it, its renderer, and what the
// command line and the delivery need to know of its output.
type Format struct {
	Name   string
	Render Renderer
	// ContentType is the media type of the output, for an HTTP collector.
	ContentType string
	// Document says the format renders one whole document (an XML or JSON tree) rather
	// than independent lines: such output cannot be split into a stream of batches or
	// into syslog messages.
	Document bool
	// Note says what the name alone does not, in the --format help ("" for nothing).
	Note string
	// SHA256 says the format carries each event's file SHA-256 (ecs: file.hash.sha256),
	// which the engine computes for the files that have events.
	SHA256 bool
}

// Formats are the report formats, in the order the --format help lists them.
var Formats = []Format{
	{Name: "text", Render: Text, ContentType: "text/plain; charset=utf-8"},
	{Name: "json", Render: JSON, ContentType: "application/x-ndjson", Note: "one object per line"},
	{Name: "ecs", Render: ECS, ContentType: "application/x-ndjson", Note: "Elastic Common Schema, one per line", SHA256: true},
	{Name: "junit", Render: JUnit, ContentType: "application/xml", Document: true},
	{Name: "sarif", Render: SARIF, ContentType: "application/sarif+json", Document: true},
	{Name: "github", Render: GitHub, ContentType: "text/plain; charset=utf-8", Note: "Actions annotations"},
}

// FormatNames returns the names of the formats, sorted.
func FormatNames() []string {
	names := make([]string, len(Formats))
	for i := range Formats {
		names[i] = Formats[i].Name
	}
	slices.Sort(names)
	return names
}

// Help lists the formats for the --format flag: "text, json (one object per line), …
// or github (Actions annotations)".
func Help() string {
	var b strings.Builder
	for i, f := range Formats {
		switch {
		case i == len(Formats)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		if f.Note != "" {
			b.WriteString(" (" + f.Note + ")")
		}
	}
	return b.String()
}

// Lookup returns the format of a name.
func Lookup(name string) (*Format, error) {
	for i := range Formats {
		if Formats[i].Name == name {
			return &Formats[i], nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(FormatNames(), ", "))
}
