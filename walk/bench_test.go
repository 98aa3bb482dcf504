package walk

import (
	"context"
	"fim/internal/fstest"
	"fim/tree"
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
			tr := fstest.Tree{}
			for i := range 5000 {
				tr[fmt.Sprintf("d%02d/f%04d", i%dirs, i)] = fstest.Blob(100+i%4000, byte(i))
			}
			root := fstest.Make(b, tr)
			w := &Walker{Roots: []Root{{Path: root}}}
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, err := range w.Walk(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					n++
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
			if err := os.WriteFile(p, []byte(fstest.BlobData(size, 1)), 0o644); err != nil {
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
				if _, _, _, err := hb.hashFD(fd, 0, int64(size), -1, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookAgain looks at 500 small files of 10 directories again, as a watcher
// does with a batch of notified paths: one WalkPath each, or one WalkPaths for all.
func BenchmarkLookAgain(b *testing.B) {
	tr := fstest.Tree{}
	var paths []string
	for i := range 500 {
		name := fmt.Sprintf("d%d/f%03d", i/50, i)
		tr[name] = fstest.Blob(64, byte(i))
		paths = append(paths, name)
	}
	root := fstest.Make(b, tr)
	for i := range paths {
		paths[i] = root + "/" + paths[i]
	}
	w := &Walker{Roots: []Root{{Path: root}}}
	for _, batched := range []bool{false, true} {
		b.Run(fmt.Sprintf("batched=%v", batched), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				count := func(s tree.Seq) {
					for _, err := range s {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
				}
				if batched {
					count(w.WalkPaths(context.Background(), paths))
				} else {
					for _, p := range paths {
						count(w.WalkPath(context.Background(), p, false))
					}
				}
				if n != len(paths) {
					b.Fatalf("%d entries", n)
				}
			}
		})
	}
}
