package watch

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"

	"fim/diff"
)

// procCache reads what /proc says of a process once per short window: a burst of events
// from one writer costs one read of /proc, not one per event.
type procCache struct {
	mu    sync.Mutex
	procs map[int]procSeen
}

type procSeen struct {
	p    *diff.Process
	when time.Time
}

const procTTL = 500 * time.Millisecond

// procMax bounds the processes the cache holds.
const procMax = 4096

func newProcCache() *procCache { return &procCache{procs: map[int]procSeen{}} }

func (c *procCache) get(pid int) *diff.Process {
	if pid <= 0 {
		return nil
	}
	now := time.Now()
	c.mu.Lock()
	if s, ok := c.procs[pid]; ok && now.Sub(s.when) < procTTL {
		c.mu.Unlock()
		return s.p
	}
	c.mu.Unlock()
	p := readProc(pid)
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

// readProc reads the name, command line and real uid of pid. A process that has
// already exited is returned with Gone set.
func readProc(pid int) *diff.Process {
	p := &diff.Process{PID: pid, UID: -1}
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	comm, err := os.ReadFile(dir + "comm")
	if err != nil {
		p.Gone = true
		return p
	}
	p.Name = string(bytes.TrimSuffix(comm, []byte("\n")))
	if cmdline, err := os.ReadFile(dir + "cmdline"); err == nil && len(cmdline) > 0 {
		for _, a := range bytes.Split(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0}) {
			p.Args = append(p.Args, string(a))
		}
	}
	if status, err := os.ReadFile(dir + "status"); err == nil {
		for _, line := range bytes.Split(status, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
				if f := bytes.Fields(rest); len(f) > 0 {
					if uid, err := strconv.Atoi(string(f[0])); err == nil {
						p.UID = uid
					}
				}
				break
			}
		}
	}
	return p
}
