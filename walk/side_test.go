package walk

import (
	"crypto/md5"
	"errors"
	"hash"
	"io"
	"os"
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

func (s *md5Side) NeedsPrior(e *tree.Entry) bool { return strings.HasSuffix(e.Path, ".pkg") }

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

// TestCopyThroughSymlink: content_diff_private lets in the files of the rule's tree that
// are not world-readable, not whatever a symlink planted there leads to: with
// follow_symlinks, a link to a private file elsewhere (/etc/shadow, a key in /root)
// keeps no copy of it, while a link to a world-readable file does.
func TestCopyThroughSymlink(t *testing.T) {
	outside := fstest.Make(t, fstest.Tree{"secret": fstest.File("root:$6$salt$hash:19000:0:99999:7:::\n"), "public": fstest.File("public\n")})
	if err := os.Chmod(outside+"/secret", 0o600); err != nil {
		t.Fatal(err)
	}
	dir := fstest.Make(t, fstest.Tree{"own": fstest.File("mine\n")})
	if err := errors.Join(os.Chmod(dir+"/own", 0o600), os.Symlink(outside+"/secret", dir+"/to-secret"), os.Symlink(outside+"/public", dir+"/to-public")); err != nil {
		t.Fatal(err)
	}
	o := Options{FollowSymlinks: true, Copies: &Copies{Max: textcopy.MaxSize, Private: true}}
	r := walkDir(t, dir, o)
	for _, tc := range []struct {
		name string
		copy bool
		why  tree.NoCopy
	}{
		{"own", true, tree.CopyNone},
		{"to-public", true, tree.CopyNone},
		{"to-secret", false, tree.NoCopyPrivate},
	} {
		e := r.get(t, tc.name)
		if e.Type != tree.TypeFile || (e.Copy != nil) != tc.copy || e.NoCopy != tc.why {
			t.Errorf("%s: type %v, copy of %d bytes, reason %q: want a copy %v, reason %q", tc.name, e.Type, len(e.Copy), e.NoCopy, tc.copy, tc.why)
		}
	}
}

// TestCopyTagsByPath: a secret's redaction tag depends on the file it is in, so that a
// user who can write a file under a content_diff rule, and read the reports, cannot
// learn another file's secret by writing guesses and comparing their tags; the same
// file read again tags an unchanged secret alike.
func TestCopyTagsByPath(t *testing.T) {
	dir := fstest.Make(t, fstest.Tree{"victim.conf": fstest.File("password=hunter2\n"), "guesses.conf": fstest.File("password=hunter2\n")})
	o := Options{Copies: &Copies{Max: textcopy.MaxSize, Key: textcopy.NewKey()}}
	tags := func() (victim, guess string) {
		r := walkDir(t, dir, o)
		for _, n := range []string{"victim.conf", "guesses.conf"} {
			text, err := textcopy.Decode(r.get(t, n).Copy)
			if err != nil || !strings.HasPrefix(text, "password="+textcopy.Marker) || strings.Contains(text, "hunter2") {
				t.Fatalf("%s: copy %q, %v", n, text, err)
			}
			if n == "victim.conf" {
				victim = text
			} else {
				guess = text
			}
		}
		return victim, guess
	}
	victim, guess := tags()
	if victim == guess {
		t.Errorf("one secret in two files tagged alike: %q", victim)
	}
	if again, _ := tags(); again != victim {
		t.Errorf("the same file read again: %q, then %q", victim, again)
	}
}
