package main

import (
	"slices"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/internal/terminal"
	"fim/report"
)

var reportFormatFlag = &cli.StringFlag{Name: "format", Value: "text", Usage: "report format: " + report.Help()}
var outputFlag = &cli.StringFlag{Name: "output", Usage: "send the report to `DEST`: FILE (appended, fsync'd), -, syslog, syslog:///SOCKET, " +
	"udp://HOST:PORT or tcp://HOST:PORT (RFC 5424; ?facility=NAME, ?max=BYTES), or http(s)://URL (JSON POST with retries)"}

// reportFlags go with --output: every command that takes it takes them (withReportFlags).
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

// withReportFlags adds the reportFlags to cmd if it takes --output, and returns it.
func withReportFlags(cmd *cli.Command) *cli.Command {
	if slices.Contains(cmd.Flags, cli.Flag(outputFlag)) {
		cmd.Flags = append(cmd.Flags, reportFlags...)
	}
	return cmd
}

var redactFlag = &cli.BoolFlag{Name: "redact", Usage: "report a path below a configured root as ROOT/[redacted], and drop link targets, xattr values, and process arguments and working directories"}

// newReporter reads --format, --output, --redact and the reportFlags into a
// check.Reporter. stream says the events come in batches (fim watch); roots are the
// configured roots that --redact keeps; own, the files of the command that a file
// --output or --metrics-file must not be.
func newReporter(c *cli.Context, stream bool, roots []string, own check.Own) (*check.Reporter, error) {
	o := reporterOptions(c, stream, own)
	if c.Bool("redact") {
		o.Redact = roots
	}
	r, err := check.NewReporter(o)
	if err != nil {
		return nil, err
	}
	if o.Redact != nil {
		redacting(o.Redact)
	}
	return r, nil
}

// reporterOptions reads --format, --output and the reportFlags (see newReporter).
func reporterOptions(c *cli.Context, stream bool, own check.Own) check.ReporterOptions {
	o := check.ReporterOptions{Format: c.String("format"), Output: c.String("output"), Color: c.String("color"), Terminal: terminal.Colorful(),
		Stream: stream, MinSeverity: c.String("min-severity"), Update: updating(c), Header: c.StringSlice("header"),
		CA: c.String("ca"), Cert: c.String("cert"), Key: c.String("key"), Gzip: c.Bool("gzip"), Version: version(), Logf: logf,
		Own: own, MetricsFile: c.String("metrics-file"), ShowExplained: c.Bool("show-explained")}
	for _, name := range []string{"header", "ca", "cert", "key", "gzip"} {
		if c.IsSet(name) {
			o.HTTPSet = append(o.HTTPSet, name)
		}
	}
	return o
}

// ownFiles lists the files a command keeps for itself with the baselines dbs, from
// its --spool, --generation-file, --sign and --verify.
func ownFiles(c *cli.Context, dbs ...string) check.Own {
	return check.Own{DBs: dbs, Spool: c.String("spool"), GenerationFile: c.String("generation-file"),
		SignKey: c.String("sign"), VerifyKey: c.String("verify")}
}
