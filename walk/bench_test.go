package walk

import (
	"context"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWalk walks 5000 small files, hashing them all: in 50 directories, and in
// one (whose listing must not hash them all alone while the other workers wait).
func BenchmarkWalk(b *testing.B) {
	for _, dirs := range []int{50, 1} {
		b.Run(fmt.Sprintf("dirs=%d", dirs), func(b *testing.B) {
			tr := tree{}
			for i := range 5000 {
				tr[fmt.Sprintf("d%02d/f%04d", i%dirs, i)] = blob(100+i%4000, byte(i))
			}
			root := makeTree(b, tr)
			w := &Walker{Roots: []Root{{Path: root}}}
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if err := w.Walk(context.Background(), func(*Entry) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != 1+dirs+5000 {
					b.Fatalf("%d entries", n)
				}
			}
		})
	}
}

// BenchmarkHash hashes one file from an open descriptor, as a worker does.
func BenchmarkHash(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			p := b.TempDir() + "/f"
			if err := os.WriteFile(p, []byte(blobData(size, 1)), 0o644); err != nil {
				b.Fatal(err)
			}
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			hb := newHashBuf()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unix.Seek(fd, 0, 0); err != nil {
					b.Fatal(err)
				}
				if _, _, err := hb.hashFD(fd, int64(size), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
