package metrics

import (
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"fim/diff"
	"fim/internal/atomicfile"
)

// Run is what one check or baseline reports: the figures of its textfile.
type Run struct {
	Command string        // check or baseline
	Took    time.Duration // from start to the report (check) or the baseline written
	Entries uint64        // of the baseline checked, or written
	Events  []diff.Event  // what check reported (none for baseline)
	Warns   int           // warnings printed
}

// registry returns the figures of r in a registry of their own, each labelled with
// the command, so that the files of check and baseline sit side by side in
// node_exporter's textfile directory.
func (r Run) registry(b Build, now time.Time) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"command": r.Command}, reg)
	buildInfo(wrapped, b)
	f := factory{wrapped}
	f.gauge("fim_run_timestamp_seconds", "When the run ended, in seconds since the Unix epoch. The file is written only by a run that ends without error: its age is the age of the last good run.").Set(float64(now.UnixNano()) / 1e9)
	f.gauge("fim_run_duration_seconds", "How long the run took.").Set(r.Took.Seconds())
	f.gauge("fim_baseline_entries", "Entries of the baseline checked (check) or written (baseline).").Set(float64(r.Entries))
	f.gauge("fim_run_warnings", "Warnings the run printed (paths it could not read, and the like).").Set(float64(r.Warns))
	if r.Command == "check" {
		events := f.gaugeVec("fim_run_events", "Events the check reported, by kind.", "kind")
		for _, k := range diff.Kinds() {
			events.WithLabelValues(k.String())
		}
		for i := range r.Events {
			events.WithLabelValues(r.Events[i].Kind.String()).Inc()
		}
	}
	return reg
}

// WriteFile writes r's figures to path in Prometheus's text format, atomically
// (atomicfile.Write: the temporary file is named with a dot first and does not end in
// .prom, so node_exporter's textfile collector does not read it). A reader sees the old
// file or the new one, never a part.
func WriteFile(path string, b Build, r Run) error {
	mfs, err := r.registry(b, time.Now()).Gather()
	if err == nil {
		err = atomicfile.Write(path, 0o644, func(w io.Writer) error { // node_exporter runs as another user
			for _, mf := range mfs {
				if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("metrics file %s: %w", path, err)
	}
	return nil
}
