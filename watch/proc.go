package watch

import (
	"bytes"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fim/diff"
	"fim/idname"

	"golang.org/x/sys/unix"
)

// What fim can tell of a writer, and what it cannot. fanotify names the process by
// its pid as seen from fim's pid namespace (a writer in a child namespace has a pid
// there too; one in an ancestor namespace gets 0 and is named by nothing); fim reads
// /proc when it reads the event, after the change was made. So:
//   - a writer that exited meanwhile is Gone, named by its pid alone, or, when the
//     tracker saw its fork, by its name and parent too, and its lineage is read from
//     there (see lineage.go);
//   - a writer that exec'ed meanwhile shows the program it became (exe, comm, args):
//     the program that made the change cannot be known after the exec;
//   - a pid reused meanwhile shows the new process; its start time differs from the
//     writer's, which a consumer with other sources (audit) can compare;
//   - comm is what the process calls itself (prctl PR_SET_NAME, /proc/self/comm);
//     exe is the program the kernel runs, which the process cannot rename;
//   - the container fields are what the cgroup path says: a process given a delegated
//     cgroup subtree (rootless podman, systemd --user) chooses those names.

// procCache reads what /proc says of a process once per short window: a burst of events
// from one writer costs one read of /proc, not one per event. A nil cache names no
// process (Watcher.NoProcess).
type procCache struct {
	mu    sync.Mutex
	procs map[int]procSeen
	names *idname.Names
	anc   ancestry // the writers' ancestors, for their lineage
}

type procSeen struct {
	p    *diff.Process
	when time.Time
}

const procTTL = 500 * time.Millisecond

// procMax bounds the processes the cache holds.
const procMax = 4096

// newProcCache makes a cache whose user and group names come from /etc/passwd and
// /etc/group; set names for those of another root.
func newProcCache() *procCache {
	return &procCache{procs: map[int]procSeen{}, names: idname.New("")}
}

func (c *procCache) get(pid int) *diff.Process {
	if c == nil || pid <= 0 {
		return nil
	}
	now := time.Now()
	c.mu.Lock()
	if s, ok := c.procs[pid]; ok && now.Sub(s.when) < procTTL {
		c.mu.Unlock()
		return s.p
	}
	c.mu.Unlock()
	p := readProc("/proc", pid)
	c.names.Resolve(p)
	if !p.Gone {
		p.Lineage = c.anc.lineage("/proc", pid)
	} else if e, ok := c.anc.track.Lookup(pid); ok {
		// Exited, but forked while the tracker listened: its name and parent are
		// known, and its lineage from there.
		p.Name, p.PPID = e.Comm, e.PPID
		p.Lineage = c.anc.goneLineage("/proc", pid)
	}
	c.mu.Lock()
	if len(c.procs) >= procMax {
		for k, s := range c.procs {
			if now.Sub(s.when) >= procTTL {
				delete(c.procs, k)
			}
		}
		if len(c.procs) >= procMax {
			clear(c.procs) // that many writers in one window: start over
		}
	}
	c.procs[pid] = procSeen{p, now}
	c.mu.Unlock()
	return p
}

// procFileMax bounds what is read of one /proc file.
const procFileMax = 64 << 10

func readSmall(p string) ([]byte, error) { return readLimited(p, procFileMax) }

// readLimited reads at most max bytes of the file at p: with plain system calls, as
// one is read for each new writer (os.Open would also register the file with the
// poller, which refuses it, and io.ReadAll reads a /proc file in small pieces).
func readLimited(p string, max int) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, min(2048, max))
	for len(buf) < max {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), max-len(buf)))
		}
		n, err := unix.Read(fd, buf[len(buf):min(cap(buf), max)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// readProc reads what proc (the /proc mount) says of pid. A process that has already
// exited, or whose pid was taken by another process while it was read, is returned
// with Gone set and its pid alone.
func readProc(proc string, pid int) *diff.Process {
	gone := &diff.Process{PID: pid, PPID: -1, UID: -1, EUID: -1, GID: -1, EGID: -1, AUID: -1, SessionID: -1, Gone: true}
	dir := proc + "/" + strconv.Itoa(pid) + "/"
	data, err := readSmall(dir + "stat")
	if err != nil {
		return gone
	}
	st, ok := parseStat(data)
	if !ok {
		return gone
	}
	p := *gone
	p.Gone = false
	p.StartTime, p.Name, p.PPID, p.TTY = st.start, st.comm, st.ppid, ttyName(st.tty)
	if data, err := readSmall(dir + "status"); err == nil {
		p.UID, p.EUID, p.GID, p.EGID = parseStatus(data)
	}
	if cmdline, err := readSmall(dir + "cmdline"); err == nil && len(cmdline) > 0 {
		for a := range bytes.SplitSeq(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0}) {
			p.Args = append(p.Args, string(a))
		}
	}
	p.Exe, _ = os.Readlink(dir + "exe")
	p.Cwd, _ = os.Readlink(dir + "cwd")
	p.AUID = readAuditID(dir + "loginuid")
	p.SessionID = readAuditID(dir + "sessionid")
	if data, err := readSmall(dir + "cgroup"); err == nil {
		p.Container = parseCgroup(data)
	}
	if p.PPID > 0 {
		if data, err := readSmall(proc + "/" + strconv.Itoa(p.PPID) + "/stat"); err == nil {
			if pst, ok := parseStat(data); ok {
				p.Parent = pst.comm
			}
		}
	}
	// The files are read one by one: had the pid changed hands meanwhile, what was
	// read would mix two processes.
	if data, err := readSmall(dir + "stat"); err != nil {
		return gone
	} else if again, ok := parseStat(data); !ok || again.start != st.start {
		return gone
	}
	return &p
}

// readAuditID reads loginuid or sessionid: -1 when unreadable or unset (4294967295).
func readAuditID(p string) int {
	data, err := readSmall(p)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || n == 1<<32-1 {
		return -1
	}
	return int(n)
}

// procStat is what fim reads of /proc/PID/stat.
type procStat struct {
	comm  string
	ppid  int
	tty   uint32
	start uint64
}

// parseStat parses /proc/PID/stat: "pid (comm) state ppid pgrp session tty_nr ...",
// where comm may hold spaces and parentheses, so the fields start after the last ')'.
func parseStat(data []byte) (procStat, bool) {
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := bytes.Fields(data[end+1:])
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	tty, err2 := strconv.ParseInt(string(f[4]), 10, 32)
	start, err3 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || ppid < 0 {
		return procStat{}, false
	}
	return procStat{comm: string(data[open+1 : end]), ppid: ppid, tty: uint32(tty), start: start}, true
}

// parseStatus returns the real and effective uid and gid of /proc/PID/status (-1 for
// what it does not say).
func parseStatus(data []byte) (uid, euid, gid, egid int) {
	uid, euid, gid, egid = -1, -1, -1, -1
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		var real, eff *int
		if rest, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			real, eff, line = &uid, &euid, rest
		} else if rest, ok := bytes.CutPrefix(line, []byte("Gid:")); ok {
			real, eff, line = &gid, &egid, rest
		} else {
			continue
		}
		f := bytes.Fields(line)
		for i, dst := range []*int{real, eff} {
			if i < len(f) {
				if n, err := strconv.ParseUint(string(f[i]), 10, 32); err == nil {
					*dst = int(n)
				}
			}
		}
	}
	return uid, euid, gid, egid
}

// ttyName names the terminal of a tty_nr (the device number in the kernel's encoding):
// "pts/N", "ttyN", "ttySN", or "major:minor" for another; "" for none.
func ttyName(nr uint32) string {
	if nr == 0 {
		return ""
	}
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case major >= 136 && major <= 143:
		return "pts/" + strconv.FormatUint(uint64((major-136)<<8|minor), 10)
	case major == 4 && minor < 64:
		return "tty" + strconv.FormatUint(uint64(minor), 10)
	case major == 4:
		return "ttyS" + strconv.FormatUint(uint64(minor-64), 10)
	}
	return strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
}

// parseCgroup reads the container of a process from its /proc/PID/cgroup: the cgroup v2
// line ("0::/path"), or the v1 lines, whose paths name the same container. The innermost
// component of a path that names a container runtime's scope wins; a kubepods path
// gives the pod and its QoS class. Nil when the path names no container or pod.
func parseCgroup(data []byte) *diff.Container {
	var best *diff.Container
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		f := bytes.SplitN(line, []byte(":"), 3)
		if len(f) != 3 {
			continue
		}
		c := containerOf(string(f[2]))
		if c != nil && (best == nil || best.ID == "" && c.ID != "") {
			best = c
		}
	}
	return best
}

// containerOf reads one cgroup path, in the systemd layout (scopes and slices) or the
// cgroupfs one (/docker/<id>, /kubepods/[burstable|besteffort/]pod<uid>/<id>).
func containerOf(p string) *diff.Container {
	var c diff.Container
	prev := ""
	for _, name := range strings.Split(path.Clean("/"+p), "/") {
		if id, rt, ok := scopeID(name); ok {
			c.ID, c.Runtime = id, rt
		} else if uid, qos, ok := kubePod(name); ok {
			c.PodUID, c.QoS = uid, qos
		} else if uid, ok := strings.CutPrefix(name, "pod"); ok && isPodUID(uid) && (prev == "kubepods" || prev == "burstable" || prev == "besteffort") {
			c.PodUID, c.QoS = uid, prev
			if prev == "kubepods" {
				c.QoS = "guaranteed"
			}
		} else if isHexID(name) && prev == "docker" {
			c.ID, c.Runtime = name, "docker"
		} else if isHexID(name) && strings.HasPrefix(prev, "pod") && c.PodUID != "" {
			c.ID, c.Runtime = name, "" // the cgroupfs path does not name the runtime
		}
		prev = name
	}
	if c.ID == "" && c.PodUID == "" {
		return nil
	}
	return &c
}

// scopeRuntimes are the systemd scope names container runtimes give their containers.
var scopeRuntimes = []struct{ prefix, runtime string }{
	{"docker-", "docker"},
	{"cri-containerd-", "containerd"},
	{"crio-", "cri-o"},
	{"libpod-", "podman"},
}

// scopeID reads a container id from a systemd scope name such as
// docker-<id>.scope; a runtime's monitor (crio-conmon-, libpod-conmon-) is not a
// container. machine-<name>.scope is a systemd-nspawn machine (libvirt registers its
// guests there too); its name is the id.
func scopeID(name string) (id, runtime string, ok bool) {
	base, ok := strings.CutSuffix(name, ".scope")
	if !ok {
		return "", "", false
	}
	for _, s := range scopeRuntimes {
		if id, ok := strings.CutPrefix(base, s.prefix); ok && isHexID(id) {
			return id, s.runtime, true
		}
	}
	if m, ok := strings.CutPrefix(base, "machine-"); ok && m != "" {
		return unescapeUnit(m), "systemd-nspawn", true
	}
	return "", "", false
}

// kubePod reads the pod UID and QoS class of a kubepods slice of the systemd layout:
// kubepods-burstable-pod<uid>.slice, kubepods-pod<uid>.slice for a guaranteed pod, the
// UID's dashes written as underscores.
func kubePod(name string) (uid, qos string, ok bool) {
	base, ok := strings.CutSuffix(name, ".slice")
	if !ok {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(base, "kubepods-")
	if !ok {
		return "", "", false
	}
	qos = "guaranteed"
	for _, q := range []string{"burstable", "besteffort"} {
		if r, ok := strings.CutPrefix(rest, q+"-"); ok {
			qos, rest = q, r
		}
	}
	uid, ok = strings.CutPrefix(rest, "pod")
	if !ok || !isPodUID(uid) {
		return "", "", false
	}
	return strings.ReplaceAll(uid, "_", "-"), qos, true
}

// isHexID reports whether s is a container id: 64 lowercase hex digits.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isPodUID reports whether s looks like a pod UID: hex digits and separators.
func isPodUID(s string) bool {
	if len(s) < 32 || len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// unescapeUnit undoes systemd's unit name escaping (\x2d for '-').
func unescapeUnit(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
