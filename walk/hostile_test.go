package walk

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"
)

// TestSparse: a sparse file of 1 TiB apparent size is recorded without being read when
// it is over the size cap; a sparse file within the cap is hashed as the zeros it reads.
func TestSparse(t *testing.T) {
	root := makeTree(t, tree{})
	huge, within := filepath.Join(root, "huge"), filepath.Join(root, "within")
	for p, size := range map[string]int64{huge: 1 << 40, within: 64 << 20} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Skipf("no sparse files here: %v", err)
		}
		f.Close()
	}
	r := walkDir(t, root, Options{MaxFileSize: 1 << 30})
	if e := r.get(t, "huge"); e.Hashed() || e.Flags&FlagTooLarge == 0 || e.Size != 1<<40 {
		t.Errorf("huge: flags %b size %d, want too large and not hashed", e.Flags, e.Size)
	}
	h := blake3.New()
	zeros := make([]byte, 1<<20)
	for range 64 {
		h.Write(zeros)
	}
	var want [32]byte
	h.Sum(want[:0])
	if e := r.get(t, "within"); !e.Hashed() || e.Hash != want {
		t.Errorf("within: hashed %v, hash %x; want the hash of 64 MiB of zeros", e.Hashed(), e.Hash[:4])
	}
}

// TestManyEntries: 100,000 entries in one directory are all recorded, in order.
func TestManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("slow with -short")
	}
	root := makeTree(t, tree{})
	const n = 100000
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%06d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := walkDir(t, root, Options{})
	if len(r.entries) != n+1 {
		t.Fatalf("%d entries, want %d", len(r.entries), n+1)
	}
	if len(r.warns) != 0 {
		t.Errorf("warnings: %v", r.warns[0].err)
	}
}
