package walk

import (
	"crypto/md5"
	"hash"
	"io"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"fim/internal/fstest"
	"fim/textcopy"
	"fim/tree"
)

// md5Side takes the MD5 digest of the files whose names end in ".pkg", and of those
// only, unless their prior entry says they are unchanged.
type md5Side struct {
	mu    sync.Mutex
	asked map[string]int
	sums  map[string][]byte
}

func (s *md5Side) For(e, prior *tree.Entry) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked[e.Path]++
	if !strings.HasSuffix(e.Path, ".pkg") || prior != nil && prior.Size == e.Size && prior.Mtime == e.Mtime {
		return nil
	}
	return md5.New()
}

func (s *md5Side) Done(e *tree.Entry, w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sums[e.Path] = w.(hash.Hash).Sum(nil)
	e.Flags |= tree.FlagPackageVerified
}

// TestSideDigest checks that the read that hashes a file feeds all of its content to
// the walk's side digest, whatever its size (hashed in the listing, by a worker, in
// one buffer or many), that the side is told of it before the entry is delivered,
// that it is asked with the prior entry, and that nothing else is fed to it.
func TestSideDigest(t *testing.T) {
	sizes := map[string]int{"empty.pkg": 0, "small.pkg": 10, "inline.pkg": 64 << 10, "job.pkg": 100 << 10,
		"buffer.pkg": 256 << 10, "chunks.pkg": 3<<20 + 17, "other": 4096, "same.pkg": 300}
	tr := fstest.Tree{}
	for n, size := range sizes {
		tr[n] = fstest.Blob(size, byte(len(n)))
	}
	dir := fstest.Make(t, tr)
	side := &md5Side{asked: map[string]int{}, sums: map[string][]byte{}}
	w := &Walker{Roots: []Root{{Path: dir}}, Side: side}
	w.Prior = func() func(string) *tree.Entry {
		return func(p string) *tree.Entry {
			if strings.HasSuffix(p, "/same.pkg") {
				return &tree.Entry{Type: tree.TypeFile, Size: 300, Mtime: mtimeOf(t, p)}
			}
			return nil
		}
	}
	r := run(t, w)
	r.base = dir
	if r.err != nil {
		t.Fatal(r.err)
	}
	for n, size := range sizes {
		e := r.get(t, n)
		sum, took := side.sums[e.Path]
		want := strings.HasSuffix(n, ".pkg") && n != "same.pkg"
		if took != want || (e.Flags&tree.FlagPackageVerified != 0) != want {
			t.Errorf("%s: side digest taken %v, flagged %v; want %v", n, took, e.Flags&tree.FlagPackageVerified != 0, want)
			continue
		}
		if side.asked[e.Path] != 1 {
			t.Errorf("%s: side asked %d times, want once", n, side.asked[e.Path])
		}
		if data := md5.Sum([]byte(fstest.BlobData(size, byte(len(n))))); took && string(sum) != string(data[:]) {
			t.Errorf("%s: side digest %x, want the content's %x", n, sum, data)
		}
	}
}

func mtimeOf(t testing.TB, p string) int64 {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mtim.Nano()
}

// TestSideDigestWithCopy: a file that keeps a copy for content diffs and has a side
// digest gets both from its one read, whole, whatever its size.
func TestSideDigestWithCopy(t *testing.T) {
	texts := map[string]string{
		"small.pkg": "PermitRootLogin no\n",
		"large.pkg": strings.Repeat("Port 22\n", 40<<10), // several read buffers
		"plain":     "no side digest\n",
	}
	tr := fstest.Tree{}
	for n, s := range texts {
		tr[n] = fstest.File(s)
	}
	dir := fstest.Make(t, tr)
	side := &md5Side{asked: map[string]int{}, sums: map[string][]byte{}}
	w := &Walker{Roots: []Root{{Path: dir, Options: Options{Copies: &Copies{Max: textcopy.MaxSize}}}}, Side: side}
	r := run(t, w)
	r.base = dir
	if r.err != nil {
		t.Fatal(r.err)
	}
	for n, s := range texts {
		e := r.get(t, n)
		got, err := textcopy.Decode(e.Copy)
		if err != nil || got != s {
			t.Errorf("%s: copy %d bytes (%v), want the %d bytes of content", n, len(got), err, len(s))
		}
		sum, took := side.sums[e.Path]
		if want := md5.Sum([]byte(s)); strings.HasSuffix(n, ".pkg") != took || took && string(sum) != string(want[:]) {
			t.Errorf("%s: side digest taken %v: %x, want the content's %x", n, took, sum, want)
		}
	}
}

// TestSideDigestLinks: a file with several names is read once, and its side digest,
// asked for once, is handed to Done under every name; a file that changed after it
// was listed under one name hands that name nothing.
func TestSideDigestLinks(t *testing.T) {
	dir := fstest.Make(t, fstest.Tree{"a/one.pkg": fstest.File("shared content\n"), "b/": fstest.Dir(), "c/": fstest.Dir()})
	for _, n := range []string{"b/two.pkg", "c/three.pkg"} {
		if err := unix.Link(dir+"/a/one.pkg", dir+"/"+n); err != nil {
			t.Fatal(err)
		}
	}
	side := &md5Side{asked: map[string]int{}, sums: map[string][]byte{}}
	r := run(t, &Walker{Roots: []Root{{Path: dir}}, Side: side})
	r.base = dir
	if r.err != nil {
		t.Fatal(r.err)
	}
	asked := 0
	for _, n := range []string{"a/one.pkg", "b/two.pkg", "c/three.pkg"} {
		e := r.get(t, n)
		asked += side.asked[e.Path]
		want := md5.Sum([]byte("shared content\n"))
		if sum, took := side.sums[e.Path]; !took || string(sum) != string(want[:]) || e.Flags&tree.FlagPackageVerified == 0 {
			t.Errorf("%s: side digest taken %v: %x, flagged %v; want the content's %x", n, took, sum, e.Flags&tree.FlagPackageVerified != 0, want)
		}
	}
	if asked != 1 {
		t.Errorf("side asked %d times for the three names of one file, want once", asked)
	}
}
