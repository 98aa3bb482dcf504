package mtree

import (
	"bytes"
	"fim/tree"
	"io"
	"slices"
	"strconv"
	"testing"
)

// benchEntries are n entries as a baseline holds them: directories of 100 hashed files.
func benchEntries(n int) []*tree.Entry {
	out := []*tree.Entry{{Path: "/", Type: tree.TypeDir, Mode: 0o755, Nlink: 2}}
	var dir string
	for i := 0; len(out) < n; i++ {
		if i%100 == 0 {
			dir = "/usr/share/d" + strconv.Itoa(i/100)
			if i == 0 {
				out = append(out, &tree.Entry{Path: "/usr", Type: tree.TypeDir, Mode: 0o755, Nlink: 2},
					&tree.Entry{Path: "/usr/share", Type: tree.TypeDir, Mode: 0o755, Nlink: 2})
			}
			out = append(out, &tree.Entry{Path: dir, Type: tree.TypeDir, Mode: 0o755, Nlink: 2, Size: 4096, Mtime: 1700000000123456789})
		}
		e := &tree.Entry{Path: dir + "/file " + strconv.Itoa(i) + ".txt", Type: tree.TypeFile, Mode: 0o644, Nlink: 1,
			Size: int64(i), Mtime: 1700000000123456789, Flags: tree.FlagHashed}
		e.Hash[0], e.Hash[1] = byte(i), byte(i>>8)
		out = append(out, e)
	}
	// Sort as a baseline iterates: the directory names above do not sort numerically.
	slices.SortFunc(out, func(a, b *tree.Entry) int { return tree.ComparePaths(a.Path, b.Path) })
	return out
}

func BenchmarkWrite(b *testing.B) {
	entries := benchEntries(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, tree.Entries(entries), WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
}

func BenchmarkParseEntries(b *testing.B) {
	var spec bytes.Buffer
	entries := benchEntries(100_000)
	if err := Write(&spec, tree.Entries(entries), WriteOptions{}); err != nil {
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
