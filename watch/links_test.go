package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchLinksOutside changes files of the root through hard links in a directory
// outside it, on the same filesystem, under each backend: links made before watch
// starts, made into the root while it runs, and made outside while it runs to a file
// fim has looked at since. Each change is reported under the file's name in the root by
// the backend (not a rescan), with its writer under fanotify, although the kernel names
// the path outside, in a directory fanotify was told to ignore.
func TestWatchLinksOutside(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			fs := tmpfs(t)
			root, out := filepath.Join(fs, "w"), filepath.Join(fs, "out")
			for _, d := range []string{filepath.Join(root, "~sync"), out} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{filepath.Join(root, "before"), filepath.Join(out, "into"), filepath.Join(root, "after")} {
				if err := os.WriteFile(name, []byte("0123456789"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Link(filepath.Join(root, "before"), filepath.Join(out, "before")); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, backend, root)
			pid := func(p int) int {
				if backend == "fanotify" {
					return p
				}
				return 0
			}
			// An event in the directory outside has fanotify ignore it from now on.
			r.run("touch", filepath.Join(out, "other"))
			r.expect(backend, 0)

			p := r.writeAs("write", filepath.Join(out, "before"))
			r.expect(backend, pid(p), "change T/before [content,mtime,ctime]")

			r.run("ln", filepath.Join(out, "into"), "into")
			r.expect(backend, 0, "create T/into")
			p = r.writeAs("write", filepath.Join(out, "into"))
			r.expect(backend, pid(p), "change T/into [content,mtime,ctime]")

			// A link made outside to a file with one link names no path in the root:
			// the next look at the file finds it.
			r.run("ln", "after", filepath.Join(out, "after"))
			r.run("chmod", "600", "after")
			r.expect(backend, 0, "chmod T/after [mode,ctime,nlink]")
			p = r.writeAs("write", filepath.Join(out, "after"))
			r.expect(backend, pid(p), "change T/after [content,mtime,ctime]")

			// The links outside go: the files are watched by their names again.
			for _, name := range []string{"before", "into", "after"} {
				r.run("rm", filepath.Join(out, name))
			}
			r.expect(backend, 0, "chmod T/before [ctime,nlink]", "chmod T/into [ctime,nlink]", "chmod T/after [ctime,nlink]")
			if n := r.w.links.count(); n != 0 {
				t.Errorf("%d files watched by their inode, want 0", n)
			}
		})
	}
}

// TestWatchLinksBound makes more files with a link outside the root than fim watches by
// their inode: linkMax are, the others are left to the rescan, and fim says so.
func TestWatchLinksBound(t *testing.T) {
	fs := tmpfs(t)
	root, out := filepath.Join(fs, "w"), filepath.Join(fs, "out")
	for _, d := range []string{filepath.Join(root, "~sync"), out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range linkMax + 10 {
		name := fmt.Sprintf("f%d", i)
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(filepath.Join(root, name), filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	var said []string
	r := startWatcher(t, "fsnotify", root, func(w *Watcher) {
		logf := w.Logf
		w.Logf = func(format string, args ...any) {
			if msg := fmt.Sprintf(format, args...); strings.Contains(msg, "more than one link") {
				said = append(said, msg)
			}
			logf(format, args...)
		}
	})
	if n := r.w.links.count(); n != linkMax {
		t.Errorf("%d files watched by their inode, want %d", n, linkMax)
	}
	if len(said) != 1 {
		t.Errorf("said %q, want one notice", said)
	}
}
