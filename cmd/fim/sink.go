package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"fim/diff"
	"fim/output"
	"fim/report"
)

var reportFormatFlag = &cli.StringFlag{Name: "format", Value: "text",
	Usage: "report format: text, json (one object per line), ecs (Elastic Common Schema, one per line), junit, sarif or github (Actions annotations)"}
var outputFlag = &cli.StringFlag{Name: "output", Usage: "send the report to `DEST`: FILE (appended, fsync'd), -, syslog, syslog:///SOCKET, " +
	"udp://HOST:PORT or tcp://HOST:PORT (RFC 5424; ?facility=NAME, ?max=BYTES), or http(s)://URL (JSON POST with retries)"}
var redactFlag = &cli.BoolFlag{Name: "redact", Usage: "report a path below a configured root as ROOT/[redacted], and drop link targets, xattr values, and process arguments and working directories"}

// reporter renders events in the --format and sends them to the --output, redacted
// with --redact: the one way check, watch and the other reporting commands deliver.
type reporter struct {
	render report.Renderer
	sink   output.Sink
	color  bool
	redact []string // configured roots when --redact is given
	host   report.Host
	base   report.Baseline // the baseline compared with, for the report's header
	all    bool            // --show-explained
}

// newReporter reads --format, --output and --redact. stream says the events come in
// batches (fim watch), which a whole-document format cannot carry; roots are the
// configured roots that --redact keeps.
func newReporter(c *cli.Context, stream bool, roots []string) (*reporter, error) {
	format := c.String("format")
	render, err := report.Lookup(format)
	if err != nil {
		return nil, usageErr("--format: %v", err)
	}
	dest := c.String("output")
	if report.Document(format) {
		if stream {
			return nil, usageErr("--format %s writes one document per run: use it with fim check", format)
		}
		if output.Lines(dest) {
			return nil, usageErr("--format %s is one document: syslog would split it into lines", format)
		}
	}
	sink, err := output.Open(dest, output.Options{
		ContentType: report.ContentType(format),
		Version:     version(),
		Hostname:    report.LocalHost().Name,
		Logf:        func(f string, args ...any) { fmt.Fprintf(os.Stderr, "fim: output: "+f+"\n", args...) },
	})
	if err != nil {
		return nil, usageErr("--output: %v", err)
	}
	r := &reporter{render: render, sink: sink, host: report.LocalHost()}
	r.color = (dest == "" || dest == "-") && colorful()
	if c.Bool("redact") {
		r.redact = roots
	}
	r.all = c.Bool("show-explained")
	return r, nil
}

// info returns the report.Info of a report rendered now.
func (r *reporter) info(stream bool, warned int) report.Info {
	return report.Info{Time: time.Now().UTC(), Host: r.host, Baseline: r.base, Color: r.color, Stream: stream, Warnings: warned,
		ShowExplained: r.all}
}

// emit renders events and delivers them as one batch.
func (r *reporter) emit(events []diff.Event, info report.Info) error {
	if r.redact != nil {
		events = report.Redact(events, r.redact)
	}
	var buf bytes.Buffer
	if err := r.render(&buf, events, info); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := r.sink.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *reporter) close() error { return r.sink.Close() }

// colorful reports whether stdout is a terminal that wants colour.
func colorful() bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(os.Stdout)
}
