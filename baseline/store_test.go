package baseline

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testEntries returns n entries in key order: a directory /t/dNNNNN, then up to 99 files
// in it, then the next directory. Their fields vary with their index.
func testEntries(n int) []*tree.Entry {
	es := make([]*tree.Entry, 0, n)
	for i := 0; i < n; i++ {
		dir := fmt.Sprintf("/t/d%05d", i/100)
		if i%100 == 0 {
			es = append(es, &tree.Entry{Path: dir, Type: tree.TypeDir, Mode: 0o755, Size: 4096,
				Mtime: int64(i) * 1e9, Ctime: int64(i) * 1e9, Inode: uint64(i), Device: 2049, Nlink: 2})
			continue
		}
		e := &tree.Entry{Path: fmt.Sprintf("%s/f%02d", dir, i%100), Type: tree.TypeFile, Mode: 0o644,
			UID: uint32(i), GID: uint32(i % 7), Size: int64(i) * 3, Mtime: int64(i)*1e9 - 5e17,
			Ctime: int64(i)*1e9 - 5e17 + 7, Btime: int64(i), Inode: uint64(i) << 20, Device: 2049, Nlink: 1,
			Flags: tree.FlagHashed | tree.FlagBtime, Hash: hashOf(byte(i))}
		if i%10 == 3 {
			e.Xattrs = []tree.Xattr{{Name: "user.i", Value: []byte(strconv.Itoa(i))}}
		}
		es = append(es, e)
	}
	return es
}

func testMeta() Meta {
	return Meta{FimVersion: "v9.9.9-test", Created: time.Date(2024, 2, 29, 12, 0, 0, 123456789, time.UTC),
		Host: "host.example", HostID: "0123abcd", Policy: json.RawMessage(`{"paths":["/t"],"max_depth":3}`)}
}

// writeBaseline writes entries as the baseline at path.
func writeBaseline(t testing.TB, path string, entries []*tree.Entry) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.Add(e); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Commit(testMeta()); err != nil {
		t.Fatal(err)
	}
}

// readBaseline opens the baseline at path and iterates over all of it.
func readBaseline(t testing.TB, path string) ([]*tree.Entry, Meta) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return fstest.Collect(t, r.Entries(context.Background())), r.Meta()
}

func sameEntries(t testing.TB, got, want []*tree.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !equalEntries(got[i], want[i]) {
			t.Fatalf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// tempFiles lists the temporary files a Writer for path may leave.
func tempFiles(t testing.TB, path string) []string {
	t.Helper()
	_, prefix := TempPattern(path)
	m, err := filepath.Glob(prefix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "baseline.db") // Create makes the directory
	want := testEntries(25000)                               // crosses batchSize twice
	writeBaseline(t, path, want)

	got, meta := readBaseline(t, path)
	sameEntries(t, got, want)

	in := testMeta()
	if meta.Format != FormatVersion || meta.Entries != 25000 || meta.FimVersion != in.FimVersion ||
		meta.Host != in.Host || meta.HostID != in.HostID || !meta.Created.Equal(in.Created) ||
		string(meta.Policy) != string(in.Policy) {
		t.Errorf("meta = %+v\nwant %+v", meta, in)
	}
	if !strings.HasPrefix(meta.Digest, "blake3:") || len(meta.Digest) != len("blake3:")+64 {
		t.Errorf("digest = %q", meta.Digest)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != 0o600 {
		t.Errorf("mode = %v, want -rw-------", st.Mode())
	}
	if tmp := tempFiles(t, path); len(tmp) != 0 {
		t.Errorf("temporary files left after Commit: %v", tmp)
	}

	// The same entries give the same digest; one attribute more gives another.
	path2 := filepath.Join(t.TempDir(), "b.db")
	writeBaseline(t, path2, want)
	if _, meta2 := readBaseline(t, path2); meta2.Digest != meta.Digest {
		t.Errorf("same entries, digests %s and %s", meta.Digest, meta2.Digest)
	}
	want[12345].Mode = 0o600
	writeBaseline(t, path2, want)
	if _, meta2 := readBaseline(t, path2); meta2.Digest == meta.Digest {
		t.Errorf("different entries, same digest %s", meta.Digest)
	}
}

// TestStoreCommitSetsMeta checks that Commit, not the caller, decides format, count and digest.
func TestStoreCommitSetsMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range testEntries(3) {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if w.Count() != 3 {
		t.Errorf("Count = %d, want 3", w.Count())
	}
	m := testMeta()
	m.Format, m.Entries, m.Digest = 42, 99, "blake3:forged"
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	got, meta := readBaseline(t, path) // the digest check passes
	if len(got) != 3 || meta.Format != FormatVersion || meta.Entries != 3 || meta.Digest == m.Digest {
		t.Fatalf("meta = %+v", meta)
	}
}

// TestStoreRefusesEmpty: a baseline of no entries, which Open refuses, is not written,
// signed or not, over an existing baseline or none; no temporary file stays behind.
func TestStoreRefusesEmpty(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		old    []*tree.Entry // nil: no baseline before
		signer ed25519.PrivateKey
	}{
		{"over a baseline", testEntries(5), nil},
		{"over a baseline, signed", testEntries(5), priv},
		{"no baseline before", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.db")
			var before []byte
			if tc.old != nil {
				writeBaseline(t, path, tc.old)
				if before, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			}
			w, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w.Signer = tc.signer
			err = w.Commit(testMeta())
			if !errors.Is(err, ErrBadBaseline) || !strings.Contains(err.Error(), "no entries") ||
				!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Commit of no entries = %v, want one ErrBadBaseline line naming %s and saying \"no entries\"", err, path)
			}
			after, err := os.ReadFile(path)
			switch {
			case tc.old == nil && !errors.Is(err, os.ErrNotExist):
				t.Errorf("%s after a refused Commit: %v", path, err)
			case tc.old != nil && !bytes.Equal(after, before):
				t.Errorf("%s changed by a refused Commit (%v)", path, err)
			}
			if left := tempFiles(t, path); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if tc.old != nil {
				got, _ := readBaseline(t, path)
				sameEntries(t, got, tc.old)
			}
		})
	}
}

func TestStoreIterEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	writeBaseline(t, path, testEntries(2))
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Read once: the entries, then nothing more, and no error either time.
	it := r.Iter()
	for i, want := range []int{2, 0} {
		if got := len(fstest.Collect(t, it.Entries(context.Background()))); got != want {
			t.Errorf("reading #%d: %d entries, want %d", i, got, want)
		}
	}
}

func TestStoreAddOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	tests := []struct {
		name  string
		paths []string
	}{
		{"descending", []string{"/b", "/a"}},
		{"duplicate", []string{"/a", "/a"}},
		{"child after sibling", []string{"/a", "/a-b", "/a/z"}}, // '/' sorts before every byte
		{"parent after child", []string{"/a/b", "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			var last error
			for _, p := range tt.paths {
				last = w.Add(&tree.Entry{Path: p, Type: tree.TypeFile})
			}
			if last == nil || !strings.Contains(last.Error(), "out of order") {
				t.Fatalf("last Add = %v, want an out-of-order error", last)
			}
			if !strings.Contains(last.Error(), tt.paths[len(tt.paths)-1]) {
				t.Errorf("error %q does not name the path", last)
			}
		})
	}
}

func TestStoreAbort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")

	// Abort with no baseline before: nothing is left.
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(testEntries(1)[0]); err != nil {
		t.Fatal(err)
	}
	tmp := w.TempPath()
	if filepath.Dir(tmp) != filepath.Dir(path) {
		t.Errorf("temporary file %s not beside %s", tmp, path)
	}
	w.Abort()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Abort, %s: %v", path, err)
	}
	if left := tempFiles(t, path); len(left) != 0 {
		t.Errorf("temporary files left after Abort: %v", left)
	}

	// Abort after a batch commit, over an existing baseline: the old one is intact.
	old := testEntries(10)
	writeBaseline(t, path, old)
	w, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range testEntries(batchSize + 5) {
		e.Size++
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	w.Abort() // a second Abort is harmless
	got, meta := readBaseline(t, path)
	sameEntries(t, got, old)
	if meta.Entries != 10 {
		t.Errorf("meta.Entries = %d", meta.Entries)
	}
	if left := tempFiles(t, path); len(left) != 0 {
		t.Errorf("temporary files left after Abort: %v", left)
	}
}

func TestStoreGet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	entries := testEntries(300)
	writeBaseline(t, path, entries)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Path() != path {
		t.Errorf("Path = %q", r.Path())
	}
	for _, i := range []int{0, 1, 13, 100, 299} {
		e, err := r.Get(entries[i].Path)
		if err != nil || e == nil || !equalEntries(e, entries[i]) {
			t.Errorf("Get(%q) = %+v, %v\nwant %+v", entries[i].Path, e, err, entries[i])
		}
	}
	for _, p := range []string{"/", "/t", "/t/d00000/f00", "/t/d00003", "/t/d00000/f01/x", "/zzz"} {
		if e, err := r.Get(p); e != nil || err != nil {
			t.Errorf("Get(%q) = %+v, %v, want nil, nil", p, e, err)
		}
	}
}

func TestStoreLock(t *testing.T) {
	defer func(d time.Duration) { LockTimeout = d }(LockTimeout)
	LockTimeout = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "b.db")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w2, err := Create(path)
	waited := time.Since(start)
	if err == nil {
		w2.Abort()
		w.Abort()
		t.Fatal("a second Create while the first holds the lock succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error %v does not wrap ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the path and the holder's pid", msg)
	}
	if waited < LockTimeout || waited > LockTimeout+2*time.Second {
		t.Errorf("gave up after %v, LockTimeout is %v", waited, LockTimeout)
	}
	if tmp := tempFiles(t, path); len(tmp) != 1 {
		t.Errorf("the failed Create left temporary files: %v", tmp)
	}
	w.Abort()
	w, err = Create(path)
	if err != nil {
		t.Fatalf("Create after Abort: %v", err)
	}
	if err := w.Add(testEntries(1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(testMeta()); err != nil {
		t.Fatal(err)
	}
	// Commit releases the lock too.
	w, err = Create(path)
	if err != nil {
		t.Fatalf("Create after Commit: %v", err)
	}
	w.Abort()
}

// TestStoreRemovesStale checks that Create removes the temporary files of writers that
// were killed, and nothing else.
func TestStoreRemovesStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.db")
	writeBaseline(t, path, testEntries(5))
	_, prefix := TempPattern(path)
	for _, name := range []string{prefix + "123", prefix + "456", filepath.Join(dir, ".b.db.tmp"), filepath.Join(dir, ".other.db.tmp-1")} {
		write(t, name, []byte("left by a killed fim"))
	}
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if tmp := tempFiles(t, path); len(tmp) != 1 || tmp[0] != w.TempPath() {
		t.Errorf("temporary files beside %s: %v, want only %s", path, tmp, w.TempPath())
	}
	w.Abort()
	for _, name := range []string{filepath.Join(dir, ".b.db.tmp"), filepath.Join(dir, ".other.db.tmp-1")} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("removed a file that is not its own: %v", err)
		}
	}
	got, _ := readBaseline(t, path)
	sameEntries(t, got, testEntries(5))
}

// TestOpenLocked checks that Open gives up with ErrLocked, not ErrBadBaseline, while
// another program has the database open for writing.
func TestOpenLocked(t *testing.T) {
	defer func(d time.Duration) { LockTimeout = d }(LockTimeout)
	LockTimeout = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "b.db")
	writeBaseline(t, path, testEntries(3))
	db, err := bolt.Open(path, 0o600, nil) // takes an exclusive flock
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	db.Close()
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrBadBaseline) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a database open for writing: %v, want ErrLocked naming the file", err)
	}
	if got, _ := readBaseline(t, path); len(got) != 3 {
		t.Fatalf("%d entries after the lock is gone, want 3", len(got))
	}
}

// TestStoreGetEveryNeighbour looks up every recorded path, and paths next to each in key
// order (its parent, itself with a byte more, with its last byte one less or one more),
// in a baseline of many blocks whose paths share prefixes of every length, and holds the
// answers to what was recorded.
func TestStoreGetEveryNeighbour(t *testing.T) {
	var paths []string
	for _, d := range []string{"/a", "/a/b", "/a/b c", "/a/bb", "/a-", "/ab", "/b/" + strings.Repeat("long", 100)} {
		paths = append(paths, d)
		for i := range 150 {
			paths = append(paths, fmt.Sprintf("%s/%x", d, i*i))
		}
	}
	slices.SortFunc(paths, tree.ComparePaths)
	paths = slices.Compact(paths)
	entries := make([]*tree.Entry, len(paths))
	recorded := map[string]bool{}
	for i, p := range paths {
		e := *testEntries(2)[1]
		e.Path, e.Inode, e.Size = p, uint64(i), int64(len(p))
		if i%97 == 5 { // an entry too large to share a block
			e.Xattrs = []tree.Xattr{{Name: "user.big", Value: bytes.Repeat([]byte{byte(i)}, 3000)}}
		}
		entries[i] = &e
		recorded[p] = true
	}
	path := filepath.Join(t.TempDir(), "b.db")
	writeBaseline(t, path, entries)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := r.tx.Bucket(bucketEntries).Stats().KeyN; n < 20 {
		t.Fatalf("%d blocks, want a baseline of many", n)
	}
	for i, p := range paths {
		if e, err := r.Get(p); err != nil || e == nil || !equalEntries(e, entries[i]) {
			t.Fatalf("Get(%q) = %+v, %v\nwant %+v", p, e, err, entries[i])
		}
		last := p[len(p)-1]
		for _, q := range []string{filepath.Dir(p), p + "0", p + "/", p[:len(p)-1] + string(last-1), p[:len(p)-1] + string(last+1)} {
			e, err := r.Get(q)
			if err != nil || (e != nil) != recorded[q] || e != nil && e.Path != q {
				t.Fatalf("Get(%q) = %+v, %v, want it recorded: %v", q, e, err, recorded[q])
			}
		}
	}
}
