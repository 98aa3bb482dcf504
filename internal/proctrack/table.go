package proctrack

// An Entry is what the table holds of one process.
type Entry struct {
	// PPID is the process's parent as the kernel named it at the fork (the process that
	// forked, or with CLONE_PARENT its parent): unlike /proc's, it does not change when
	// the parent exits and the child is given to init or a subreaper.
	PPID   int
	Forked uint64 // when, nanoseconds since boot (CLOCK_MONOTONIC)
	// Comm is the process's name: its parent's at the fork (when the table knows the
	// parent), what /proc said right after an exec (empty when it was gone by then),
	// and the name it gave itself since. As /proc/PID/comm, what the process says.
	Comm   string
	Exited uint64 // when it exited (0 while it runs)
}

// exit is one exit in the table's order of exits.
type exit struct {
	pid  int
	when uint64
}

// table is the bounded record of processes forked while the tracker listens. Only a
// fork makes an entry, and a fork of a pid replaces the entry the pid had: a process
// never takes over the parent of one that had its pid before. An exited process's
// entry is kept for grace (nanoseconds) after its exit, and fewer than max entries
// are kept: past that, the oldest exited go first, and when every entry is of a
// running process, the table starts over.
type table struct {
	procs map[int]Entry
	exits []exit // in the order of the exits, some of them superseded by a later fork
	max   int
	grace uint64
	// comm reads the name of a process that just exec'ed ("" when gone).
	comm func(pid int) string
}

func newTable(max int, grace uint64, comm func(int) string) *table {
	return &table{procs: map[int]Entry{}, max: max, grace: grace, comm: comm}
}

// apply takes in one event.
func (t *table) apply(ev Event) {
	switch ev.What {
	case EventFork:
		if ev.PID != ev.TGID || ev.TGID <= 0 {
			return // a thread: the process is the one it was
		}
		e := Entry{PPID: ev.ParentTGID, Forked: ev.Time}
		if p, ok := t.procs[ev.ParentTGID]; ok {
			e.Comm = p.Comm
		}
		if _, ok := t.procs[ev.TGID]; !ok && len(t.procs) >= t.max {
			t.makeRoom()
		}
		t.procs[ev.TGID] = e
	case EventExec:
		if e, ok := t.procs[ev.TGID]; ok {
			e.Comm = ""
			if t.comm != nil {
				e.Comm = t.comm(ev.TGID)
			}
			t.procs[ev.TGID] = e
		}
	case EventComm:
		if e, ok := t.procs[ev.TGID]; ok && ev.PID == ev.TGID {
			e.Comm = ev.Comm
			t.procs[ev.TGID] = e
		}
	case EventExit:
		if e, ok := t.procs[ev.TGID]; ok && ev.PID == ev.TGID && e.Exited == 0 {
			e.Exited = max(ev.Time, 1)
			t.procs[ev.TGID] = e
			t.exits = append(t.exits, exit{ev.TGID, e.Exited})
		}
		t.expire(ev.Time)
	}
}

// expire drops the entries of processes that exited more than grace before now.
func (t *table) expire(now uint64) {
	i := 0
	for ; i < len(t.exits) && t.exits[i].when+t.grace < now; i++ {
		t.drop(t.exits[i])
	}
	t.trim(i)
}

// makeRoom drops exited processes, the oldest exit first, until the table has room
// for one more; if it is still full, every entry is of a running process: start over.
func (t *table) makeRoom() {
	i := 0
	for ; i < len(t.exits) && len(t.procs) >= t.max; i++ {
		t.drop(t.exits[i])
	}
	t.trim(i)
	if len(t.procs) >= t.max {
		t.reset()
	}
}

// drop removes the entry of x unless a fork gave the pid to another process since.
func (t *table) drop(x exit) {
	if e, ok := t.procs[x.pid]; ok && e.Exited == x.when {
		delete(t.procs, x.pid)
	}
}

// trim forgets the first n exits.
func (t *table) trim(n int) {
	if n == 0 {
		return
	}
	t.exits = t.exits[:copy(t.exits, t.exits[n:])]
}

// reset forgets everything.
func (t *table) reset() {
	clear(t.procs)
	t.exits = t.exits[:0]
}
