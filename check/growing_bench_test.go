package check

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"

	"fim/baseline"
	"fim/config"
)

// rchar is the bytes this process has read so far (/proc/self/io).
func rchar(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("rchar: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no rchar in /proc/self/io")
	return 0
}

// BenchmarkGrowingCheck compares a check of a 100 MiB log that grew by 1 MiB under a
// growing path with the same check without the setting: the beginning is checked in
// the read that hashes the file, so both read the file once (read-B/op).
func BenchmarkGrowingCheck(b *testing.B) {
	for _, growing := range []bool{false, true} {
		b.Run("growing="+strconv.FormatBool(growing), func(b *testing.B) {
			dir := b.TempDir()
			f := &fixture{dir: dir, tree: dir + "/t", db: dir + "/fim.db"}
			must(b, os.MkdirAll(f.tree+"/log", 0o755))
			log := f.tree + "/log/app.log"
			must(b, os.WriteFile(log, bytes.Repeat([]byte("a log line of some length\n"), 100<<20/26), 0o644))
			f.pol = &config.Policy{Rules: []config.Rule{{Path: f.tree + "/log", Growing: growing}}}
			var err error
			f.comp, err = f.pol.Compile()
			must(b, err)
			f.baseline(b)
			fh, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
			must(b, err)
			_, err = fh.Write(bytes.Repeat([]byte("another line, later on...\n"), 1<<20/26))
			must(b, err)
			must(b, fh.Close())
			r, err := baseline.Open(f.db)
			must(b, err)
			defer r.Close()
			_, comp, err := Policy(r)
			must(b, err)
			b.ReportAllocs()
			b.ResetTimer()
			start := rchar(b)
			for b.Loop() {
				events, err := Compare(context.Background(), Options{Baseline: r, Compiled: comp, DB: f.db})
				must(b, err)
				if want := map[bool]int{false: 1, true: 0}[growing]; len(events) != want {
					b.Fatalf("%d events, want %d", len(events), want)
				}
			}
			b.ReportMetric(float64(rchar(b)-start)/float64(b.N), "read-B/op")
		})
	}
}
