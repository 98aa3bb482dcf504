package walk

import (
	"context"
	"crypto/md5"
	"os"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"fim/internal/fstest"
	"fim/tree"
)

// TestUncachedFileHandedToWorker: a listing hashes a small file itself only when the
// page cache holds its beginning; a file to be read from disk is handed to a worker,
// with its read under way as the listing goes on, and still read once, which gives
// its BLAKE3 digest and its side digest. A file cached only in part is read by the
// listing, the rest from disk.
func TestUncachedFileHandedToWorker(t *testing.T) {
	const page = 4096
	files := []struct {
		name   string
		size   int
		cached int64 // bytes of its beginning left in the page cache (-1: all)
		handed bool  // hashed by a worker rather than by the listing
	}{
		{"cached.pkg", page, -1, false},
		{"empty.pkg", 0, -1, false},
		{"evicted.pkg", 3 * page, 0, true},
		{"tail.pkg", 16 * page, 8 * page, false},
		{"large.pkg", 100 << 10, -1, true}, // beyond inlineHashMax: a job in any case
	}
	tr := fstest.Tree{}
	for i, f := range files {
		tr[f.name] = fstest.Blob(f.size, byte(i+1))
	}
	dir := fstest.Make(t, tr)
	var st unix.Stat_t
	must(t, unix.Stat(dir, &st))
	var (
		side   *md5Side
		wk     *walk
		n      *node
		hb     = newHashBuf()
		byName map[string]int
	)
	// On a fast disk the read a no-wait read starts can end before that read looks at
	// the page again, so the listing finds the file cached after all: list again, with
	// the file evicted again, until it is handed out (a listing that never hands it
	// out fails below).
	for attempt := 0; attempt < 20; attempt++ {
		for _, f := range files {
			if f.cached >= 0 {
				fstest.CacheOnly(t, dir+"/"+f.name, f.cached)
			}
		}
		// No worker runs: the listing hashes in place what it hashes, and the jobs it
		// hands out stay queued until they are run below.
		side, wk, n = listAlone(dir, &st, hb)
		if n.err != nil {
			t.Fatal(n.err)
		}
		if len(n.entries) != len(files) {
			t.Fatalf("listed %d entries, want %d", len(n.entries), len(files))
		}
		byName = map[string]int{}
		for i := range n.entries {
			byName[n.entries[i].Path[len(dir)+1:]] = i
		}
		if n.aux[byName["evicted.pkg"]].done != nil {
			break
		}
	}
	if n.aux[byName["evicted.pkg"]].done == nil {
		skipUnlessNoWaitMisses(t, dir)
	}
	for _, f := range files {
		a := &n.aux[byName[f.name]]
		if handed := a.done != nil; handed != f.handed {
			t.Errorf("%s: handed to a worker %v, want %v", f.name, handed, f.handed)
		}
	}
	// The read of the file handed out is under way without anyone reading it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		in := fstest.Resident(t, dir+"/evicted.pkg")
		if in[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("evicted.pkg: not read into the page cache 5 s after it was handed out (pages %v)", in)
		}
	}
	var d listedDir
	defer d.close()
	for len(wk.s.q) > 0 {
		wk.hashJob(wk.s.next(), hb, &d)
	}
	for i, f := range files {
		e, a := &n.entries[byName[f.name]], &n.aux[byName[f.name]]
		if a.done != nil {
			select {
			case <-a.done:
			default:
				t.Errorf("%s: its job never ended", f.name)
			}
		}
		data := []byte(fstest.BlobData(f.size, byte(i+1)))
		if !e.Hashed() || e.Hash != blake3.Sum256(data) || a.err != nil {
			t.Errorf("%s: hashed %v, %x (%v), want the content's %x", f.name, e.Hashed(), e.Hash, a.err, blake3.Sum256(data))
		}
		if md := md5.Sum(data); side.asked[e.Path] != 1 || string(side.sums[e.Path]) != string(md[:]) {
			t.Errorf("%s: side digest asked %d times, %x; want once, the content's %x", f.name, side.asked[e.Path], side.sums[e.Path], md)
		}
	}
}

// TestReadCached: readCached returns what the page cache holds of a file's beginning,
// without reading the disk, and errNotCached when it holds none of it.
func TestReadCached(t *testing.T) {
	const page = 4096
	dir := fstest.Make(t, fstest.Tree{"f": fstest.Blob(16*page, 7)})
	p := dir + "/f"
	want := fstest.BlobData(16*page, 7)
	for _, c := range []struct {
		name   string
		cached int64
		n      int
		err    error
	}{
		{"all cached", -1, 16 * page, nil},
		{"the first half cached", 8 * page, 8 * page, nil},
		{"none cached", 0, 0, errNotCached},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf := make([]byte, hashBufSize)
			// See TestUncachedFileHandedToWorker: the read the no-wait read starts may end
			// before it looks at the page again.
			for attempt := 0; ; attempt++ {
				if _, err := os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
				if c.cached >= 0 {
					fstest.CacheOnly(t, p, c.cached)
				}
				fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
				must(t, err)
				defer unix.Close(fd)
				n, err := readCached(fd, buf, 16*page)
				if string(buf[:n]) != want[:n] {
					t.Fatalf("read %d bytes (%v), not the file's first %d", n, err, n)
				}
				if (n != c.n || err != c.err) && attempt < 20 && err == nil {
					continue
				}
				if n != c.n || err != c.err {
					skipUnlessNoWaitMisses(t, dir)
					t.Fatalf("read %d bytes (%v), want the first %d (%v)", n, err, c.n, c.err)
				}
				// What follows is read from where readCached stopped.
				total, err := readFull(fd, buf, n, 16*page)
				if err != nil || string(buf[:total]) != want {
					t.Errorf("then read %d bytes in all (%v), want the %d of the file", total, err, len(want))
				}
				return
			}
		})
	}
}

// listAlone lists dir (whose stat is st) with a walk that runs no worker, the package
// digests of its files asked of a new md5Side: the listing hashes in place what it
// hashes, and the jobs it hands out stay queued in wk.s.
func listAlone(dir string, st *unix.Stat_t, hb *hashBuf) (*md5Side, *walk, *node) {
	side := &md5Side{asked: map[string]int{}, sums: map[string][]byte{}}
	r := &Root{Path: dir}
	wk := &walk{Walker: &Walker{Roots: []Root{*r}, Side: side}, ctx: context.Background(), s: newSched(maxUnconsumed, 0),
		roots: map[string]*Root{dir: r}, links: map[devIno]*linkSlot{}, filesystems: map[uint64]fsKind{}}
	n := &node{real: dir, path: dir, key: tree.Key(dir), root: r, dev: st.Dev, ino: st.Ino, listed: make(chan struct{})}
	wk.list(n, hb, nil)
	return side, wk, n
}

// skipUnlessNoWaitMisses skips the test when no no-wait read of a file just evicted
// from the page cache in dir came back with EAGAIN in 20 tries: on a disk fast enough
// the read such a read starts ends before it looks at the page again, and it returns
// the data, so a file missing from the page cache cannot be seen missing there.
func skipUnlessNoWaitMisses(t *testing.T, dir string) {
	t.Helper()
	p := dir + "/.probe"
	must(t, os.WriteFile(p, []byte(fstest.BlobData(16<<10, 9)), 0o644))
	defer os.Remove(p)
	buf := make([]byte, 16<<10)
	for range 20 {
		fstest.CacheOnly(t, p, 0)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		must(t, err)
		_, err = unix.Preadv2(fd, [][]byte{buf}, -1, unix.RWF_NOWAIT)
		unix.Close(fd)
		if err == unix.EAGAIN {
			return
		}
	}
	t.Skip("a no-wait read of a file just evicted from the page cache never came back with EAGAIN on this disk in 20 tries")
}

// TestHandedFileSwapped: a file handed to a worker because the page cache held none of
// it is read by the worker as the file then at its name, whatever took its place after
// the listing: rewritten or truncated in place, another file renamed over it, a FIFO,
// a symlink or a directory. The entry is what is there when the worker reads it, never
// the listed file's attributes with another content's digest, and a side digest is
// given only with the digest of the same content.
func TestHandedFileSwapped(t *testing.T) {
	const size = 3 * 4096
	listed := fstest.BlobData(size, 1)
	for _, c := range []struct {
		name string
		swap func(t *testing.T, p string)
		typ  tree.Type
		data string // the content hashed, for a file
	}{
		{"rewritten", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte(fstest.BlobData(size, 2)), 0o644))
		}, tree.TypeFile, fstest.BlobData(size, 2)},
		{"truncated", func(t *testing.T, p string) {
			must(t, os.Truncate(p, size/2))
		}, tree.TypeFile, listed[:size/2]},
		{"renamed over", func(t *testing.T, p string) {
			must(t, os.WriteFile(p+".new", []byte(fstest.BlobData(size, 3)), 0o644))
			must(t, os.Rename(p+".new", p))
		}, tree.TypeFile, fstest.BlobData(size, 3)},
		{"fifo", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, unix.Mkfifo(p, 0o644))
		}, tree.TypeFIFO, ""},
		{"symlink", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.Symlink("/etc/passwd", p))
		}, tree.TypeSymlink, ""},
		{"directory", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.Mkdir(p, 0o755))
		}, tree.TypeDir, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := fstest.Make(t, fstest.Tree{"f.pkg": fstest.File(listed)})
			p := dir + "/f.pkg"
			var st unix.Stat_t
			must(t, unix.Stat(dir, &st))
			var (
				side *md5Side
				wk   *walk
				n    *node
				hb   = newHashBuf()
			)
			// The kernel may start the read a listing asks not to wait for and find it
			// done at once (fast storage): the file is then hashed by the listing, and
			// the listing is tried again.
			for try := 0; ; try++ {
				fstest.CacheOnly(t, p, 0)
				side, wk, n = listAlone(dir, &st, hb)
				if n.err != nil || len(n.entries) != 1 {
					t.Fatalf("listed %d entries (%v), want f.pkg", len(n.entries), n.err)
				}
				if n.aux[0].done != nil {
					break
				}
				if try == 20 {
					t.Skip("f.pkg: hashed by the listing each time: the page cache holds it by the time it is read")
				}
			}
			time.Sleep(20 * time.Millisecond) // coarse timestamps: a change shows in ctime
			c.swap(t, p)
			var d listedDir
			defer d.close()
			for len(wk.s.q) > 0 {
				wk.hashJob(wk.s.next(), hb, &d)
			}
			e, a := &n.entries[0], &n.aux[0]
			if e.Type != c.typ {
				t.Fatalf("recorded a %v, want a %v", e.Type, c.typ)
			}
			if c.typ != tree.TypeFile {
				if e.Hashed() || side.sums[e.Path] != nil {
					t.Errorf("a %v recorded with a digest (%x) or a side digest (%x)", e.Type, e.Hash, side.sums[e.Path])
				}
				return
			}
			md := md5.Sum([]byte(c.data))
			if !e.Hashed() || e.Hash != blake3.Sum256([]byte(c.data)) || e.Size != int64(len(c.data)) || a.err != nil {
				t.Errorf("hashed %v, %x, size %d (%v); want the content now there: %x, size %d", e.Hashed(), e.Hash, e.Size, a.err,
					blake3.Sum256([]byte(c.data)), len(c.data))
			}
			if string(side.sums[e.Path]) != string(md[:]) {
				t.Errorf("side digest %x, want the content's %x", side.sums[e.Path], md)
			}
		})
	}
}
