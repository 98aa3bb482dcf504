package check

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"fim/diff"
	"fim/idname"
	"fim/output"
	"fim/report"
	"fim/watch"
)

// ReporterOptions say how a command reports: the values of its --format, --output,
// --color, --redact, --min-severity and the flags of an http(s) output.
type ReporterOptions struct {
	Format string // a name report.Lookup knows
	Output string // an output.Parse spec; "" for standard output
	Color  string // auto, always or never
	// Terminal says standard output is a terminal that wants colour, which Color
	// auto colours.
	Terminal bool
	// Stream says the events come in batches (fim watch), which a whole-document
	// format cannot carry.
	Stream bool
	// Redact, if set, are the roots below which paths are redacted.
	Redact []string
	// MinSeverity is the least severity shown ("" for all); Update says the baseline
	// takes in what was found, which it may not do with changes left unreported.
	MinSeverity string
	Update      bool
	// HTTPSet names the http(s) options given (header, ca, cert, key, gzip): each
	// needs an http(s) Output.
	HTTPSet       []string
	Header        []string // 'NAME: VALUE'
	CA, Cert, Key string   // PEM files
	Gzip          bool
	Version       string
	Logf          func(format string, args ...any)
	Own           Own    // the files of the command, which Output may not name
	MetricsFile   string // refused as Output is, when it is one of Own
	ShowExplained bool
	Root          string          // the directory the tree is read under; "" for none
	Baseline      report.Baseline // the baseline compared with
}

// Reporter renders events in a format and delivers them to a sink, after keeping the
// events of at least its least severity, adding SHA-256 digests when the format
// carries them, and redacting paths: the one way check, accept, diff and watch report.
type Reporter struct {
	Format *report.Format
	Sink   output.Sink
	Min    diff.Severity // events below it are neither shown nor counted
	Redact []string      // the roots below which paths are redacted; nil: none
	Root   string        // the directory the tree is read under ("": /)
	// SHA256 says the files of the events get their SHA-256 before they are rendered:
	// the format carries it (Format.SHA256) and the files are at hand under Root.
	SHA256        bool
	Color         bool
	ShowExplained bool
	Host          report.Host
	Base          report.Baseline
	Version       string
	names         *idname.Names
}

// NewReporter checks o and opens its output. Every option that cannot be applied
// gives an *OptionError naming the flag.
func NewReporter(o ReporterOptions) (*Reporter, error) {
	format, err := report.Lookup(o.Format)
	if err != nil {
		return nil, optionErr("--format: %v", err)
	}
	dest, err := output.Parse(o.Output)
	if err != nil {
		return nil, optionErr("%v", err) // it names the output
	}
	if err := o.Own.Refuse("metrics-file", o.MetricsFile); err != nil {
		return nil, err
	}
	if err := o.Own.Refuse("output", dest.File()); err != nil {
		return nil, err
	}
	if format.Document {
		if o.Stream {
			return nil, optionErr("--format %s writes one document per run: use it with fim check", format.Name)
		}
		if dest.Lines() {
			return nil, optionErr("--format %s is one document: syslog would split it into lines", format.Name)
		}
	}
	r := &Reporter{Format: format, Host: report.LocalHost(), Version: o.Version, ShowExplained: o.ShowExplained,
		Root: o.Root, Base: o.Baseline, Redact: o.Redact, SHA256: format.SHA256}
	switch o.Color {
	case "auto":
		r.Color = dest.Stdout() && o.Terminal
	case "always":
		r.Color = true
	case "never":
	default:
		return nil, optionErr("--color: want auto, always or never, not %q", o.Color)
	}
	opt := output.Options{ContentType: format.ContentType, Version: o.Version, Hostname: r.Host.Name,
		Logf: o.Logf} // every message names the output or the spool it is about
	if err := o.delivery(dest, &opt); err != nil {
		return nil, err
	}
	if r.Sink, err = dest.Open(opt); err != nil {
		return nil, optionErr("%v", err) // it names the output
	}
	if o.MinSeverity != "" {
		if r.Min, err = diff.ParseSeverity(o.MinSeverity); err == nil && r.Min > diff.SeverityUnset && o.Update {
			// The baseline never gets ahead of what was reported: an update would take
			// in the changes the filter keeps out of the report.
			err = optionErr("--min-severity leaves changes unreported that --update would take into the baseline: use one or the other")
		} else if err != nil {
			err = optionErr("--min-severity: %v", err)
		}
		if err != nil {
			r.Sink.Close()
			return nil, err
		}
	}
	return r, nil
}

// delivery sets the options of an http(s) dest in opt.
func (o *ReporterOptions) delivery(dest output.Spec, opt *output.Options) error {
	for _, name := range o.HTTPSet {
		if !dest.HTTP() {
			return optionErr("--%s is for an http:// or https:// --output", name)
		}
	}
	for i, h := range o.Header {
		name, value, err := output.ParseHeader(h)
		if err != nil {
			return optionErr("--header (the %s): %v", ordinal(i+1), err)
		}
		if opt.Header == nil {
			opt.Header = http.Header{}
		}
		opt.Header.Add(name, value)
	}
	tls, err := output.LoadTLS(o.CA, o.Cert, o.Key)
	if err != nil {
		return optionErr("%v", err)
	}
	opt.TLS, opt.Gzip = tls, o.Gzip
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

// Info returns the report.Info of a report rendered now, of a stream of batches or
// not, after warned warnings.
func (r *Reporter) Info(stream bool, warned int) report.Info {
	return report.Info{Time: time.Now().UTC(), Host: r.Host, Baseline: r.Base, Color: r.Color, Stream: stream, Warnings: warned,
		ShowExplained: r.ShowExplained, Version: r.Version, Root: r.Root, Names: r.Names()}
}

// Names returns the names of the users and groups of the tree under Root.
func (r *Reporter) Names() *idname.Names {
	if r.names == nil {
		r.names = idname.New(r.Root)
	}
	return r.names
}

// Shown returns the events of at least Min: those a report shows and whose kinds set
// the exit bits.
func (r *Reporter) Shown(events []diff.Event) []diff.Event { return AtLeast(events, r.Min) }

// Emit renders the events of at least Min and delivers them as one batch.
func (r *Reporter) Emit(events []diff.Event, info report.Info) error {
	events = r.Shown(events)
	if r.SHA256 {
		if err := AddSHA256(r.Root, events); err != nil {
			return fmt.Errorf("render report: %w", err)
		}
	}
	if r.Redact != nil {
		events = report.Redact(events, r.Redact)
	}
	var buf bytes.Buffer
	if err := r.Format.Render(&buf, events, info); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := r.Sink.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report not delivered: %w", err)
	}
	return nil
}

// EmitBatch emits a batch of a watch (what Run reports), leaving out what is below
// Min. A spool that is full (output.ErrSpoolFull) is watch.ErrFull too, which
// the watcher answers with a rescan once the spool is delivered.
func (r *Reporter) EmitBatch(events []diff.Event) error {
	if events = r.Shown(events); len(events) == 0 {
		return nil // nothing of --min-severity in this batch
	}
	err := r.Emit(events, r.Info(true, 0))
	if errors.Is(err, output.ErrSpoolFull) {
		return fmt.Errorf("%w: %w", watch.ErrFull, err)
	}
	return err
}

// Close closes the sink.
func (r *Reporter) Close() error { return r.Sink.Close() }
