package proctrack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fim/internal/fstest"
)

func openTracker(t *testing.T) *Tracker {
	t.Helper()
	fstest.RequireRoot(t)
	tr, err := Open()
	if err != nil {
		fstest.Skipf(t, "%v", err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return tr
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		data, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// gone waits until /proc has no pid (reaped).
func gone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			return
		}
	}
	t.Fatalf("pid %d still there", pid)
}

// TestTracker runs real processes: a shell whose child writes a file and exits at
// once, under a parent that stays, and under one that exits too. Once the child is
// gone from /proc, the tracker still names its parent, and the parent's.
func TestTracker(t *testing.T) {
	tr := openTracker(t)
	dir := t.TempDir()
	parent := fstest.CopyShell(t, "fimparent")
	// The child says its pid and writes; "; wait" keeps each shell from exec'ing its
	// last command.
	const child = `sh -c 'echo $$ > "$1"; echo x > "$1.f"' sh "$1"; wait`

	t.Run("parent stays", func(t *testing.T) {
		pidfile := filepath.Join(dir, "stays")
		cmd := exec.Command(parent, "-c", child+"; echo done; exec sleep 60", "fimparent", pidfile)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		buf := make([]byte, 5)
		if _, err := out.Read(buf); err != nil {
			t.Fatal(err)
		}
		pid := readPid(t, pidfile)
		gone(t, pid)
		e, ok := tr.Lookup(pid)
		// Its name is read from /proc when its exec is taken in: a child that exits at
		// once may be gone by then (on a loaded machine), and then it has none, never
		// another's.
		if !ok || e.PPID != cmd.Process.Pid || e.Comm != "sh" && e.Comm != "" || e.Exited == 0 || e.Forked == 0 {
			t.Errorf("exited child %d: %+v (%v), want parent %d, comm sh or none, exited", pid, e, ok, cmd.Process.Pid)
		}
		if !StartedBy(startOf(t, cmd.Process.Pid), e.Forked) {
			t.Errorf("the parent did not start by the child's fork")
		}
	})

	t.Run("parent exits too", func(t *testing.T) {
		pidfile := filepath.Join(dir, "exits")
		// The parent outlives its child by a second, so that its name is read at its
		// exec even on a loaded machine.
		cmd := exec.Command(parent, "-c", child+"; sleep 1; wait", "fimparent", pidfile)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		pid := readPid(t, pidfile)
		gone(t, pid)
		e, ok := tr.Lookup(pid)
		if !ok || e.PPID != cmd.Process.Pid || e.Exited == 0 {
			t.Fatalf("exited child %d: %+v (%v), want parent %d", pid, e, ok, cmd.Process.Pid)
		}
		p, ok := tr.Lookup(e.PPID)
		if !ok || p.PPID != os.Getpid() || p.Comm != "fimparent" || p.Exited == 0 || p.Forked > e.Forked {
			t.Errorf("exited parent %d: %+v (%v), want the test's child %d, named fimparent, forked before its child", e.PPID, p, ok, os.Getpid())
		}
	})

	t.Run("started before", func(t *testing.T) {
		if e, ok := tr.Lookup(os.Getpid()); ok {
			t.Errorf("the test process, started before the tracker: %+v", e)
		}
	})
	if n := tr.Lost(); n != 0 {
		t.Errorf("lost events %d times", n)
	}
}

// startOf reads the start time of pid (clock ticks since boot).
func startOf(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	n, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTrackerClose checks that a tracker closed is done: Lookup finds nothing, and a
// second Close is harmless.
func TestTrackerClose(t *testing.T) {
	tr := openTracker(t)
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Lookup(1); ok {
		t.Error("Lookup after Close found an entry")
	}
	if tr.Err() != nil {
		t.Errorf("Err after Close: %v", tr.Err())
	}
}
