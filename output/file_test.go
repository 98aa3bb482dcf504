package output

import (
	"errors"
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFileAppends writes through two sinks opened one after the other, as two runs of
// fim check do: the second appends, and the file fim created is 0600 whatever the umask.
func TestFileAppends(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, spec := range []string{"report.log", "file:report.log"} {
		t.Run(spec, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for _, batch := range []string{"first run\n", "", "second run\nline 2\n"} {
				s, err := Open(spec, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Write([]byte(batch)); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile("report.log")
			if err != nil {
				t.Fatal(err)
			}
			if want := "first run\nsecond run\nline 2\n"; string(got) != want {
				t.Errorf("file holds %q, want %q", got, want)
			}
			fi, err := os.Stat("report.log")
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestFileKeepsMode appends to an existing file without changing its mode.
func TestFileKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "existing.log")
	if err := os.WriteFile(p, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(got) != "old\nnew\n" || fi.Mode().Perm() != 0o640 {
		t.Errorf("file %q mode %v, want %q mode 0640", got, fi.Mode().Perm(), "old\nnew\n")
	}
}

// TestFileSyncs shows that Write fsyncs after writing, and reports an fsync that fails:
// the one regular file whose fsync always fails is in procfs (it has no fsync), and the
// harmless one to write is this thread's name.
func TestFileSyncs(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name, err := os.ReadFile("/proc/thread-self/comm")
	if err != nil {
		fstest.Skipf(t, "no /proc/thread-self/comm: %v", err)
	}
	defer os.WriteFile("/proc/thread-self/comm", name, 0)
	s, err := Open("/proc/thread-self/comm", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Write([]byte("fim-sync-test"))
	if got, _ := os.ReadFile("/proc/thread-self/comm"); string(got) != "fim-sync-test\n" {
		t.Fatalf("the write did not happen: thread name %q", got)
	}
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "sync /proc/thread-self/comm") {
		t.Errorf("Write = %v, want the failed fsync of /proc/thread-self/comm (EINVAL)", err)
	}
}

// TestFileRefuses covers destinations that are not a regular file fim may append to:
// each fails at once with one line naming the file, and nothing blocks.
func TestFileRefuses(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(plain, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A FIFO with a reader opens, and must then be refused rather than written.
	readFifo := filepath.Join(dir, "fifo-read")
	if err := unix.Mkfifo(readFifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(readFifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	for _, tc := range []struct{ path, want string }{
		{dir, "is a directory"},
		{filepath.Join(plain, "x"), "not a directory"},
		{filepath.Join(dir, "missing", "x"), "no such file or directory"},
		{link, "is a symbolic link"},
		{fifo, "no such device or address"}, // no reader: ENXIO, never a wait
		{readFifo, "not a regular file (a FIFO)"},
		{"/dev/null", "not a regular file (a character device)"},
	} {
		start := time.Now()
		s, err := Open(tc.path, Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): no error, want %q", tc.path, tc.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.path) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("Open(%q) = %q, want one line naming the file and saying %q", tc.path, msg, tc.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Open(%q) took %v", tc.path, d)
		}
	}
	if got, _ := os.ReadFile(plain); len(got) != 0 {
		t.Errorf("the symlink's target was written: %q", got)
	}
}

// TestFileUnwritable opens a file in a directory fim may not write: a read-only mount
// for root (whom permissions do not stop), a mode 0500 directory for anyone else.
func TestFileUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	want := "permission denied"
	if os.Geteuid() == 0 {
		if err := unix.Mount("fim-test", dir, "tmpfs", unix.MS_RDONLY, "size=64k"); err != nil {
			fstest.Skipf(t, "mount a read-only tmpfs: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		want = "read-only file system"
	} else if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fim.log")
	s, err := Open(p, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%q): no error", p)
	}
	if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, want) {
		t.Errorf("Open(%q) = %q, want it to name the file and say %q", p, msg, want)
	}
}

// TestFileWriteAfterClose fails clearly instead of writing to a closed descriptor.
func TestFileWriteAfterClose(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	s, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Write([]byte("x\n")); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), p) {
		t.Errorf("Write after Close = %v, want os.ErrClosed naming %s", err, p)
	}
}
