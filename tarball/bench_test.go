package tarball

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkRead reads an archive of 20,000 small files in 100 directories, hashing them
// all, and reports the memory left in use per entry once the entries are returned.
func BenchmarkRead(b *testing.B) {
	const dirs, files = 100, 200
	ms := []member{dir("./")}
	for d := range dirs {
		ms = append(ms, dir(fmt.Sprintf("usr/lib/d%03d/", d)))
		for f := range files {
			ms = append(ms, file(fmt.Sprintf("usr/lib/d%03d/file-%04d.so", d, f), string(bytes.Repeat([]byte{byte(f)}, 100+(d*files+f)%4000))))
		}
	}
	data := archive(b, ms...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var live float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		es, err := Read(context.Background(), bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if want := 1 + 2 + dirs*(1+files); len(es) != want {
			b.Fatalf("%d entries, want %d", len(es), want)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		live = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(es))
		runtime.KeepAlive(es)
	}
	b.ReportMetric(live, "live-B/entry")
}
