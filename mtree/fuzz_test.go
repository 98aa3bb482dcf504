package mtree

import (
	"bytes"
	"fim/tree"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary specs to Parse and Entries (without a layout). Neither may
// panic; errors are one line; and whatever imports writes back (Write) to a spec that
// imports to the same entries.
func FuzzParse(f *testing.F) {
	specs, _ := filepath.Glob(filepath.Join("testdata", "*.spec"))
	for _, file := range specs {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"/set type=file\n. type=dir\na\\sb size=1 time=1.5 mode=0644\nd type=dir\n..\n..\n",
		"#mtree\n./a/b type=link link=x\\040y\n./c type=char device=native,1,3 blake3digest=" + strings.Repeat("ab", 32) + "\n",
		". type=dir\nx \\\n type=file\n/unset all\n./\\M-C\\M-<\\M-/ type=fifo uname=root\n",
		". type=dir tags=fim-unrecorded\n./d type=dir tags=fim-unrecorded\n./d/f type=file nlink=0 time=-9.999999999\n",
		"", "#mtree\n/set type=file\n# no entries\n", // refused: no entries
		". type=dir tags=fim-unrecorded\n", // refused: nothing to record
		"# fim-unrecorded\n. type=dir\n/set nlink=1\n./d type=dir\n/unset nlink\n# fim-unrecorded\n./e type=dir\n# fim-unrecorded\n..\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(bytes.NewReader(data), "spec")
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "spec:") {
				t.Fatalf("error not one line naming the spec: %q", err)
			}
			return
		}
		first, _, err := Entries(spec, ImportOptions{})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error not one line: %q", err)
			}
			return
		}
		for i := 1; i < len(first); i++ {
			if tree.ComparePaths(first[i-1].Path, first[i].Path) >= 0 {
				t.Fatalf("entries out of key order: %q, %q", first[i-1].Path, first[i].Path)
			}
		}
		var out bytes.Buffer
		if err := Write(&out, tree.Entries(first), WriteOptions{}); err != nil {
			t.Fatalf("Write of imported entries: %v", err)
		}
		again, err := Parse(bytes.NewReader(out.Bytes()), "again")
		if err != nil {
			t.Fatalf("Parse of written spec: %v\n%s", err, out.Bytes())
		}
		second, _, err := Entries(again, ImportOptions{})
		if err != nil {
			t.Fatalf("Entries of written spec: %v\n%s", err, out.Bytes())
		}
		if len(first) != len(second) {
			t.Fatalf("%d entries, %d after writing them\n%s", len(first), len(second), out.Bytes())
		}
		for i, a := range first {
			b := second[i]
			if a.Path != b.Path || a.Type != b.Type || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID ||
				a.Size != b.Size || a.Mtime != b.Mtime || a.Nlink != b.Nlink || a.Rdev != b.Rdev ||
				a.LinkTarget != b.LinkTarget || a.Flags != b.Flags || a.Hash != b.Hash {
				t.Fatalf("entry changed by Write and Parse\nbefore: %+v\n after: %+v\n%s", *a, *b, out.Bytes())
			}
		}
	})
}
