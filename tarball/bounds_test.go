package tarball

import (
	"archive/tar"
	"bytes"
	"fim/internal/fstest"
	"fim/tree"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
)

// TestTruncated cuts archives that GNU tar and bsdtar wrote, plain and gzipped, at every
// block boundary, one byte either side of it, and at random places: every cut before
// the end of the end-of-archive marker is refused with an error saying the archive is
// truncated, and the whole archive, or one cut in the padding that follows the marker,
// is read. The tree has what makes a cut look like an end to archive/tar: members
// whose content ends in zero blocks, one whose content fills its blocks, an empty one,
// long names and a sparse file.
func TestTruncated(t *testing.T) {
	src := t.TempDir()
	zeros := string(make([]byte, 3000))
	for name, body := range map[string]string{
		"zeros-at-end": "data" + zeros,
		"whole-blocks": strings.Repeat("b", 1024),
		"empty":        "",
		"d/small":      "s",
		"d/only-zeros": zeros,
		"long-" + strings.Repeat("d", 90) + "/" + strings.Repeat("n", 90): "long name",
	} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sparseFile(t, filepath.Join(src, "sparse"), 1<<20, "end")
	if err := os.Symlink("d/small", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		tool string
		args []string // before -f FILE -C src .
		gz   bool
	}{
		{"GNU tar posix", "tar", []string{"--format=posix", "--sparse", "-c"}, false},
		{"GNU tar gnu", "tar", []string{"--format=gnu", "--sparse", "-c"}, false},
		{"GNU tar gzip", "tar", []string{"--format=posix", "-cz"}, true},
		{"bsdtar pax", "bsdtar", []string{"--format=pax", "-c"}, false},
		{"bsdtar ustar", "bsdtar", []string{"--format=ustar", "-c"}, false},
		{"bsdtar gzip", "bsdtar", []string{"-cz"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.tool); err != nil {
				fstest.Skipf(t, "%s is not installed", c.tool)
			}
			out := filepath.Join(t.TempDir(), "image.tar")
			cmd := exec.Command(c.tool, append(c.args, "-f", out, "-C", src, ".")...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c.tool, err, msg)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			whole := read(t, data, Options{})
			if whole.err != nil {
				t.Fatalf("the whole archive: %v", whole.err)
			}
			if len(whole.entries) != 11 {
				t.Fatalf("the whole archive: %d entries, want 11", len(whole.entries))
			}
			end := len(data) // a gzip stream is whole only to its last byte
			if !c.gz {
				end = markerEnd(t, data)
			}
			cuts := map[int]bool{}
			if len(data) <= 16<<10 { // a gzip stream: cut everywhere
				for at := 1; at <= len(data); at++ {
					cuts[at] = true
				}
			}
			for b := 0; b <= len(data); b += 512 {
				for _, at := range []int{b - 1, b, b + 1} {
					if at > 0 && at <= len(data) {
						cuts[at] = true
					}
				}
			}
			for range 300 {
				cuts[1+rng.IntN(len(data))] = true
			}
			var refused int
			for at := range cuts {
				r := read(t, data[:at], Options{})
				switch {
				case at < end && r.err == nil:
					t.Errorf("cut at byte %d of %d (the marker ends at %d): read as a whole archive of %d entries", at, len(data), end, len(r.entries))
				case at < end && (strings.Contains(r.err.Error(), "\n") || !strings.Contains(r.err.Error(), "truncated") && !strings.Contains(r.err.Error(), "unexpected EOF")):
					t.Errorf("cut at byte %d: error %q does not say the archive is truncated, on one line", at, r.err)
				case at >= end && r.err != nil:
					t.Errorf("cut at byte %d, after the marker (at %d): %v", at, end, r.err)
				}
				if at < end {
					refused++
				}
			}
			if refused < 300 {
				t.Errorf("only %d cuts before the end of the archive", refused)
			}
		})
	}
}

// markerEnd returns where the end-of-archive marker of a plain archive ends, as
// archive/tar reads it: it stops right after the marker's second zero block.
func markerEnd(t *testing.T, data []byte) int {
	t.Helper()
	in := &counter{r: bytes.NewReader(data)}
	tr := tar.NewReader(in)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	end := int(in.n)
	if end%512 != 0 || end < 1024 || !bytes.Equal(data[end-1024:end], make([]byte, 1024)) {
		t.Fatalf("archive/tar ended the archive at byte %d, not after two zero blocks", end)
	}
	return end
}

// sparseFile writes at p a file of size bytes that holds only tail, at its end.
func sparseFile(t *testing.T, p string, size int64, tail string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(tail), size-int64(len(tail))); err != nil {
		t.Fatal(err)
	}
}

// TestSparseBudget: a sparse member whose holes would have the reader hash more zeros
// than the budget allows, over the whole archive, is recorded too large with a warning,
// never hashed to its end (2^60 bytes in the archive exabyte makes); under the budget
// it is hashed as its extracted content is. MaxFileSize applies to a sparse member's
// real size, and then its holes are not even read.
func TestSparseBudget(t *testing.T) {
	big := exabyte(t)
	t.Logf("a gzipped archive of %d bytes holds a sparse member of 2^60 bytes", len(big))
	for _, c := range []struct {
		name  string
		opt   Options
		warns []string
	}{
		{"over the hole budget", Options{MaxHoles: 1 << 20}, []string{"/big: sparse member of 1152921504606846976 bytes with holes over the budget of 1048576 bytes"}},
		{"over MaxFileSize", Options{MaxFileSize: 1 << 30}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := read(t, big, c.opt)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.entries) != 2 || r.entries[1].Path != "/big" || r.entries[1].Size != 1<<60 ||
				r.entries[1].Flags&tree.FlagTooLarge == 0 || r.entries[1].Hashed() {
				t.Fatalf("entries %+v, want /big of 2^60 bytes, too large and not hashed", r.entries)
			}
			if got := r.warns[:len(r.warns)-1]; !slicesHavePrefixes(got, c.warns) { // the last: the implied root
				t.Errorf("warnings %q, want %q", got, c.warns)
			}
		})
	}

	// Archived by GNU tar: two sparse files of 8 MiB, each mostly hole.
	if _, err := exec.LookPath("tar"); err != nil {
		fstest.Skipf(t, "tar is not installed")
	}
	src := t.TempDir()
	sparseFile(t, filepath.Join(src, "a"), 8<<20, "a's end")
	sparseFile(t, filepath.Join(src, "b"), 8<<20, "b's end")
	for _, format := range []string{"posix", "gnu"} {
		out := filepath.Join(t.TempDir(), "image.tar")
		runTar(t, "--format="+format, "--sparse", "-cf", out, "-C", src, "a", "b")
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			maxHoles int64
			hashed   []bool // a, b
			warns    int
		}{
			{0, []bool{true, true}, 0},           // the default budget
			{12 << 20, []bool{true, false}, 1},   // enough for one
			{1 << 20, []bool{false, false}, 2},   // for neither
			{16<<20 - 14, []bool{true, true}, 0}, // exactly both holes
		} {
			r := read(t, data, Options{MaxHoles: c.maxHoles})
			if r.err != nil {
				t.Fatalf("%s, budget %d: %v", format, c.maxHoles, r.err)
			}
			for i, name := range []string{"a", "b"} {
				e := r.entries[i+1]
				if e.Hashed() != c.hashed[i] || e.Hashed() == (e.Flags&tree.FlagTooLarge != 0) || e.Size != 8<<20 {
					t.Errorf("%s, budget %d: %s hashed %v, flags %#x, size %d", format, c.maxHoles, name, e.Hashed(), e.Flags, e.Size)
				}
				if e.Hashed() {
					content, err := os.ReadFile(filepath.Join(src, name))
					if err != nil {
						t.Fatal(err)
					}
					if e.Hash != blake3.Sum256(content) {
						t.Errorf("%s: the hash of %s is not that of its content", format, name)
					}
				}
			}
			if len(r.warns) != c.warns+1 { // and the implied root
				t.Errorf("%s, budget %d: warnings %q", format, c.maxHoles, r.warns)
			}
		}
	}
}

// slicesHavePrefixes reports whether got[i] starts with want[i] for every i, and the
// lengths match.
func slicesHavePrefixes(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			return false
		}
	}
	return true
}
