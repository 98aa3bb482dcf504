package walk

import (
	"context"
	"errors"
	"fim/internal/fstest"
	"fim/textcopy"
	"fim/tree"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// TestFileRewrittenWhileHashed walks, again and again, a file that a goroutine keeps
// truncating and rewriting with one of two contents. The file must be recorded with the
// hash of a content it really held (all of one content, or the start of one while it
// was being written, of the recorded size), or as unstable with a warning: never with
// a hash of bytes mixed from two writes.
//
// The writer truncates before it writes. A write over the same bytes in place is not
// covered: it changes ctime before it copies the data, so a read that starts during it
// can end with the same size, mtime and ctime as it began, and the walker cannot tell.
func TestFileRewrittenWhileHashed(t *testing.T) {
	contents := [2]string{fstest.BlobData(1<<20, 1), fstest.BlobData(1<<20, 2)}
	root := fstest.Make(t, fstest.Tree{"busy": fstest.File(contents[0]), "calm": fstest.File("c")})
	f, err := os.OpenFile(root+"/busy", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		stop   atomic.Bool
		writes atomic.Int64
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			if err := f.Truncate(0); err != nil {
				t.Error(err)
				return
			}
			if _, err := f.WriteAt([]byte(contents[i%2]), 0); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	})
	defer wg.Wait()
	defer stop.Store(true)

	var whole, partial, unstable int
	full := map[[32]byte]bool{blake3.Sum256([]byte(contents[0])): true, blake3.Sum256([]byte(contents[1])): true}
	start := time.Now()
	for n := 0; n < 300 && time.Since(start) < 2*time.Second; n++ {
		r := walkDir(t, root, Options{})
		if e := r.get(t, "calm"); !e.Hashed() {
			t.Errorf("calm: flags %b", e.Flags)
		}
		e := r.get(t, "busy")
		switch {
		case e.Flags&tree.FlagUnstable != 0:
			unstable++
			if e.Hashed() || e.Hash != [32]byte{} || len(r.warned("busy")) != 1 {
				t.Errorf("unstable: flags %b, hash %x, warnings %v: want no hash and one warning", e.Flags, e.Hash, r.warned("busy"))
			}
		case e.Hashed():
			if full[e.Hash] && e.Size == 1<<20 {
				whole++
				break
			}
			if e.Size < 0 || e.Size > 1<<20 ||
				e.Hash != blake3.Sum256([]byte(contents[0][:e.Size])) && e.Hash != blake3.Sum256([]byte(contents[1][:e.Size])) {
				t.Fatalf("torn hash: size %d hash %x is no content the file held", e.Size, e.Hash)
			}
			partial++
		default:
			t.Errorf("neither hashed nor unstable: flags %b, warnings %v", e.Flags, r.warns)
		}
	}
	stop.Store(true)
	wg.Wait()
	if writes.Load() == 0 {
		t.Fatal("the writer never wrote")
	}
	t.Logf("%d rewrites; recorded %d whole contents, %d partial, %d unstable", writes.Load(), whole, partial, unstable)
}

// TestChangedAfterListing changes entries after their directory was listed and before
// they are hashed or listed: with one worker, hashing a large file first keeps the pool
// busy while the consumer, given the root, does the changes. (Should the worker win the
// race, the entries are simply recorded as they were; the test then proves less.)
// Nothing must hang, fail the walk, warn, or be recorded as unreadable.
func TestChangedAfterListing(t *testing.T) {
	big := strings.Repeat(fstest.BlobData(64<<10, 7), 1024) // 64 MiB
	root := fstest.Make(t, fstest.Tree{
		"a-big":     fstest.File(big),
		"b-removed": fstest.File("b"),
		"c-fifo":    fstest.File("c"),
		"d-dir/x":   fstest.File("x"),
		"e-link":    fstest.File("e"),
		"f-grown":   fstest.File("f"),
		"g-keep":    fstest.File("g"),
	})

	var warns []warning
	var got []*tree.Entry
	w := &Walker{Workers: 1, Roots: []Root{{Path: root}}, Warn: func(p string, err error) { warns = append(warns, warning{p, err}) }}
	done := make(chan error, 1)
	go func() {
		for e, err := range w.Walk(context.Background()) {
			if err != nil {
				done <- err
				return
			}
			got = append(got, e)
			if e.Path != root {
				continue
			}
			if err := errors.Join(
				os.Remove(root+"/b-removed"),
				os.Remove(root+"/c-fifo"),
				unix.Mkfifo(root+"/c-fifo", 0o644),
				os.RemoveAll(root+"/d-dir"),
				os.Remove(root+"/e-link"),
				os.Symlink("/dev/zero", root+"/e-link"),
				os.WriteFile(root+"/f-grown", []byte("f and more"), 0o644),
			); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(walkTimeout):
		t.Fatal("walk hung")
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	r := &result{base: root, entries: got}
	by := map[string]*tree.Entry{}
	for _, e := range got {
		by[r.rel(e.Path)] = e
		if e.Flags&(tree.FlagUnreadable|tree.FlagUnstable) != 0 {
			t.Errorf("%s: flags %b", e.Path, e.Flags)
		}
	}
	hashOf := func(s string) [32]byte { return blake3.Sum256([]byte(s)) }
	if e := by["a-big"]; e == nil || e.Hash != hashOf(big) {
		t.Errorf("a-big not hashed")
	}
	if e := by["g-keep"]; e == nil || e.Hash != hashOf("g") {
		t.Errorf("g-keep not hashed")
	}
	changed := 0
	if e := by["b-removed"]; e == nil {
		changed++
	} else if e.Hash != hashOf("b") {
		t.Errorf("b-removed: recorded with flags %b", e.Flags)
	}
	if e := by["c-fifo"]; e == nil {
		t.Error("c-fifo not recorded")
	} else if e.Type == tree.TypeFIFO && !e.Hashed() {
		changed++
	} else if e.Type != tree.TypeFile || e.Hash != hashOf("c") {
		t.Errorf("c-fifo: type %v flags %b", e.Type, e.Flags)
	}
	if by["d-dir"] == nil {
		changed++
	}
	if e := by["d-dir/x"]; e != nil && e.Hash != hashOf("x") {
		t.Errorf("d-dir/x: flags %b", e.Flags)
	}
	if e := by["e-link"]; e == nil {
		t.Error("e-link not recorded")
	} else if e.Type == tree.TypeSymlink && e.LinkTarget == "/dev/zero" && !e.Hashed() {
		changed++
	} else if e.Type != tree.TypeFile || e.Hash != hashOf("e") {
		t.Errorf("e-link: type %v target %q flags %b", e.Type, e.LinkTarget, e.Flags)
	}
	if e := by["f-grown"]; e == nil {
		t.Error("f-grown not recorded")
	} else if e.Size == 10 && e.Hash == hashOf("f and more") {
		changed++
	} else if e.Size != 1 || e.Hash != hashOf("f") {
		t.Errorf("f-grown: size %d flags %b: hash of neither content", e.Size, e.Flags)
	}
	t.Logf("%d of 5 changes made before the walk reached them", changed)
}

// TestChurn walks a tree in which files and directories keep appearing and vanishing.
// The walk must not fail, and nothing that vanished may be reported as a problem.
func TestChurn(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"stable": fstest.File("s"), "churn/": fstest.Dir()})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				d := fmt.Sprintf("%s/churn/d%d-%d", root, g, i%7)
				f := fmt.Sprintf("%s/churn/f%d-%d", root, g, i%11)
				if i%2 == 0 {
					os.MkdirAll(d+"/sub", 0o755)
					os.WriteFile(d+"/sub/x", []byte("x"), 0o644)
					os.WriteFile(f, []byte(fstest.BlobData(i%5*1000, byte(i))), 0o644)
				} else {
					os.RemoveAll(d)
					os.Remove(f)
				}
			}
		})
	}
	defer wg.Wait()
	defer stop.Store(true)
	start := time.Now()
	for n := 0; n < 200 && time.Since(start) < time.Second; n++ {
		r := walkDir(t, root, Options{})
		if e := r.get(t, "stable"); !e.Hashed() {
			t.Errorf("stable: flags %b", e.Flags)
		}
		for _, w := range r.warns {
			if errors.Is(w.err, unix.ENOENT) {
				t.Errorf("%s vanished and was reported: %v", w.path, w.err)
			}
		}
	}
}

// TestCopyOfFileMadePrivateWhileListed: a world-readable text file under a content_diff
// rule (without content_diff_private) that is made 0600 and rewritten after its
// directory was listed, before it is read, is read again as it is now: its copy must
// follow its mode now, so none is kept of the private content. With one worker, the
// large file hashed first gives the consumer, handed the root, the time to make the
// change before the file is read.
func TestCopyOfFileMadePrivateWhileListed(t *testing.T) {
	big := strings.Repeat(fstest.BlobData(64<<10, 7), 1024) // 64 MiB
	public := strings.Repeat("public line\n", 10<<10)       // past inlineHashMax: read by the worker
	private := strings.Repeat("private line\n", 10<<10)
	root := fstest.Make(t, fstest.Tree{"a-big": fstest.File(big), "b-text": fstest.File(public)})
	w := &Walker{Workers: 1, Roots: []Root{{Path: root, Options: Options{Copies: &Copies{Max: textcopy.MaxSize}}}}}
	var got *tree.Entry
	for e, err := range w.Walk(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		switch e.Path {
		case root:
			if err := errors.Join(os.Chmod(root+"/b-text", 0o600), os.WriteFile(root+"/b-text", []byte(private), 0o600)); err != nil {
				t.Fatal(err)
			}
		case root + "/b-text":
			got = e
		}
	}
	if got == nil {
		t.Fatal("b-text not recorded")
	}
	if got.Hash != blake3.Sum256([]byte(private)) {
		t.Fatalf("b-text was read before the change (flags %b): the test proves nothing", got.Flags)
	}
	if got.Mode&0o777 != 0o600 || got.Copy != nil || got.NoCopy != tree.NoCopyPrivate {
		t.Errorf("b-text made 0600: mode %o, a copy of %d bytes kept, reason %v: want no copy, private", got.Mode&0o777, len(got.Copy), got.NoCopy)
	}
}
