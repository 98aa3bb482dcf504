package metrics

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"fim/diff"
)

// BenchmarkScrape measures one scrape of a watch's /metrics, as Prometheus makes it
// (the Go and process collectors included), and of /healthz: the CPU --listen costs
// per scrape interval.
func BenchmarkScrape(b *testing.B) {
	m := NewWatch(build)
	m.Handed([]diff.Event{{Kind: diff.Create, Source: "fanotify"}})
	m.Rescanned("periodic", time.Second, nil)
	m.ReadMarks(func() map[string]int { return map[string]int{"fanotify": 1} }, func() (uint64, int64) { return 0, 0 })
	h := Handler(m, func() error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range []string{"/metrics", "/healthz"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
			io.Copy(io.Discard, rec.Body)
		}
	}
}

// BenchmarkHanded measures what counting a batch of 500 events costs the watch's loop.
func BenchmarkHanded(b *testing.B) {
	m := NewWatch(build)
	events := make([]diff.Event, 500)
	for i := range events {
		events[i] = diff.Event{Kind: diff.Kinds()[i%6], Source: "fanotify"}
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Handed(events)
		m.Queued(len(events), 0)
	}
}
