package walk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zeebo/blake3"
)

// childEnv, when set, makes TestUnreadableAsUser the unprivileged child: it walks the
// tree the variable names and prints what it saw after childMarker.
const (
	childEnv    = "FIM_WALK_TEST_CHILD"
	childMarker = "FIM_WALK_CHILD_RESULT "
	nobody      = 65534
)

type childWarning struct{ Path, Err string }

type childResult struct {
	Euid    int
	Entries []tree.Entry
	Warns   []childWarning
	Err     string
}

// TestUnreadableAsUser walks, as user nobody, a tree with a mode-000 file and
// directories that cannot be listed: they are recorded as unreadable with a warning,
// and the walk goes on to their siblings. Root reads everything, so the walk runs in a
// copy of the test binary started with nobody's credentials.
func TestUnreadableAsUser(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		unreadableChild(dir)
		return
	}
	fstest.RequireRoot(t)
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := base + "/tree"
	fstest.Tree{
		"a":            fstest.File("a").Mode(0o644),
		"b-noread":     fstest.File("secret").Mode(0).Xattr("user.k", "v"),
		"c-nolist/":    fstest.Dir().Mode(0),
		"c-nolist/in":  fstest.File("i").Mode(0o644),
		"d":            fstest.File("d").Mode(0o644),
		"e-nosearch/":  fstest.Dir().Mode(0o644),
		"e-nosearch/x": fstest.File("x").Mode(0o644),
		"f-wx/":        fstest.Dir().Mode(0o311),
		"f-wx/x":       fstest.File("x").Mode(0o644),
		"g-owned/":     fstest.Dir().Owner(nobody, nobody).Mode(0o700),
		"g-owned/x":    fstest.File("x").Owner(nobody, nobody).Mode(0o600),
		"h-only-owner": fstest.File("h").Mode(0o600),
		"z":            fstest.File("z").Mode(0o644),
	}.Build(t, root)
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	// The test binary lies in a private build directory: run a copy nobody can reach.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := base + "/walk.test"
	copyFile(t, self, bin, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 2*walkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestUnreadableAsUser$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), childEnv+"="+root)
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			fstest.Skipf(t, "start the walk as nobody: %v", err)
		}
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	var res childResult
	found := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), childMarker); ok {
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("child printed no result:\n%s\nstderr:\n%s", out, stderr.Bytes())
	}
	if res.Euid != nobody {
		t.Fatalf("child ran as uid %d", res.Euid)
	}
	if res.Err != "" {
		t.Fatalf("walk as nobody: %s", res.Err)
	}

	r := &result{base: root}
	for i := range res.Entries {
		r.entries = append(r.entries, &res.Entries[i])
	}
	diffPaths(t, r.paths(), []string{".", "a", "b-noread", "c-nolist", "d", "e-nosearch", "e-nosearch/x",
		"f-wx", "g-owned", "g-owned/x", "h-only-owner", "z"})
	warned := map[string]string{}
	for _, w := range res.Warns {
		warned[r.rel(w.Path)] = w.Err
	}
	for _, c := range []struct {
		name       string
		typ        tree.Type
		unreadable bool
		hash       string // content, for a readable file
	}{
		{".", tree.TypeDir, false, ""},
		{"a", tree.TypeFile, false, "a"},
		{"b-noread", tree.TypeFile, true, ""},
		{"c-nolist", tree.TypeDir, true, ""},
		{"d", tree.TypeFile, false, "d"},
		{"e-nosearch", tree.TypeDir, false, ""},
		{"e-nosearch/x", tree.TypeUnknown, true, ""},
		{"f-wx", tree.TypeDir, true, ""},
		{"g-owned", tree.TypeDir, false, ""},
		{"g-owned/x", tree.TypeFile, false, "x"},
		{"h-only-owner", tree.TypeFile, true, ""},
		{"z", tree.TypeFile, false, "z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := r.get(t, c.name)
			if c.name == "e-nosearch/x" {
				// Named by the listing, but not even stat'ed: what it is is unknown.
				c.typ = e.Type
			}
			if e.Type != c.typ || (e.Flags&tree.FlagUnreadable != 0) != c.unreadable {
				t.Errorf("type %v flags %b, want %v unreadable %v", e.Type, e.Flags, c.typ, c.unreadable)
			}
			if w, ok := warned[c.name]; ok != c.unreadable || ok && !strings.Contains(w, "permission denied") {
				t.Errorf("warning %q (%v), want one about permission: %v", w, ok, c.unreadable)
			}
			if c.typ == tree.TypeFile && !c.unreadable {
				if !e.Hashed() || e.Hash != blake3.Sum256([]byte(c.hash)) {
					t.Errorf("flags %b: not hashed right", e.Flags)
				}
			} else if e.Hashed() || e.Hash != [32]byte{} {
				t.Errorf("flags %b hash %x: hashed", e.Flags, e.Hash)
			}
		})
	}
	if e := r.get(t, "b-noread"); e.Flags&tree.FlagXattrsUnreadable == 0 || e.Size != 6 || e.Mode != 0 {
		t.Errorf("b-noread: flags %b size %d mode %#o: want its stat and FlagXattrsUnreadable", e.Flags, e.Size, e.Mode)
	}
}

// unreadableChild is the unprivileged side of TestUnreadableAsUser.
func unreadableChild(root string) {
	res := childResult{Euid: os.Geteuid()}
	w := &Walker{
		Roots: []Root{{Path: root}},
		Warn:  func(p string, err error) { res.Warns = append(res.Warns, childWarning{p, err.Error()}) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), walkTimeout)
	defer cancel()
	for e, err := range w.Walk(ctx) {
		if err != nil {
			res.Err = err.Error()
			break
		}
		res.Entries = append(res.Entries, *e)
	}
	b, _ := json.Marshal(res)
	fmt.Printf("\n%s%s\n", childMarker, b)
}

func copyFile(t testing.TB, from, to string, perm os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
