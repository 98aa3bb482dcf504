package walk

import (
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"testing"
	"time"
)

// TestReadLimit walks files totalling 3 MiB, in files small and large, with four
// workers sharing a limit of 2 MiB/s: the walk takes at least as long as the limit
// allows for what it read beyond the bucket's one buffer, so the workers do not
// each get the rate; every file is still hashed.
func TestReadLimit(t *testing.T) {
	root := t.TempDir()
	tr := fstest.Tree{"big": fstest.Blob(1<<20+123, 1)}
	for i := range 32 {
		tr[fmt.Sprintf("d/f%02d", i)] = fstest.Blob(64<<10, byte(i)) // 2 MiB in small files
	}
	tr.Build(t, root)
	const total, limit = 3<<20 + 123, 2 << 20
	unlimited := &Walker{Roots: []Root{{Path: "/"}}, Prefix: root, Workers: 4}
	start := time.Now()
	run(t, unlimited)
	fast := time.Since(start)

	w := &Walker{Roots: []Root{{Path: "/"}}, Prefix: root, Workers: 4, ReadLimit: NewReadLimit(limit)}
	start = time.Now()
	r := run(t, w)
	took := time.Since(start)
	if r.err != nil || len(r.warns) > 0 {
		t.Fatalf("walk: %v %v", r.err, r.warns)
	}
	hashed := 0
	for _, e := range r.entries {
		if e.Flags&tree.FlagHashed != 0 {
			hashed++
		}
	}
	if hashed != 33 {
		t.Errorf("%d files hashed, want 33", hashed)
	}
	floor := time.Duration(total-hashBufSize) * time.Second / limit
	if took < floor {
		t.Errorf("walk read %d bytes at %d B/s in %v: under the %v the limit allows", total, limit, took, floor)
	}
	t.Logf("limited walk: %v (at least %v); unlimited: %v", took, floor, fast)
	if NewReadLimit(0) != nil || NewReadLimit(limit).Rate() != limit {
		t.Errorf("NewReadLimit: 0 is no limit, and a limit says its rate")
	}
}
