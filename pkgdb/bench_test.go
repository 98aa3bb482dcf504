package pkgdb

import (
	"os"
	"testing"
)

// BenchmarkOpenHost loads this host's package databases.
func BenchmarkOpenHost(b *testing.B) {
	if _, err := os.Stat("/" + dpkgStatus); err != nil {
		b.Skip("no dpkg database on this host")
	}
	b.ReportAllocs()
	for b.Loop() {
		db, err := Open("/")
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkVerdictHost gives the verdict of every file with a digest of this host's
// first 20 packages.
func BenchmarkVerdictHost(b *testing.B) {
	if _, err := os.Stat("/" + dpkgStatus); err != nil {
		b.Skip("no dpkg database on this host")
	}
	db, err := Open("/")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var files []*File
	for _, p := range db.Packages()[:min(20, len(db.Packages()))] {
		for _, f := range db.Files(p) {
			if f.Digest != nil {
				files = append(files, f)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			db.Verdict(f.Path, db.Opener(f.Path))
		}
	}
	b.ReportMetric(float64(len(files)), "files")
}
