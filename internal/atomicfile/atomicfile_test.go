package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := Write(path, 0o644, write("one\n")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Write(path, 0o600, func(w io.Writer) error { io.WriteString(w, "part"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed write: %v", err)
	}
	data, err := os.ReadFile(path)
	st, serr := os.Stat(path)
	if err != nil || serr != nil || string(data) != "one\n" || st.Mode().Perm() != 0o644 {
		t.Fatalf("after a failed write: %q %v %v", data, err, serr)
	}
	if err := Write(path, 0o600, write("two\n")); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	st, _ = os.Stat(path)
	if string(data) != "two\n" || st.Mode().Perm() != 0o600 {
		t.Fatalf("replaced: %q %v", data, st.Mode())
	}
	names, _ := os.ReadDir(dir)
	if len(names) != 1 {
		t.Fatalf("temporary files left: %v", names)
	}
	if err := Write(filepath.Join(dir, "no", "f"), 0o644, write("x")); err == nil || !strings.Contains(err.Error(), "no") {
		t.Fatalf("a missing directory: %v", err)
	}
}
