package watch

import (
	"bytes"
	"os"
	"path"
	"strconv"
	"sync"

	"fim/diff"
	"fim/internal/proctrack"

	"golang.org/x/sys/unix"
)

// A writer's lineage is read from /proc when fim reads its event: the writer and its
// ancestors, parent by parent, up to the nearest package manager (named by its comm or
// its exe's base name, and running as root a program only root may change), at most
// diff.MaxChain of them. dpkg runs maintainer scripts and
// triggers with DPKG_MAINTSCRIPT_PACKAGE and DPKG_MAINTSCRIPT_NAME in their
// environment; the nearest process that has them names the package and the script.
// rpm and apk name no package to their scripts: the script is the manager's child.
// /proc/PID/environ is the environment the process was started with, readable by root
// or the process's own user. All of it is what the processes say of themselves: a
// process may name itself dpkg and set any environment, so a lineage is evidence, not
// proof (the README says so); but only root can make one of its package managers.
//
// A process that exited before fim read /proc is placed by the tracker, when there is
// one (the proc connector): the parent the kernel named at its fork, whose /proc is
// read in turn, or the tracker's again if it is gone too. A gone process is "gone" in
// the chain and is never the package manager (what makes one, its uid and program,
// died with it); its environment is not known, so the package and script come from the
// nearest live ancestor that has them.

// managers are the names package managers run under: comm (at most 15 bytes) or the
// base name of the exe.
var managers = map[string]bool{
	"dpkg": true, "apt": true, "apt-get": true, "aptitude": true, "unattended-upgr": true, "unattended-upgrades": true,
	"rpm": true, "dnf": true, "dnf-3": true, "yum": true, "microdnf": true, "zypper": true, "apk": true,
}

// ancestor is what the lineage needs of one process.
type ancestor struct {
	start       uint64
	comm, exe   string
	ppid        int
	pkg, script string // its DPKG_MAINTSCRIPT_* variables
	// root: it runs as root (effective uid 0) a program file of root's that only root
	// may write. Only such a process counts as a package manager, so that a user who
	// names a program of theirs dpkg cannot pass their own changes off as a package's.
	root bool
}

// ancestry caches the ancestors read, by pid, checked against their start time: the
// package manager and the shells above a burst of writes are read once.
type ancestry struct {
	mu    sync.Mutex
	procs map[int]ancestor
	track *proctrack.Tracker // nil: gone processes are not placed
}

// read returns what proc says of pid; ok is false for a process that is gone.
func (a *ancestry) read(proc string, pid int) (ancestor, bool) {
	dir := proc + "/" + strconv.Itoa(pid) + "/"
	data, err := readSmall(dir + "stat")
	if err != nil {
		return ancestor{}, false
	}
	st, ok := parseStat(data)
	if !ok {
		return ancestor{}, false
	}
	a.mu.Lock()
	c, ok := a.procs[pid]
	a.mu.Unlock()
	if ok && c.start == st.start && c.comm == st.comm {
		return c, true
	}
	c = ancestor{start: st.start, comm: st.comm, ppid: st.ppid}
	if exe, err := os.Readlink(dir + "exe"); err == nil {
		c.exe = path.Base(exe)
	}
	if status, err := readSmall(dir + "status"); err == nil {
		if _, euid, _, _ := parseStatus(status); euid == 0 {
			var st unix.Stat_t // the program file itself, as /proc/PID/exe leads to it
			c.root = unix.Stat(dir+"exe", &st) == nil && st.Uid == 0 && st.Mode&0o022 == 0
		}
	}
	if env, err := readSmall(dir + "environ"); err == nil {
		c.pkg, c.script = maintScript(env)
	}
	a.mu.Lock()
	if a.procs == nil || len(a.procs) >= procMax {
		a.procs = map[int]ancestor{} // that many processes: start over
	}
	a.procs[pid] = c
	a.mu.Unlock()
	return c, true
}

// maintScript returns the DPKG_MAINTSCRIPT_PACKAGE and DPKG_MAINTSCRIPT_NAME of an
// environment as /proc/PID/environ gives it.
func maintScript(env []byte) (pkg, script string) {
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("DPKG_MAINTSCRIPT_PACKAGE=")); ok {
			pkg = string(v)
		} else if v, ok := bytes.CutPrefix(kv, []byte("DPKG_MAINTSCRIPT_NAME=")); ok {
			script = string(v)
		}
	}
	return pkg, script
}

// lineage reads the lineage of pid under proc: nil when neither the process nor any
// ancestor is a package manager or runs a maintainer script, or when it is gone and
// the tracker (if any) does not know it.
func (a *ancestry) lineage(proc string, pid int) *diff.Lineage { return a.climb(proc, pid, false) }

// goneLineage is the lineage of a process that /proc no longer has, from the
// tracker's table: nil when the table does not have it either.
func (a *ancestry) goneLineage(proc string, pid int) *diff.Lineage { return a.climb(proc, pid, true) }

// climb reads the lineage of pid, gone when /proc is not to be read for pid itself.
func (a *ancestry) climb(proc string, pid int, gone bool) *diff.Lineage {
	var l diff.Lineage
	child := ""
	// forked, after a gone process, is when the kernel forked it: the process its
	// parent's pid names now is its parent only if it had started by then.
	var forked uint64
	for n := 0; pid > 0 && n <= diff.MaxChain; n++ {
		var c ancestor
		ok := false
		if !gone || n > 0 {
			c, ok = a.read(proc, pid)
		}
		if ok && forked != 0 && !proctrack.StartedBy(c.start, forked) {
			ok = false // the parent's pid was given again: the parent is gone
		}
		if !ok {
			e, known := a.track.Lookup(pid)
			if !known || forked != 0 && e.Forked > forked {
				// Not known, or its pid was given to another process since the fork.
				if n == 0 {
					return nil
				}
				l.Chain = append(l.Chain, "gone")
				break
			}
			if n > 0 {
				l.Chain = append(l.Chain, "gone")
			}
			child, pid, forked = e.Comm, e.PPID, e.Forked
			continue
		}
		forked = 0
		if l.Package == "" && l.Script == "" {
			l.Package, l.Script = c.pkg, c.script
		}
		if n > 0 {
			l.Chain = append(l.Chain, c.comm)
		}
		if (managers[c.comm] || managers[c.exe]) && c.root {
			l.Manager, l.ManagerPID = c.comm, pid
			if !managers[c.comm] {
				l.Manager = c.exe
			}
			if l.Package == "" && l.Script == "" && child != "" {
				l.Script = child
			}
			break
		}
		child = c.comm
		pid = c.ppid
	}
	if l.Manager == "" && l.Package == "" && l.Script == "" {
		return nil
	}
	if l.Manager == "" {
		l.Chain = nil // no manager: where the climb stopped says nothing
	}
	return &l
}
