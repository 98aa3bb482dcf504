// Package metrics owns fim's Prometheus figures: the registry of a watch, served over
// HTTP with its health (/metrics, /healthz), and the figures of one check or baseline
// run, written to a node_exporter textfile. Each lives in a registry of its own, never
// the process-wide default one. The packages that know the figures are told through
// small interfaces of their own (watch.Metrics, output.DeliveryMetrics), which *Watch
// implements; nothing here keeps a count those packages do not hand it.
package metrics

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"fim/diff"
)

// Build names the fim that reports: its version and commit, as fim --version says.
type Build struct{ Version, Commit string }

// buildInfo registers fim_build_info.
func buildInfo(reg prometheus.Registerer, b Build) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "fim_build_info",
		Help:        "Always 1; its labels name the fim that reports (version and commit as fim --version says).",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": runtime.Version()},
	})
	g.Set(1)
	reg.MustRegister(g)
}

// Watch is the registry of a running watch. It implements watch.Metrics and
// output.DeliveryMetrics; Gather and Serve read it.
type Watch struct {
	reg *prometheus.Registry

	events         *prometheus.CounterVec
	byKey          map[eventKey]prometheus.Counter // the series of events, looked up once
	lastEvent      prometheus.Gauge
	overflows      *prometheus.CounterVec
	rescans        *prometheus.HistogramVec
	rescanFailures *prometheus.CounterVec
	lastRescan     prometheus.Gauge
	entries        prometheus.Gauge
	pending        prometheus.Gauge
	notifications  prometheus.Gauge
	delivered      prometheus.Counter
	failures       prometheus.Counter
	retries        prometheus.Counter

	mu      sync.Mutex
	marks   func() map[string]int
	backlog func() (uint64, int64)
}

// NewWatch makes the registry of a watch, with the Go runtime's and the process's
// collectors and fim_build_info.
func NewWatch(b Build) *Watch {
	m := &Watch{reg: prometheus.NewRegistry(), byKey: map[eventKey]prometheus.Counter{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo(m.reg, b)
	f := factory{m.reg}
	m.events = f.counterVec("fim_events_total", "Events handed on for delivery, by kind (create, change, remove, chmod, rename, move) and source (fanotify, fsnotify, periodic, rescan, start).", "kind", "source")
	m.lastEvent = f.gauge("fim_last_event_timestamp_seconds", "When the last event was handed on for delivery, in seconds since the Unix epoch (0: none yet).")
	m.overflows = f.counterVec("fim_watch_overflows_total", "Times a backend lost events (its kernel queue overflowed, or its record stream could not be read) and a rescan was run instead.", "backend")
	m.rescans = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fim_rescan_duration_seconds",
		Help:    "How long each comparison of everything with the filesystem took, by source: start (the baseline compared when watch starts), periodic (--interval) or rescan (after an overflow or a full delivery backlog).",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10ms to about 43 minutes
	}, []string{"source"})
	m.reg.MustRegister(m.rescans)
	m.rescanFailures = f.counterVec("fim_rescan_failures_total", "Rescans that ended in an error (or were stopped), by source.", "source")
	m.lastRescan = f.gauge("fim_last_rescan_success_timestamp_seconds", "When the last rescan that succeeded ended, in seconds since the Unix epoch (0: none yet).")
	m.entries = f.gauge("fim_baseline_entries", "Entries of the state the watch compares with, as of its last full walk (the first walk, or the last rescan).")
	m.pending = f.gauge("fim_watch_pending_events", "Events looked at and waiting to be handed on in a batch (--batch-size, --batch-timeout).")
	m.notifications = f.gauge("fim_watch_queued_notifications", "Notifications of the backends waiting to be looked at.")
	m.delivered = f.counter("fim_delivery_batches_total", "Batches the destinations of --output took from the spool.")
	m.failures = f.counter("fim_delivery_failures_total", "Attempts to deliver a batch that failed; the batch stays in the spool and is sent again.")
	m.retries = f.counter("fim_delivery_retries_total", "Attempts that sent a batch again after a failure.")
	for _, k := range diff.Kinds() {
		for _, s := range []string{"fanotify", "fsnotify", "periodic", "rescan", "start"} {
			m.events.WithLabelValues(k.String(), s) // every series from the start, at 0
		}
	}
	m.reg.MustRegister(&funcs{m})
	return m
}

// Registry returns the registry, for Serve and the tests.
func (m *Watch) Registry() *prometheus.Registry { return m.reg }

// ReadMarks has fim_watch_marks read from marks (backend → marks in force) at each
// scrape, and fim_spool_batches and fim_spool_bytes from backlog.
func (m *Watch) ReadMarks(marks func() map[string]int, backlog func() (uint64, int64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks, m.backlog = marks, backlog
}

type eventKey struct {
	kind   diff.Kind
	source string
}

// Handed implements watch.Metrics. It is called from the watch's loop alone.
func (m *Watch) Handed(events []diff.Event) {
	for i := range events {
		k := eventKey{events[i].Kind, events[i].Source}
		c := m.byKey[k]
		if c == nil {
			c = m.events.WithLabelValues(k.kind.String(), k.source)
			m.byKey[k] = c
		}
		c.Inc()
	}
	if len(events) > 0 {
		m.lastEvent.Set(float64(time.Now().UnixNano()) / 1e9)
	}
}

// Overflow implements watch.Metrics.
func (m *Watch) Overflow(source string) { m.overflows.WithLabelValues(source).Inc() }

// Rescanned implements watch.Metrics.
func (m *Watch) Rescanned(source string, took time.Duration, err error) {
	m.rescans.WithLabelValues(source).Observe(took.Seconds())
	if err != nil {
		m.rescanFailures.WithLabelValues(source).Inc()
		return
	}
	m.lastRescan.Set(float64(time.Now().UnixNano()) / 1e9)
}

// Entries implements watch.Metrics.
func (m *Watch) Entries(n int) { m.entries.Set(float64(n)) }

// Queued implements watch.Metrics.
func (m *Watch) Queued(pending, notifications int) {
	m.pending.Set(float64(pending))
	m.notifications.Set(float64(notifications))
}

// Attempted implements output.DeliveryMetrics.
func (m *Watch) Attempted(retry bool, err error) {
	if retry {
		m.retries.Inc()
	}
	if err != nil {
		m.failures.Inc()
	} else {
		m.delivered.Inc()
	}
}

// funcs collects the figures read when scraped: the marks and the spool's backlog.
type funcs struct{ m *Watch }

var (
	marksDesc        = prometheus.NewDesc("fim_watch_marks", "Marks in force, by backend: for fanotify the mounts of the filesystems marked, for fsnotify the directories with an inotify watch.", []string{"backend"}, nil)
	spoolBatchesDesc = prometheus.NewDesc("fim_spool_batches", "Batches in the spool waiting for delivery.", nil, nil)
	spoolBytesDesc   = prometheus.NewDesc("fim_spool_bytes", "Bytes the batches waiting in the spool take.", nil, nil)
)

func (f *funcs) Describe(ch chan<- *prometheus.Desc) {
	ch <- marksDesc
	ch <- spoolBatchesDesc
	ch <- spoolBytesDesc
}

func (f *funcs) Collect(ch chan<- prometheus.Metric) {
	f.m.mu.Lock()
	marks, backlog := f.m.marks, f.m.backlog
	f.m.mu.Unlock()
	var by map[string]int
	if marks != nil {
		by = marks()
	}
	for _, b := range []string{"fanotify", "fsnotify"} {
		ch <- prometheus.MustNewConstMetric(marksDesc, prometheus.GaugeValue, float64(by[b]), b)
	}
	var n uint64
	var size int64
	if backlog != nil {
		n, size = backlog()
	}
	ch <- prometheus.MustNewConstMetric(spoolBatchesDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(spoolBytesDesc, prometheus.GaugeValue, float64(size))
}

// factory makes metrics registered with reg.
type factory struct{ reg prometheus.Registerer }

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}
