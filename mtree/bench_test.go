package mtree

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"testing"

	"fim/walk"
)

// benchEntries are n entries as a baseline holds them: directories of 100 hashed files.
func benchEntries(n int) []*walk.Entry {
	out := []*walk.Entry{{Path: "/", Type: walk.TypeDir, Mode: 0o755, Nlink: 2}}
	var dir string
	for i := 0; len(out) < n; i++ {
		if i%100 == 0 {
			dir = "/usr/share/d" + strconv.Itoa(i/100)
			if i == 0 {
				out = append(out, &walk.Entry{Path: "/usr", Type: walk.TypeDir, Mode: 0o755, Nlink: 2},
					&walk.Entry{Path: "/usr/share", Type: walk.TypeDir, Mode: 0o755, Nlink: 2})
			}
			out = append(out, &walk.Entry{Path: dir, Type: walk.TypeDir, Mode: 0o755, Nlink: 2, Size: 4096, Mtime: 1700000000123456789})
		}
		e := &walk.Entry{Path: dir + "/file " + strconv.Itoa(i) + ".txt", Type: walk.TypeFile, Mode: 0o644, Nlink: 1,
			Size: int64(i), Mtime: 1700000000123456789, Flags: walk.FlagHashed}
		e.Hash[0], e.Hash[1] = byte(i), byte(i>>8)
		out = append(out, e)
	}
	// Sort as a baseline iterates: the directory names above do not sort numerically.
	slices.SortFunc(out, func(a, b *walk.Entry) int { return walk.ComparePaths(a.Path, b.Path) })
	return out
}

func BenchmarkWrite(b *testing.B) {
	entries := benchEntries(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, iter(entries), WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
}

func BenchmarkParseEntries(b *testing.B) {
	var spec bytes.Buffer
	entries := benchEntries(100_000)
	if err := Write(&spec, iter(entries), WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(spec.Len()))
	for b.Loop() {
		s, err := Parse(bytes.NewReader(spec.Bytes()), "spec")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := Entries(s, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
}
