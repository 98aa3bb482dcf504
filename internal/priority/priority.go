// Package priority sets the CPU and I/O priority of the whole fim process (--nice,
// --io-class). On Linux both are properties of a thread, not of a process: nice set
// with setpriority(PRIO_PROCESS, 0) and an I/O class set with ioprio_set for
// IOPRIO_WHO_PROCESS change only the calling thread, and a Go program runs on many.
// Apply sets them on every thread in /proc/self/task, again until a pass finds no
// thread it has not set: a thread made later is cloned from one already set, and
// inherits both.
package priority

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// IOClass is an I/O scheduling class: IONone leaves it as it is.
type IOClass int

// The classes --io-class names. Their values are the kernel's.
const (
	IONone       IOClass = 0
	IOBestEffort IOClass = 2
	IOIdle       IOClass = 3
)

// bestEffortLevel is the level within the best-effort class: the lowest, as `ionice
// -c2 -n7`.
const bestEffortLevel = 7

// ParseIOClass parses the value of --io-class: idle, best-effort or "" (unchanged).
func ParseIOClass(s string) (IOClass, error) {
	switch s {
	case "":
		return IONone, nil
	case "idle":
		return IOIdle, nil
	case "best-effort":
		return IOBestEffort, nil
	}
	return IONone, fmt.Errorf("invalid I/O class %q: want idle or best-effort", s)
}

// String is the name ParseIOClass reads.
func (c IOClass) String() string {
	switch c {
	case IOIdle:
		return "idle"
	case IOBestEffort:
		return "best-effort"
	}
	return ""
}

// ioprio is the value ioprio_set takes for class c.
func (c IOClass) ioprio() int {
	level := 0
	if c == IOBestEffort {
		level = bestEffortLevel
	}
	return int(c)<<13 | level
}

// Settings are a process's priorities: Nice, when SetNice, is the nice value (-20 to
// 19; lowering it needs CAP_SYS_NICE); IO, unless IONone, the I/O class.
type Settings struct {
	Nice    int
	SetNice bool
	IO      IOClass
}

// Apply sets s on every thread of the process (see the package comment). An error
// names the setting and the thread.
func Apply(s Settings) error {
	if !s.SetNice && s.IO == IONone {
		return nil
	}
	if s.SetNice && (s.Nice < -20 || s.Nice > 19) {
		return fmt.Errorf("nice %d: want -20 to 19", s.Nice)
	}
	done := map[int]bool{}
	for {
		tids, err := Threads()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			if err := s.applyTo(tid); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
			done[tid] = true
		}
		if fresh == 0 {
			return nil
		}
	}
}

func (s Settings) applyTo(tid int) error {
	if s.SetNice {
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, s.Nice); err != nil {
			return fmt.Errorf("nice %d (thread %d): %w", s.Nice, tid, err)
		}
	}
	if s.IO != IONone {
		if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(s.IO.ioprio())); errno != 0 {
			return fmt.Errorf("I/O class %s (thread %d): %w", s.IO, tid, errno)
		}
	}
	return nil
}

// ioprioWhoProcess is IOPRIO_WHO_PROCESS: the who of ioprio_set is a thread id.
const ioprioWhoProcess = 1

// Threads lists the ids of the process's threads.
func Threads() ([]int, error) {
	names, err := readDirNames("/proc/self/task")
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Of reads back the priorities of thread tid of process pid (0: this process): its
// nice value from /proc/PID/task/TID/stat and its I/O class and level from ioprio_get.
func Of(pid, tid int) (nice int, class IOClass, level int, err error) {
	proc := "self"
	if pid != 0 {
		proc = strconv.Itoa(pid)
	}
	stat := "/proc/" + proc + "/task/" + strconv.Itoa(tid) + "/stat"
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0, IONone, 0, err
	}
	// The nice value is the 19th field, the 17th after the command name in parentheses
	// (which may hold spaces and parentheses of its own).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 17 {
		return 0, IONone, 0, fmt.Errorf("%s: %d fields after the name, want at least 17", stat, len(fields))
	}
	if nice, err = strconv.Atoi(fields[16]); err != nil {
		return 0, IONone, 0, fmt.Errorf("%s: nice: %w", stat, err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if errno != 0 {
		return 0, IONone, 0, fmt.Errorf("ioprio_get (thread %d): %w", tid, errno)
	}
	return nice, IOClass(r >> 13), int(r & 0x1fff), nil
}
