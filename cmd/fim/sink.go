package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/diff"
	"fim/idname"
	"fim/output"
	"fim/report"
)

var reportFormatFlag = &cli.StringFlag{Name: "format", Value: "text", Usage: "report format: " + report.Help()}
var outputFlag = &cli.StringFlag{Name: "output", Usage: "send the report to `DEST`: FILE (appended, fsync'd), -, syslog, syslog:///SOCKET, " +
	"udp://HOST:PORT or tcp://HOST:PORT (RFC 5424; ?facility=NAME, ?max=BYTES), or http(s)://URL (JSON POST with retries)"}

// reportFlags go with --output: every command that takes it takes them (see newApp).
// --color is for the text format; the others tune an http(s) --output.
var reportFlags = []cli.Flag{
	&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour the kinds of the text report: `WHEN` is auto (on a terminal, " +
		"unless NO_COLOR is set or TERM=dumb), always or never"},
	&cli.StringSliceFlag{Name: "header", Usage: "with an http(s) --output, send the header `'NAME: VALUE'` with each request (repeatable; " +
		"e.g. 'Authorization: ApiKey …'); values never appear in messages"},
	&cli.StringFlag{Name: "ca", Usage: "with an https --output, trust only the certificate authorities in the PEM `FILE`"},
	&cli.StringFlag{Name: "cert", Usage: "with an https --output, present the client certificate in the PEM `FILE` (with --key)"},
	&cli.StringFlag{Name: "key", Usage: "the private key of --cert, in the PEM `FILE`"},
	&cli.BoolFlag{Name: "gzip", Usage: "with an http(s) --output, compress each request body (Content-Encoding: gzip)"},
}

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
	min    diff.Severity   // --min-severity
	root   string          // the directory the tree is read under (--root), for the report's locations
	names  *idname.Names   // the names of root's users and groups
	// sha256: the format reports SHA-256 digests (ecs), computed for the files of the
	// events before they are rendered; off for events whose files are not under root.
	sha256 bool
}

// newReporter reads --format, --output and --redact. stream says the events come in
// batches (fim watch), which a whole-document format cannot carry; roots are the
// configured roots that --redact keeps; own, the files of the command that a file
// --output or --metrics-file must not be.
func newReporter(c *cli.Context, stream bool, roots []string, own check.Own) (*reporter, error) {
	format, err := report.Lookup(c.String("format"))
	if err != nil {
		return nil, usageErr("--format: %v", err)
	}
	dest, err := output.Parse(c.String("output"))
	if err != nil {
		return nil, usageErr("%v", err) // it names the output
	}
	if err := refuseOwn(c, own, dest); err != nil {
		return nil, err
	}
	if format.Document {
		if stream {
			return nil, usageErr("--format %s writes one document per run: use it with fim check", format.Name)
		}
		if dest.Lines() {
			return nil, usageErr("--format %s is one document: syslog would split it into lines", format.Name)
		}
	}
	var color bool
	switch when := c.String("color"); when {
	case "auto":
		color = dest.Stdout() && colorful()
	case "always":
		color = true
	case "never":
	default:
		return nil, usageErr("--color: want auto, always or never, not %q", when)
	}
	opt := output.Options{
		ContentType: format.ContentType,
		Version:     version(),
		Hostname:    report.LocalHost().Name,
		// Every message names the output or the spool it is about.
		Logf: logf,
	}
	if err := deliveryOptions(c, dest, &opt); err != nil {
		return nil, err
	}
	sink, err := dest.Open(opt)
	if err != nil {
		return nil, usageErr("%v", err) // it names the output
	}
	r := &reporter{render: format.Render, sink: sink, host: report.LocalHost(), sha256: format.SHA256}
	r.color = color
	if c.Bool("redact") {
		r.redact = roots
		redactedRoots.Store(&roots)
	}
	r.all = c.Bool("show-explained")
	if s := c.String("min-severity"); s != "" {
		if r.min, err = diff.ParseSeverity(s); err != nil {
			return nil, usageErr("--min-severity: %v", err)
		}
		// The baseline never gets ahead of what was reported: an update would take
		// in the changes the filter keeps out of the report.
		if r.min > diff.SeverityUnset && updating(c) {
			return nil, usageErr("--min-severity leaves changes unreported that --update would take into the baseline: use one or the other")
		}
	}
	return r, nil
}

// ownFiles lists the files a command keeps for itself with the baselines dbs, from
// its --spool, --generation-file, --sign and --verify.
func ownFiles(c *cli.Context, dbs ...string) check.Own {
	return check.Own{DBs: dbs, Spool: c.String("spool"), GenerationFile: c.String("generation-file"),
		SignKey: c.String("sign"), VerifyKey: c.String("verify")}
}

// refuseOwn refuses a --metrics-file, or a file that dest (the --output) names, that
// is one of the command's own files, before anything is written.
func refuseOwn(c *cli.Context, own check.Own, dest output.Spec) error {
	if err := own.Refuse("metrics-file", c.String("metrics-file")); err != nil {
		return err
	}
	return own.Refuse("output", dest.File())
}

// deliveryOptions reads the deliveryFlags into opt; they need an http(s) dest.
func deliveryOptions(c *cli.Context, dest output.Spec, opt *output.Options) error {
	for _, name := range []string{"header", "ca", "cert", "key", "gzip"} {
		if c.IsSet(name) && !dest.HTTP() {
			return usageErr("--%s is for an http:// or https:// --output", name)
		}
	}
	for i, h := range c.StringSlice("header") {
		name, value, err := output.ParseHeader(h)
		if err != nil {
			return usageErr("--header (the %s): %v", ordinal(i+1), err)
		}
		if opt.Header == nil {
			opt.Header = http.Header{}
		}
		opt.Header.Add(name, value)
	}
	tls, err := output.LoadTLS(c.String("ca"), c.String("cert"), c.String("key"))
	if err != nil {
		return usageErr("%v", err)
	}
	opt.TLS, opt.Gzip = tls, c.Bool("gzip")
	return nil
}

// ordinal writes n as "1st", "2nd", "3rd", "4th", …
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprint(n) + suffix
}

// info returns the report.Info of a report rendered now.
func (r *reporter) info(stream bool, warned int) report.Info {
	return report.Info{Time: time.Now().UTC(), Host: r.host, Baseline: r.base, Color: r.color, Stream: stream, Warnings: warned,
		ShowExplained: r.all, Version: version(), Root: r.root, Names: r.ownerNames()}
}

// ownerNames returns the names of the users and groups of the tree under r.root.
func (r *reporter) ownerNames() *idname.Names {
	if r.names == nil {
		r.names = idname.New(r.root)
	}
	return r.names
}

// shown returns the events of at least the --min-severity: those a report shows and
// whose kinds set the exit bits.
func (r *reporter) shown(events []diff.Event) []diff.Event { return check.AtLeast(events, r.min) }

// emit renders the events of at least the --min-severity and delivers them as one
// batch.
func (r *reporter) emit(events []diff.Event, info report.Info) error {
	events = r.shown(events)
	if r.sha256 {
		if err := check.AddSHA256(r.root, events); err != nil {
			return fmt.Errorf("render report: %w", err)
		}
	}
	if r.redact != nil {
		events = report.Redact(events, r.redact)
	}
	var buf bytes.Buffer
	if err := r.render(&buf, events, info); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := r.sink.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report not delivered: %w", err)
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
