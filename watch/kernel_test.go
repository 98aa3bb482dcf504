package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
	"fim/walk"
)

// writerEnv makes the test binary a writer of the tests below: another process, as
// fanotify leaves out the watcher's own, that changes a file in one of the ways the
// kernel reports differently.
const writerEnv = "FIM_TEST_WRITER"

func TestMain(m *testing.M) {
	if how := os.Getenv(writerEnv); how != "" {
		var err error
		switch how {
		case "churn":
			err = churn(os.Args[1])
		case "flood":
			err = flood(os.Args[1])
		case "burst":
			err = burst(os.Args[1])
		case "deep":
			err = deepWrite(os.Args[1])
		case "hold":
			err = holdWrite(os.Args[1])
		default:
			err = write(how, os.Args[1])
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s %s: %v\n", how, os.Args[1], err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// write overwrites the file at p with as many 'x' as it has bytes.
func write(how, p string) error {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	data := make([]byte, st.Size)
	for i := range data {
		data[i] = 'x'
	}
	switch how {
	case "write": // write(2), then close: modify and close-write
		_, err = unix.Pwrite(fd, data, 0)
		return err
	case "mmap": // through a shared mapping: no modify event at all, close-write at the end
		m, err := unix.Mmap(fd, 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		copy(m, data)
		if err := unix.Msync(m, unix.MS_SYNC); err != nil {
			return err
		}
		return unix.Munmap(m)
	case "aio": // Linux AIO (io_submit): no modify event either
		return aioWrite(fd, data)
	}
	return fmt.Errorf("unknown writer %q", how)
}

// iocb is struct iocb of linux/aio_abi.h (little-endian layout).
type iocb struct {
	_      uint64 // aio_data
	_      uint32 // aio_key
	_      uint32 // aio_rw_flags
	opcode uint16
	_      int16 // aio_reqprio
	fildes uint32
	buf    uint64
	nbytes uint64
	_      int64  // aio_offset: 0
	_      uint64 // aio_reserved2
	_      uint32 // aio_flags
	_      uint32 // aio_resfd
}

// aioWrite writes data at offset 0 with io_submit and waits for it.
func aioWrite(fd int, data []byte) error {
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return fmt.Errorf("io_setup: %w", e)
	}
	defer unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0)
	cb := iocb{opcode: 1 /* IOCB_CMD_PWRITE */, fildes: uint32(fd),
		buf: uint64(uintptr(unsafe.Pointer(&data[0]))), nbytes: uint64(len(data))}
	cbs := []*iocb{&cb}
	if _, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, ctx, 1, uintptr(unsafe.Pointer(&cbs[0]))); e != 0 {
		return fmt.Errorf("io_submit: %w", e)
	}
	var ev [4]uint64 // struct io_event
	if _, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, ctx, 1, 1, uintptr(unsafe.Pointer(&ev[0])), 0, 0); e != 0 {
		return fmt.Errorf("io_getevents: %w", e)
	}
	if res := int64(ev[2]); res != int64(len(data)) {
		return fmt.Errorf("aio write: result %d, want %d", res, len(data))
	}
	return nil
}

// writeAs runs the test binary as a writer of p, and returns its pid.
func (r *watcherRig) writeAs(how, p string) int {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], p)
	cmd.Env = append(os.Environ(), writerEnv+"="+how)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("writer %s %s: %v\n%s", how, p, err, out)
	}
	return cmd.Process.Pid
}

// TestWatchContentWithoutModify changes a file's content in each way the kernel
// reports, under each backend: with write(2), through a shared mapping and with Linux
// AIO. The last two make no modify event; the close of the file does, and each change
// is reported with its writer when the backend names one.
func TestWatchContentWithoutModify(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			hows := []string{"write", "mmap", "aio"}
			for _, how := range hows {
				if err := os.WriteFile(filepath.Join(root, how), []byte("0123456789"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := startWatcher(t, backend, root)
			for _, how := range hows {
				pid := r.writeAs(how, filepath.Join(root, how))
				if backend != "fanotify" {
					pid = 0
				}
				r.expect(backend, pid, "change T/"+how+" [content,mtime,ctime]")
			}
		})
	}
}

// churnDirs is how many directories the churner makes, each with a file: more than
// the watcher keeps directory paths of.
const churnDirs = dirCacheMax + 1000

// churn makes churnDirs directories in dir and writes a file in each, while four
// more writers create and remove files there as fast as they can until stdin ends:
// what any user can do in /tmp.
func churn(dir string) error {
	stop := make(chan struct{})
	stdinDone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinDone)
	}()
	errs := make(chan error, 5)
	for w := range 4 {
		go func() {
			t := filepath.Join(dir, fmt.Sprintf("t%d", w))
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if err := os.WriteFile(t, nil, 0o644); err != nil {
					errs <- err
					return
				}
				if err := os.Remove(t); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
	for i := range churnDirs {
		d := filepath.Join(dir, fmt.Sprintf("d%d", i))
		if err = os.Mkdir(d, 0o755); err != nil {
			break
		}
		if err = os.WriteFile(filepath.Join(d, "f"), nil, 0o644); err != nil {
			break
		}
	}
	<-stdinDone
	close(stop)
	for range 4 {
		err = errors.Join(err, <-errs)
	}
	return err
}

// TestWatchChurnOutside has an unprivileged user churn files and directories outside
// the watched tree, on its filesystem, while changes are made inside: every change
// inside is reported, the kernel's queue does not overflow (the events outside are
// left out where the kernel can leave them out), and the paths the watcher keeps of
// directories stay bounded.
func TestWatchChurnOutside(t *testing.T) {
	fs := tmpfs(t)
	// nobody must reach the tmpfs through t.TempDir's private directories.
	for d := fs; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, out := filepath.Join(fs, "w"), filepath.Join(fs, "out")
	if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(out, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// The test binary, where nobody can run it.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(fs, "churn")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	r := startWatcher(t, "fanotify", root)
	cmd := exec.Command(bin, out)
	cmd.Env = append(os.Environ(), writerEnv+"=churn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const inside = 50
	for i := range inside {
		r.run("tee", fmt.Sprintf("f%d", i))
		r.expect("fanotify", 0, fmt.Sprintf("create T/f%d", i))
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("churner: %v\n%s", err, output.Bytes())
	}
	r.expect("fanotify", 0)
	// A directory the kernel was told to ignore moves into the root: what happens in
	// it from then on is reported.
	r.run("mv", filepath.Join(out, "d0"), "moved")
	r.expect("fanotify", 0, "create T/moved", "create T/moved/f")
	r.run("sh", "-c", "printf x >>moved/f") // one write: one change
	r.expect("fanotify", 0, "change T/moved/f [content,size,mtime,ctime]")
	if n := r.lost.Load(); n != 0 {
		t.Errorf("%d overflows while %d changes were made inside", n, inside)
	}
	// Each directory outside reaches the watcher about once: then it is marked.
	if n := r.w.fan.outside.Load(); n > 2*churnDirs {
		t.Errorf("%d events outside the root read for %d directories churned outside", n, churnDirs)
	}
	if n := r.w.fan.cached(); n > dirCacheMax {
		t.Errorf("%d directory paths kept, more than %d", n, dirCacheMax)
	}
}

// floodFiles is how many files the flood writer makes: more events than the kernel
// queues (16384 by default) and the watcher holds together.
const floodFiles = 40000

// flood makes floodFiles empty files in dir.
func flood(dir string) error {
	for i := range floodFiles {
		fd, err := unix.Open(filepath.Join(dir, fmt.Sprint(i)), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		unix.Close(fd)
	}
	return nil
}

// burstPlan is what the burst writer makes below root, in order: 50,000 files over 8
// directories, one of which gets a new subdirectory every 2,000 files, that its next
// files go to. dirs are made before the files in them.
func burstPlan(root string) (dirs, files []string) {
	const burstFiles, burstDirs, burstNewDir = 50000, 8, 2000
	into := make([]string, burstDirs)
	for d := range into {
		into[d] = filepath.Join(root, fmt.Sprintf("d%d", d))
		dirs = append(dirs, into[d])
	}
	for i := range burstFiles {
		d := i % burstDirs
		if d == 0 && i > 0 && i%burstNewDir == 0 {
			into[d] = filepath.Join(dirs[d], fmt.Sprintf("s%05d", i))
			dirs = append(dirs, into[d])
		}
		files = append(files, filepath.Join(into[d], fmt.Sprintf("f%05d", i)))
	}
	return dirs, files
}

// burst makes what burstPlan says below root, as fast as it can.
func burst(root string) error {
	dirs, files := burstPlan(root)
	made := map[string]bool{}
	for _, f := range files {
		if dir := filepath.Dir(f); !made[dir] {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			made[dir] = true
		}
		// Empty: a file written after its create could honestly be reported twice,
		// as made and as written.
		fd, err := unix.Open(f, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		if err := unix.Close(fd); err != nil {
			return err
		}
	}
	if len(made) != len(dirs) {
		return fmt.Errorf("%d directories made, %d planned", len(made), len(dirs))
	}
	return nil
}

// TestWatchBurst makes 50,000 empty files as fast as a writer can, over several
// directories and new directories made meanwhile, under each backend, while the
// events are not read: with a kernel queue that holds the burst (see
// DefaultQueuedEvents), nothing overflows, every file is reported once, and every file and
// directory is first reported as created by the backend (with the writer, under
// fanotify), not by a rescan. A directory may be reported again as changed: entries
// were made in it after it was looked at.
func TestWatchBurst(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, backend, root)
			// Nothing reads the events while the writer runs, as with a collector
			// that stalls: the burst waits in the kernel's queue, which must hold it.
			pid := r.writeAs("burst", root)
			var got []diff.Event
			r.settle(func(ev diff.Event) { got = append(got, ev) })
			overflows := 0
			if r.w.fan != nil {
				overflows += r.w.fan.rescans.overflows()
			}
			if r.w.fsn != nil {
				overflows += r.w.fsn.rescans.overflows()
			}
			if overflows != 0 || r.lost.Load() != 0 {
				t.Errorf("%d kernel queue overflows, %d rescans for lost events; want none", overflows, r.lost.Load())
			}
			dirs, files := burstPlan(root)
			want := map[string]bool{}
			for _, p := range append(dirs, files...) {
				want[p] = true
			}
			seen := map[string]int{}
			bad := 0
			for _, ev := range got {
				if !want[ev.Path] {
					continue // the directories the files went to changed too
				}
				seen[ev.Path]++
				ok := ev.Kind == diff.Create && ev.Source == backend && seen[ev.Path] == 1
				if backend == "fanotify" && (ev.Process == nil || ev.Process.PID != pid) {
					ok = false
				}
				if seen[ev.Path] > 1 && ev.Kind == diff.Change && ev.After != nil && ev.After.Type == tree.TypeDir {
					ok = true
				}
				if !ok && bad < 10 {
					t.Errorf("%s %s: source %s, process %+v, report %d (want one create by %s, of pid %d)",
						ev.Kind, ev.Path, ev.Source, ev.Process, seen[ev.Path], backend, pid)
				}
				if !ok {
					bad++
				}
			}
			missed := 0
			for p := range want {
				if seen[p] == 0 {
					if missed < 5 {
						t.Errorf("%s: never reported", p)
					}
					missed++
				}
			}
			if missed+bad > 0 {
				t.Errorf("%d of %d paths never reported, %d events not the one create by %s", missed, len(want), bad, backend)
			}
		})
	}
}

// TestWatchFold changes more paths than the state holds in memory, under each
// backend: the state goes to its own file, and what follows is compared with it (a
// file created and folded away is reported as removed, a file of the start as changed
// and removed); the file goes when watch ends.
func TestWatchFold(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"a", "b"} {
				if err := os.WriteFile(filepath.Join(root, name), []byte(name), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var folded atomic.Value
			r := startWatcher(t, backend, root, func(w *Watcher) {
				w.foldAt = 10
				logf := w.Logf
				w.Logf = func(format string, args ...any) {
					if msg := fmt.Sprintf(format, args...); strings.HasPrefix(msg, "watch: state: ") {
						folded.Store(msg[strings.LastIndex(msg, " in ")+4 : strings.Index(msg, " from now on")])
					}
					logf(format, args...)
				}
			})
			var script string
			var want []string
			for i := range 40 {
				script += fmt.Sprintf(": >n%02d;", i) // made empty; touch would set the times after
				want = append(want, fmt.Sprintf("create T/n%02d", i))
			}
			r.run("sh", "-c", script)
			r.expect(backend, 0, want...)
			dir, _ := folded.Load().(string)
			if dir == "" {
				t.Fatal("40 paths changed, and the state was not folded")
			}
			if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
				t.Fatalf("state file: %v", err)
			}
			r.run("rm", "n05", "b")
			r.run("sh", "-c", "echo more >>a")
			r.expect(backend, 0, "remove T/n05", "remove T/b", "change T/a [content,size,mtime,ctime]")
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state directory %s after watch ended: %v", dir, err)
			}
		})
	}
}

// TestWatchFoldOwnBaseline folds the state of a watch whose baseline lies in the
// watched tree: the baseline stays fim's own file, which no rescan reports.
func TestWatchFoldOwnBaseline(t *testing.T) {
	root := filepath.Join(tmpfs(t), "w")
	for _, d := range []string{"~sync", "db"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	made := filepath.Join(t.TempDir(), "fim.db")
	wr, err := baseline.Create(made)
	if err != nil {
		t.Fatal(err)
	}
	walker := &walk.Walker{Roots: []walk.Root{{Path: root}}}
	for _, e := range fstest.Collect(t, walker.Walk(context.Background())) {
		if err := wr.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := wr.Commit(baseline.Meta{Policy: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(root, "db", "fim.db")
	data, err := os.ReadFile(made)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startWatcher(t, "fsnotify", root, func(w *Watcher) {
		w.DB, w.foldAt, w.Interval = db, 10, 200*time.Millisecond
	})
	var script string
	for i := range 30 {
		script += fmt.Sprintf(": >n%02d;", i)
	}
	own := func(ev diff.Event) {
		if tree.IsWithin(ev.Path, db) {
			t.Errorf("%s %s (source %s): fim's own baseline reported", ev.Kind, ev.Path, ev.Source)
		}
	}
	r.run("sh", "-c", script)
	r.settle(own)
	time.Sleep(time.Second) // periodic rescans, after the fold
	r.settle(own)
}

// TestWatchOverflow overflows the kernel's queue while a directory is made, under each
// backend: the rescan reports it, and what happens in it afterwards is reported by the
// backend itself.
func TestWatchOverflow(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			for _, d := range []string{"~sync", "flood"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// The system's queue (16384 events by default), which the flood overflows.
			r := startWatcher(t, backend, root, func(w *Watcher) { w.QueuedEvents = -1 })
			// Nothing reads the events meanwhile: the watcher stops on its full
			// channel, then the kernel's queue fills.
			r.writeAs("flood", filepath.Join(root, "flood"))
			r.run("mkdir", "new")
			created := false
			r.settle(func(ev diff.Event) {
				created = created || ev.Kind == diff.Create && ev.Path == filepath.Join(root, "new")
			})
			if !created || r.lost.Load() == 0 {
				t.Fatalf("create of T/new reported: %v; overflows: %d (want one at least)", created, r.lost.Load())
			}
			pid := r.run("tee", "new/f")
			if backend != "fanotify" {
				pid = 0
			}
			r.expect(backend, pid, "create T/new/f")
		})
	}
}

// settle makes a sentinel directory and reads the events up to it, whatever they are,
// handing each to seen (if not nil). It gives up when no event comes for a while.
func (r *watcherRig) settle(seen func(diff.Event)) {
	r.t.Helper()
	r.syncs++
	sentinel := filepath.Join(r.root, "~sync", fmt.Sprint(r.syncs))
	r.run("mkdir", "-p", sentinel)
	for {
		select {
		case ev := <-r.events:
			if ev.Kind == diff.Create && ev.Path == sentinel {
				return
			}
			if seen != nil {
				seen(ev)
			}
		case <-time.After(eventTimeout):
			r.t.Fatalf("no sentinel, and no event for %v", eventTimeout)
		}
	}
}

// TestWatchRootAgain removes the watched root and makes it again, under each backend:
// what happens in the new one is reported by the backend.
func TestWatchRootAgain(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			fs := tmpfs(t)
			root := filepath.Join(fs, "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, backend, root)
			pidOf := func(pid int) int {
				if backend == "fanotify" {
					return pid
				}
				return 0
			}
			for _, again := range [][]string{
				{"sh", "-c", "rm -r w && mkdir w"},
				{"sh", "-c", "mv w w.old && mkdir w"},
				{"sh", "-c", "mkdir -p other/~sync && rm -r w && mv other w"},
			} {
				cmd := exec.Command(again[0], again[1:]...)
				cmd.Dir = fs
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%q: %v\n%s", again, err, out)
				}
				r.settle(nil)
				r.expect(backend, pidOf(r.run("tee", "new")), "create T/new")
				r.expect(backend, pidOf(r.run("rm", "new")), "remove T/new")
			}
		})
	}
}

// TestWatchCrossMounts watches a root that crosses mounts, under each backend: a
// change on the filesystem mounted below it is reported by the backend.
func TestWatchCrossMounts(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			inner := filepath.Join(root, "inner")
			for _, d := range []string{"~sync", "inner"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := unix.Mount("tmpfs", inner, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := unix.Unmount(inner, 0); err != nil {
					t.Errorf("unmount %s: %v", inner, err)
					unix.Unmount(inner, unix.MNT_DETACH)
				}
			})
			r := startWatcher(t, backend, root, func(w *Watcher) { w.Walker.Roots[0].CrossMounts = true })
			pid := r.run("tee", "inner/f")
			if backend != "fanotify" {
				pid = 0
			}
			r.expect(backend, pid, "create T/inner/f")
		})
	}
}

var mountinfoCases = []struct {
	name string
	data string
	want []Mount
	err  string
}{
	{"empty", "", nil, ""},
	{"two", "21 26 0:20 / /proc rw,relatime - proc proc rw\n36 26 0:33 /sub /mnt/a\\040b rw - tmpfs tmpfs rw\n",
		[]Mount{{21, "0:20", "/", "/proc"}, {36, "0:33", "/sub", "/mnt/a b"}}, ""},
	{"backslash", `1 2 0:1 / /a\134b rw - x x rw`, []Mount{{1, "0:1", "/", `/a\b`}}, ""},
	{"short line", "21 26 0:20 /\n", nil, "line 1: 4 fields"},
	{"bad id", "x 26 0:20 / /p rw - proc proc rw", nil, `mount id "x"`},
	{"short escape", `1 2 0:1 / /a\13 rw`, nil, "bad escape"},
	{"bad escape", `1 2 0:1 / /a\9zz rw`, nil, "bad escape"},
}

func TestParseMountinfo(t *testing.T) {
	for _, c := range mountinfoCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseMountinfo([]byte(c.data))
			wantDecoded(t, got, err, c.want, c.err)
		})
	}
}

// FuzzParseMountinfo checks that no input makes ParseMountinfo panic, and that each
// mount comes from a line of its own.
func FuzzParseMountinfo(f *testing.F) {
	for _, c := range mountinfoCases {
		f.Add([]byte(c.data))
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mounts, _ := ParseMountinfo(data)
		if len(mounts) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d mounts from %d lines", len(mounts), bytes.Count(data, []byte("\n"))+1)
		}
		for _, m := range mounts {
			if len(m.Point) > len(data) || len(m.Root) > len(data) {
				t.Fatalf("mount %+v larger than the input", m)
			}
		}
	})
}

// deepWrite creates the file f in dir, a path too long for one system call, by
// changing into it one name at a time.
func deepWrite(dir string) error {
	for _, name := range strings.Split(dir, "/") {
		if name == "" {
			name = "/"
		}
		if err := os.Chdir(name); err != nil {
			return err
		}
	}
	// Written unnamed, then linked in: the file appears whole, so that it is reported
	// once, as created, however soon it is looked at.
	fd, err := unix.Open(".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("deep")); err != nil {
		return err
	}
	return unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, "f", unix.AT_SYMLINK_FOLLOW)
}

// TestWatchBeyondPathMax writes in a directory whose path is longer than PATH_MAX,
// under each backend: the change is reported by the backend, with its whole path.
func TestWatchBeyondPathMax(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			name := strings.Repeat("d", 200)
			fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			deep := root
			for range 22 {
				if err := unix.Mkdirat(fd, name, 0o755); err != nil {
					t.Fatal(err)
				}
				next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				unix.Close(fd)
				if err != nil {
					t.Fatal(err)
				}
				fd, deep = next, deep+"/"+name
			}
			unix.Close(fd)
			if len(deep) < unix.PathMax {
				t.Fatalf("path of %d bytes is not beyond PATH_MAX", len(deep))
			}
			r := startWatcher(t, backend, root)
			pid := r.writeAs("deep", deep)
			if backend != "fanotify" {
				pid = 0
			}
			r.expect(backend, pid, "create T"+strings.TrimPrefix(deep, root)+"/f")
		})
	}
}

// TestWatchTwoMounts watches two roots on one filesystem, one reached through a bind
// mount of another of its directories: changes in each are reported under its path.
func TestWatchTwoMounts(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			fs := tmpfs(t)
			root, bind := filepath.Join(fs, "data", "a"), filepath.Join(fs, "bind")
			for _, d := range []string{"data/a/~sync", "data/b", "bind"} {
				if err := os.MkdirAll(filepath.Join(fs, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := unix.Mount(filepath.Join(fs, "data", "b"), bind, "", unix.MS_BIND, ""); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })
			r := startWatcher(t, backend, root, func(w *Watcher) {
				w.Walker.Roots = append(w.Walker.Roots, walk.Root{Path: bind})
			})
			pidOf := func(pid int) int {
				if backend == "fanotify" {
					return pid
				}
				return 0
			}
			r.expect(backend, pidOf(r.run("tee", filepath.Join(bind, "x"))), "create T"+filepath.Join(bind, "x"))
			r.expect(backend, pidOf(r.run("tee", "y")), "create T/y")
		})
	}
}

// TestWatchSameFsid watches two filesystems with one id, an image and its copy: each
// change is reported under its own path, the copy's by inotify, since fanotify could
// not tell their events apart.
func TestWatchSameFsid(t *testing.T) {
	dir := tmpfs(t)
	var roots []string
	for _, name := range []string{"one", "two"} {
		img, mnt := filepath.Join(dir, name+".img"), filepath.Join(dir, name)
		if name == "one" {
			if out, err := exec.Command("sh", "-c", "truncate -s 8M "+img+" && mkfs.ext4 -q "+img).CombinedOutput(); err != nil {
				fstest.Skipf(t, "mkfs.ext4: %v\n%s", err, out)
			}
		} else if out, err := exec.Command("cp", filepath.Join(dir, "one.img"), img).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
			fstest.Skipf(t, "mount -o loop: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v\n%s", mnt, err, out)
			}
		})
		roots = append(roots, filepath.Join(mnt, "w"))
	}
	if a, b := must1(fsidOf(filepath.Dir(roots[0]))), must1(fsidOf(filepath.Dir(roots[1]))); a != b {
		t.Fatalf("filesystem ids %x and %x: not a copy", a, b)
	}
	for _, r := range roots {
		if err := os.MkdirAll(filepath.Join(r, "~sync"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := startWatcher(t, "fanotify", roots[0], func(w *Watcher) {
		w.Backend = "auto"
		w.Walker.Roots = append(w.Walker.Roots, walk.Root{Path: roots[1]})
	})
	// Its events come by another way than those of the first root: the sentinel is
	// made in the second.
	r.root = roots[1]
	r.run("tee", "x")
	r.expect("fsnotify", 0, "create T/x")
	r.root = roots[0]
	pid := r.run("tee", "y")
	r.expect("fanotify", pid, "create T/y")
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestWatchRemount unmounts the filesystem of the watched root and mounts another
// there, under each backend: what happens on the new one is reported by the backend.
func TestWatchRemount(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			// Each filesystem has a file of its own, whose create says that fim
			// has seen it.
			mounts := 0
			mount := func() {
				t.Helper()
				if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=1m"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
				if err := os.Mkdir(filepath.Join(root, "~sync"), 0o755); err != nil {
					t.Fatal(err)
				}
				mounts++
				// By another process: fanotify leaves out the watcher's own changes.
				if out, err := exec.Command("touch", filepath.Join(root, fmt.Sprint("fs", mounts))).CombinedOutput(); err != nil {
					t.Fatalf("touch: %v\n%s", err, out)
				}
			}
			mount()
			r := startWatcher(t, backend, root)
			pidOf := func(pid int) int {
				if backend == "fanotify" {
					return pid
				}
				return 0
			}
			if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
				t.Fatal(err)
			}
			r.settle(nil)
			r.expect(backend, pidOf(r.run("tee", "under")), "create T/under")
			// What the new filesystem hides is gone from the watched tree, and what
			// it holds is there; these may come after the sentinel of a settle.
			hidden := func(name string) {
				t.Helper()
				gone, seen := false, false
				look := func(ev diff.Event) {
					gone = gone || ev.Kind == diff.Remove && ev.Path == filepath.Join(root, name)
					seen = seen || ev.Kind == diff.Create && ev.Path == filepath.Join(root, fmt.Sprint("fs", mounts))
				}
				r.settle(look)
				for !gone || !seen {
					select {
					case ev := <-r.events:
						look(ev)
					case <-time.After(eventTimeout):
						t.Fatalf("%s, hidden by the mount, not reported removed (%v), or fs%d not reported (%v)", name, gone, mounts, seen)
					}
				}
			}
			mount()
			hidden("under")
			r.expect(backend, pidOf(r.run("tee", "new")), "create T/new")
			// Unmounted and mounted again at once, or a few milliseconds later: the
			// new filesystem may get the mount id and device number of the one before
			// it, and the kernel may not say that it was mounted (it wakes no poller
			// of mountinfo for a mount made just after an unmount at the same place).
			// What is made on it as soon as fim has seen the remount is reported with
			// its process: the filesystem was marked before the rescan that saw it.
			// The directory under the mount point is emptied but for ~sync, as
			// each new filesystem is: a rescan that sees it between the unmount and
			// the mount reports what a rescan of the new filesystem does.
			under := t.TempDir()
			if err := unix.Mount(filepath.Dir(root), under, "", unix.MS_BIND, ""); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"under", "~sync"} {
				if err := os.RemoveAll(filepath.Join(under, "w", p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(under, "w", "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Unmount(under, 0); err != nil {
				t.Fatal(err)
			}
			last := "new"
			for i, gap := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 0, 2 * time.Millisecond, 5 * time.Millisecond} {
				if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
					t.Fatal(err)
				}
				time.Sleep(gap)
				mount()
				hidden(last)
				last = fmt.Sprint("again", i)
				pid := pidOf(r.run("tee", last))
				var created []diff.Event
				r.settle(func(ev diff.Event) {
					if ev.Path == filepath.Join(root, last) {
						created = append(created, ev)
					}
				})
				if len(created) != 1 || created[0].Kind != diff.Create || created[0].Source != backend ||
					pid != 0 && (created[0].Process == nil || created[0].Process.PID != pid) {
					t.Errorf("after remount %d (%v after the unmount): %s made by %d reported as %+v", i, gap, last, pid, created)
				}
			}
		})
	}
}

// TestWithQueueConcurrent makes groups with their own queue lengths from many
// goroutines at once, as several fim processes starting together do: each group's
// init sees its own value in the sysctl, and the system's value is back at the end.
func TestWithQueueConcurrent(t *testing.T) {
	fstest.RequireRoot(t)
	const file = "/proc/sys/fs/inotify/max_queued_events"
	read := func() int {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := read()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for i := range 16 {
		wg.Go(func() {
			n := 1000 + i
			err := withQueue("inotify", n, func() error {
				if got := read(); got != n {
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("group of %d made with %d", n, got))
					mu.Unlock()
				}
				time.Sleep(time.Millisecond)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if after := read(); after != before || len(wrong) > 0 {
		t.Errorf("max_queued_events %d after, %d before; %v", after, before, wrong)
	}
}

// TestWithQueueLockHeld: anyone can open the sysctl file and hold a lock on it; fim
// then makes its group with the system's value after a short wait, and does not hang.
func TestWithQueueLockHeld(t *testing.T) {
	fstest.RequireRoot(t)
	f, err := os.Open("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.Name())
	var during []byte
	done := make(chan error, 1)
	go func() {
		done <- withQueue("inotify", 1234, func() error { during, _ = os.ReadFile(f.Name()); return nil })
	}()
	select {
	case err := <-done:
		if err != nil || string(during) != string(before) {
			t.Errorf("withQueue: %v, made with %q, want the system's %q", err, during, before)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("withQueue waits for a lock another holds")
	}
}
