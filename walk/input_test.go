package walk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadInput: a regular file up to the limit is read, through a symlink too;
// anything else fails at once, naming the file.
func TestReadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("k", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("at-limit", link); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		size int   // read
		err  error // or this
		msg  string
	}{
		{"empty", write("empty", 0), 0, nil, ""},
		{"at the limit", write("at-limit", 1024), 1024, nil, ""},
		{"symlink to a file", link, 1024, nil, ""},
		{"over the limit", write("over", 1025), 0, ErrTooLarge, "too large: more than 1 KiB"},
		{"FIFO", fifo, 0, ErrNotRegular, "not a regular file (a FIFO)"},
		{"directory", dir, 0, ErrNotRegular, "not a regular file (a directory)"},
		{"device", "/dev/zero", 0, ErrNotRegular, "not a regular file (a character device)"},
		{"symlink to a device", zero, 0, ErrNotRegular, "not a regular file (a character device)"},
		{"missing", filepath.Join(dir, "missing"), 0, os.ErrNotExist, "no such file"},
	} {
		data, err := ReadInput(tc.path, 1024)
		if tc.err == nil {
			if err != nil || len(data) != tc.size {
				t.Errorf("%s: %d bytes, %v; want %d bytes", tc.name, len(data), err, tc.size)
			}
			continue
		}
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.path+": "+tc.msg) {
			t.Errorf("%s: %v; want an error naming %s and saying %q", tc.name, err, tc.path, tc.msg)
		}
	}
	if _, err := OpenInput(dir, true); !strings.Contains(err.Error(), "(a directory; want a regular file or a pipe)") {
		t.Errorf("OpenInput of a directory with pipes allowed: %v", err)
	}
}
