package walk

import (
	"fim/internal/fstest"
	"fim/tree"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// TestPrior checks fim check --fast's rule: a regular file whose device, inode, size,
// mtime and ctime equal the recorded ones keeps the recorded hash and extended
// attributes and is not opened; any difference in those makes the walker read it again,
// and setting an extended attribute (which changes only the ctime) makes it list them.
func TestPrior(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"same": fstest.File("unchanged"), "touched": fstest.File("content"), "stomped": fstest.File("before"), "grown": fstest.File("x"), "xattred": fstest.File("x")})
	first := walkDir(t, root, Options{})
	recorded := map[string]*tree.Entry{}
	for _, e := range first.entries {
		c := *e
		recorded[e.Path] = &c
	}
	// A planted hash can only come back if it was reused rather than computed.
	planted := [32]byte{0xfe, 0xed}
	recorded[filepath.Join(root, "same")].Hash = planted
	recorded[filepath.Join(root, "same")].Xattrs = []tree.Xattr{{Name: "user.planted", Value: []byte("p")}}

	// touched: same content, new mtime. stomped: new content of the same size with its
	// mtime put back (only ctime tells). grown: new size.
	st, err := os.Stat(filepath.Join(root, "stomped"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.Chtimes(filepath.Join(root, "touched"), time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "stomped"), []byte("after!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(root, "stomped"), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "grown"), []byte("xx"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(root, "xattred"), "user.new", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}

	opens := watchOpens(t, filepath.Join(root, "same"))
	opens.opens(t) // discard what came before
	w := &Walker{Roots: []Root{{Path: root}}, Fast: true, Prior: func() func(string) *tree.Entry {
		return func(p string) *tree.Entry { return recorded[p] }
	}}
	second := run(t, w)
	second.base = root
	if second.err != nil {
		t.Fatal(second.err)
	}
	if got := second.get(t, "same").Hash; got != planted {
		t.Errorf("same: hash %x, want the recorded one reused", got[:4])
	}
	if got := second.get(t, "same").Xattrs; len(got) != 1 || got[0].Name != "user.planted" {
		t.Errorf("same: xattrs %v, want the recorded ones reused", got)
	}
	if got := second.get(t, "xattred").Xattrs; len(got) != 1 || got[0].Name != "user.new" || string(got[0].Value) != "v" {
		t.Errorf("xattred: xattrs %v, want user.new listed again", got)
	}
	for _, name := range []string{"touched", "stomped", "grown"} {
		e := second.get(t, name)
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !e.Hashed() || e.Hash != blake3.Sum256(data) {
			t.Errorf("%s: not read again (hash %x)", name, e.Hash[:4])
		}
	}
	if n := opens.opens(t)[filepath.Join(root, "same")]; n != 0 {
		t.Errorf("same: opened %d times, want 0", n)
	}
}
