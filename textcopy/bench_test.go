package textcopy

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRedactEtc redacts every world-readable text file of at most 64 KiB under
// /etc, as a baseline of /etc with content_diff does.
func BenchmarkRedactEtc(b *testing.B) {
	var texts [][]byte
	var size int64
	filepath.WalkDir("/etc", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil && len(data) <= DefaultMax && IsText(data) {
			texts = append(texts, data)
			size += int64(len(data))
		}
		return nil
	})
	if len(texts) == 0 {
		b.Skip("no text files under /etc")
	}
	key := NewKey()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range texts {
			Redact(t, &key)
		}
	}
}
