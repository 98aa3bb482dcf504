package watch

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/internal/fstest"
)

// commEnv, when set, is the name a "hold" writer gives itself before it writes;
// loginEnv the login uid it takes, as a login does (pam_loginuid).
const (
	commEnv  = "FIM_TEST_COMM"
	loginEnv = "FIM_TEST_LOGINUID"
)

// holdWrite waits for a line on stdin, names itself as commEnv says, writes p, says
// "done" and stays alive until stdin ends: fim reads /proc of a live writer.
func holdWrite(p string) error {
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	if comm := os.Getenv(commEnv); comm != "" {
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafePointer(append([]byte(comm), 0))), 0, 0, 0); err != nil {
			return err
		}
	}
	if auid := os.Getenv(loginEnv); auid != "" {
		if err := os.WriteFile("/proc/self/loginuid", []byte(auid), 0); err != nil {
			return err
		}
	}
	if err := write("write", p); err != nil {
		return err
	}
	if _, err := os.Stdout.WriteString("done\n"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, in)
	return err
}

// holder is a running "hold" writer.
type holder struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startHolder(t *testing.T, argv []string, target string, env []string, cred *syscall.Credential) *holder {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], target)...)
	cmd.Env = append(append(os.Environ(), writerEnv+"=hold"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { h.in.Close(); h.cmd.Wait() })
	return h
}

// write lets the holder write and waits until it has.
func (h *holder) write(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(h.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := h.out.ReadString('\n'); err != nil || line != "done\n" {
		t.Fatalf("writer: %q, %v", line, err)
	}
}

// cgroup2 returns where the cgroup v2 hierarchy is mounted.
func cgroup2(t *testing.T) string {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[2] == "cgroup2" {
			return f[1]
		}
	}
	fstest.Skipf(t, "no cgroup v2 hierarchy mounted")
	return ""
}

// TestWatchWho has real processes change watched files: one in a cgroup named as each
// container runtime names its containers, a Kubernetes pod's among them; a setuid
// program run by nobody; one that renames itself; one that took a login uid; one in a
// child pid namespace. Each
// event says who did it as /proc says it, in fim's pid namespace.
func TestWatchWho(t *testing.T) {
	root := filepath.Join(tmpfs(t), "w")
	if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := startWatcher(t, "fanotify", root)
	// event makes target, lets h write it and returns the event of target.
	event := func(t *testing.T, name string, start func(target string) *holder) *diff.Event {
		t.Helper()
		target := filepath.Join(root, name)
		if err := os.WriteFile(target, []byte("0123456789"), 0o666); err != nil {
			t.Fatal(err)
		}
		r.settle(nil)
		h := start(target)
		h.write(t)
		var got *diff.Event
		r.settle(func(ev diff.Event) {
			if ev.Path == target {
				got = &ev
			}
		})
		if got == nil || got.Process == nil || got.Process.Gone {
			t.Fatalf("%s: event %+v: want one with its live writer", name, got)
		}
		return got
	}

	pod := "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
	for _, tc := range []struct {
		name, path string
		want       diff.Container
	}{
		{"docker", "system.slice/docker-" + testCID + ".scope", diff.Container{ID: testCID, Runtime: "docker"}},
		{"containerd", "system.slice/cri-containerd-" + testCID + ".scope", diff.Container{ID: testCID, Runtime: "containerd"}},
		{"cri-o", "machine.slice/crio-" + testCID + ".scope", diff.Container{ID: testCID, Runtime: "cri-o"}},
		{"podman", "machine.slice/libpod-" + testCID + ".scope", diff.Container{ID: testCID, Runtime: "podman"}},
		{"kubepods", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(pod, "-", "_") +
			".slice/cri-containerd-" + testCID + ".scope", diff.Container{ID: testCID, Runtime: "containerd", PodUID: pod, QoS: "burstable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := cgroup2(t)
			dir := filepath.Join(base, tc.path)
			if _, err := os.Stat(filepath.Join(base, strings.Split(tc.path, "/")[0])); err == nil {
				fstest.Skipf(t, "%s exists: not a machine to make test cgroups on", tc.path)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// Leave the hierarchy as found: the writer has exited (its cleanup ran
				// first), so the directories are empty.
				for d := dir; d != base; d = filepath.Dir(d) {
					if err := os.Remove(d); err != nil {
						t.Errorf("remove test cgroup: %v", err)
					}
				}
			})
			ev := event(t, tc.name, func(target string) *holder {
				h := startHolder(t, []string{self}, target, nil, nil)
				if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(h.cmd.Process.Pid)), 0); err != nil {
					t.Fatal(err)
				}
				return h
			})
			if c := ev.Process.Container; c == nil || *c != tc.want {
				t.Errorf("container %+v, want %+v", c, tc.want)
			}
		})
	}

	t.Run("setuid", func(t *testing.T) {
		dir, err := os.MkdirTemp("", "fim-setuid-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		helper := filepath.Join(dir, "helper")
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(helper, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(helper, os.ModeSetuid|0o755); err != nil {
			t.Fatal(err)
		}
		ev := event(t, "setuid", func(target string) *holder {
			return startHolder(t, []string{helper}, target, nil, &syscall.Credential{Uid: 65534, Gid: 65534})
		})
		p := ev.Process
		if p.UID != 65534 || p.EUID != 0 || p.GID != 65534 || p.EGID != 65534 || p.Exe != helper || p.EUser != "root" {
			t.Errorf("uid %d euid %d (%q) gid %d egid %d exe %q: want 65534, 0 (root), 65534, 65534, %s", p.UID, p.EUID, p.EUser, p.GID, p.EGID, p.Exe, helper)
		}
	})

	t.Run("comm", func(t *testing.T) {
		ev := event(t, "comm", func(target string) *holder {
			return startHolder(t, []string{self}, target, []string{commEnv + "=sshd"}, nil)
		})
		if p := ev.Process; p.Name != "sshd" || p.Exe != self || p.PPID != os.Getpid() {
			t.Errorf("name %q exe %q ppid %d: want sshd, %s, %d", p.Name, p.Exe, p.PPID, self, os.Getpid())
		}
	})

	t.Run("login", func(t *testing.T) {
		// A writer takes the login uid this process has, or, where it has none,
		// one of its own as a login does, when the kernel lets it (not inside a user
		// namespace, and not where audit has made login uids immutable).
		// Where neither holds, the writer has no login uid, and fim must say so.
		own, err := os.ReadFile("/proc/self/loginuid")
		if err != nil {
			fstest.Skipf(t, "no login uids here: %v", err)
		}
		want, env := string(own), []string(nil)
		if want == "4294967295" {
			want = "-1"
			if err := exec.Command("sh", "-c", "echo 1000 >/proc/self/loginuid").Run(); err == nil {
				want, env = "1000", []string{loginEnv + "=1000"}
			} else {
				t.Logf("this kernel does not let a process here take a login uid (%v): the writer has none", err)
			}
		}
		ev := event(t, "login", func(target string) *holder {
			return startHolder(t, []string{self}, target, env, nil)
		})
		p := ev.Process
		if strconv.Itoa(p.AUID) != want || (want == "-1") != (p.SessionID < 0) || p.UID != os.Getuid() {
			t.Errorf("auid %d session %d uid %d: want %s, a session where there is a login uid, %d", p.AUID, p.SessionID, p.UID, want, os.Getuid())
		}
	})

	t.Run("pid namespace", func(t *testing.T) {
		ev := event(t, "pidns", func(target string) *holder {
			return startHolder(t, []string{"unshare", "--pid", "--fork", self}, target, nil, nil)
		})
		p := ev.Process
		status, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/status")
		if err != nil {
			t.Fatal(err)
		}
		// NSpid: its pid in fim's namespace, then in its own (1: it is that namespace's init).
		if p.Exe != self || p.Parent != "unshare" || !strings.Contains(string(status), "NSpid:\t"+strconv.Itoa(p.PID)+"\t1\n") {
			t.Errorf("pid %d exe %q parent %q, status:\n%s", p.PID, p.Exe, p.Parent, status)
		}
	})
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
