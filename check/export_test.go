package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/mtree"
)

// TestExport writes a real baseline as an mtree specification, to a writer and to a
// file that replaces what was there, with mode 0600.
func TestExport(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "x", "d/b": "y"})
	f.baseline(t)
	b, err := Open(f.db, OpenOptions{})
	must(t, err)
	defer b.Close()
	var stdout bytes.Buffer
	must(t, Export(b, &stdout, "-", mtree.WriteOptions{}))
	if !strings.Contains(stdout.String(), f.tree+"/d/b type=file") {
		t.Errorf("no line of d/b in\n%s", stdout.String())
	}
	out := filepath.Join(f.dir, "spec")
	write(t, out, "what was there")
	must(t, Export(b, nil, out, mtree.WriteOptions{}))
	got, err := os.ReadFile(out)
	must(t, err)
	if !bytes.Equal(got, stdout.Bytes()) {
		t.Errorf("the file holds\n%s\nthe writer got\n%s", got, stdout.String())
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", st.Mode(), err)
	}
	missing := filepath.Join(f.dir, "none", "spec")
	if err := Export(b, nil, missing, mtree.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "export not written, "+missing+" unchanged") {
		t.Errorf("into a missing directory: %v", err)
	}
}
