package provenance

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadSnapshotHost reads the snapshot of this host's packages under /usr and
// /etc, as a check does before its first verdict.
func BenchmarkReadSnapshotHost(b *testing.B) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		b.Skip("no dpkg database on this host")
	}
	file := filepath.Join(b.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, "/", []string{"/usr", "/etc"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadSnapshot(file, digest); err != nil {
			b.Fatal(err)
		}
	}
}
