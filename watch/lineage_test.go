package watch

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/internal/proctrack"
)

// startTree runs script with sh named as argv0 names it (a copy of /bin/sh), and
// returns the pid the script writes to the file $PIDFILE: the process whose lineage is
// read. It is killed when the test ends.
func startTree(t *testing.T, shell, script string) int {
	t.Helper()
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pid")
	cmd := exec.Command(shell, "-c", script)
	cmd.Env = append(os.Environ(), "PIDFILE="+pidfile)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, err := os.ReadFile(pidfile)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("%s -c %q wrote no pid", shell, script)
	return 0
}

func TestLineage(t *testing.T) {
	fstest.RequireRoot(t) // reads other processes' environ
	dpkg, rpm := fstest.CopyShell(t, "dpkg"), fstest.CopyShell(t, "rpm")
	// A dpkg of a user's, and one that others may write: neither is a package manager
	// whatever its name, or any user could pass their changes off as a package's.
	userDpkg, openDpkg := fstest.CopyShell(t, "dpkg"), fstest.CopyShell(t, "dpkg")
	if err := os.Chown(userDpkg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openDpkg, 0o757); err != nil {
		t.Fatal(err)
	}
	// The writer: a shell that says its pid and waits; "; wait" keeps each shell from
	// exec'ing its last command, so that the ancestry is what the script says.
	const writer = `sh -c 'echo $$ > "$PIDFILE"; exec sleep 60'; wait`
	tests := []struct {
		name, shell, script string
		want                *diff.Lineage
	}{
		{"maintainer script under dpkg", dpkg, "DPKG_MAINTSCRIPT_PACKAGE=hello DPKG_MAINTSCRIPT_NAME=postinst sh -c '" + strings.ReplaceAll(writer, "'", `'\''`) + "'; wait",
			&diff.Lineage{Manager: "dpkg", Package: "hello", Script: "postinst", Chain: []string{"sh", "dpkg"}}},
		{"child of dpkg", dpkg, writer, &diff.Lineage{Manager: "dpkg", Script: "sleep", Chain: []string{"dpkg"}}},
		{"scriptlet under rpm", rpm, writer, &diff.Lineage{Manager: "rpm", Script: "sleep", Chain: []string{"rpm"}}},
		{"the environment alone", "/bin/sh", "DPKG_MAINTSCRIPT_PACKAGE=hello " + writer, &diff.Lineage{Package: "hello"}},
		{"plain", "/bin/sh", writer, nil},
		{"child of a user's dpkg", userDpkg, writer, nil},
		{"child of a dpkg others may write", openDpkg, writer, nil},
		{"maintainer script under a user's dpkg", userDpkg, "DPKG_MAINTSCRIPT_PACKAGE=hello " + writer, &diff.Lineage{Package: "hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := startTree(t, tt.shell, tt.script)
			var a ancestry
			got := a.lineage("/proc", pid)
			if got != nil {
				if tt.want != nil && got.Manager != "" && got.ManagerPID <= 0 {
					t.Errorf("manager pid %d", got.ManagerPID)
				}
				got.ManagerPID = 0
			}
			if (got == nil) != (tt.want == nil) || got != nil && (got.Manager != tt.want.Manager || got.Package != tt.want.Package ||
				got.Script != tt.want.Script || !slices.Equal(got.Chain, tt.want.Chain)) {
				t.Errorf("lineage %+v, want %+v", got, tt.want)
			}
			if got.Explains() != (tt.want != nil && tt.want.Manager != "") {
				t.Errorf("Explains() = %v", got.Explains())
			}
		})
	}
	t.Run("gone", func(t *testing.T) {
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		var a ancestry
		if l := a.lineage("/proc", cmd.Process.Pid); l != nil {
			t.Errorf("lineage of a gone pid: %+v", l)
		}
	})
}

func TestMaintScript(t *testing.T) {
	for _, tt := range []struct{ env, pkg, script string }{
		{"PATH=/bin\x00DPKG_MAINTSCRIPT_PACKAGE=hello\x00DPKG_MAINTSCRIPT_NAME=postinst\x00", "hello", "postinst"},
		{"XDPKG_MAINTSCRIPT_PACKAGE=no\x00", "", ""},
		{"DPKG_MAINTSCRIPT_NAME=prerm", "", "prerm"},
		{"", "", ""},
	} {
		if pkg, script := maintScript([]byte(tt.env)); pkg != tt.pkg || script != tt.script {
			t.Errorf("maintScript(%q) = %q, %q; want %q, %q", tt.env, pkg, script, tt.pkg, tt.script)
		}
	}
}

// BenchmarkLineage reads the lineage of the test process, whose ancestors are cached
// after the first read (each read still checks every ancestor's start time), against
// BenchmarkLineageCold, which reads every ancestor afresh.
func BenchmarkLineage(b *testing.B) {
	b.ReportAllocs()
	var a ancestry
	for b.Loop() {
		a.lineage("/proc", os.Getpid())
	}
}

func BenchmarkLineageCold(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var a ancestry
		a.lineage("/proc", os.Getpid())
	}
}

func BenchmarkReadProc(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		readProc("/proc", os.Getpid())
	}
}

// TestLineageGone reads the lineage of writers that exited before fim read /proc: a
// maintainer script's child, and a child of a child of dpkg, both gone. With the proc
// connector's tracker, they are placed under their parents; without, they have none.
// A dpkg that is not root's, or that exited too, is no package manager.
func TestLineageGone(t *testing.T) {
	fstest.RequireRoot(t)
	tr, err := proctrack.Open()
	if err != nil {
		fstest.Skipf(t, "%v", err)
	}
	defer tr.Close()
	dpkg, userDpkg := fstest.CopyShell(t, "dpkg"), fstest.CopyShell(t, "dpkg")
	if err := os.Chown(userDpkg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	// The writer says its pid and exits at once; "; wait" keeps each shell from
	// exec'ing its last command, "sleep 60; wait" keeps it running.
	const writer = `sh -c 'echo $$ > "$PIDFILE"'; wait`
	const stay = "; sleep 60; wait"
	postinst := "DPKG_MAINTSCRIPT_PACKAGE=hello DPKG_MAINTSCRIPT_NAME=postinst sh -c " + quote(writer+stay) + "; wait"
	tests := []struct {
		name, shell, script string
		want                *diff.Lineage
	}{
		{"maintainer script's child", dpkg, postinst,
			&diff.Lineage{Manager: "dpkg", Package: "hello", Script: "postinst", Chain: []string{"sh", "dpkg"}}},
		{"dpkg's grandchild, its parent gone too", dpkg, "sh -c " + quote(writer) + "; wait" + stay,
			&diff.Lineage{Manager: "dpkg", Script: "sh", Chain: []string{"gone", "dpkg"}}},
		{"maintainer script's child under a user's dpkg", userDpkg, postinst, &diff.Lineage{Package: "hello", Script: "postinst"}},
		{"a plain shell's child", "/bin/sh", writer + stay, nil},
		{"dpkg exited too", dpkg, "sh -c " + quote(writer) + "; wait", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := startTree(t, tt.shell, tt.script)
			waitGone(t, pid)
			for _, track := range []*proctrack.Tracker{nil, tr} {
				c := newProcCache()
				c.anc.track = track
				p := c.get(pid)
				if !p.Gone {
					t.Fatalf("pid %d not gone: %+v", pid, p)
				}
				got := p.Lineage
				if got != nil {
					got.ManagerPID = 0
				}
				want := tt.want
				if track == nil {
					want = nil // as before the tracker: a gone writer has no lineage
				} else if p.Name != "sh" && p.Name != "" || p.PPID <= 0 {
					// The tracker reads a name from /proc when it takes in the exec: a
					// process that exits at once may be gone by then, and has none.
					t.Errorf("gone writer named %q, parent %d; want sh (or none) and its parent", p.Name, p.PPID)
				}
				script := func(s string) bool {
					// a gone manager's child named for the script, or not named (above)
					return s == want.Script || want.Script == "sh" && s == ""
				}
				if (got == nil) != (want == nil) || got != nil && (got.Manager != want.Manager || got.Package != want.Package ||
					!script(got.Script) || !slices.Equal(got.Chain, want.Chain)) {
					t.Errorf("tracker %v: lineage %+v, want %+v", track != nil, got, want)
				}
			}
		})
	}
}

// waitGone waits until /proc has no pid.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			return
		}
	}
	t.Fatalf("pid %d still running", pid)
}
