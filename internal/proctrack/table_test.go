package proctrack

import "testing"

func fork(parent, child int, when uint64) Event {
	return Event{What: EventFork, Time: when, ParentPID: parent, ParentTGID: parent, PID: child, TGID: child}
}

func exitOf(pid int, when uint64) Event {
	return Event{What: EventExit, Time: when, PID: pid, TGID: pid}
}

func TestTable(t *testing.T) {
	comms := map[int]string{}
	tb := newTable(4, 100, func(pid int) string { return comms[pid] })
	want := func(pid int, e Entry, ok bool) {
		t.Helper()
		if got, found := tb.procs[pid]; found != ok || got != e {
			t.Errorf("pid %d: %+v (%v), want %+v (%v)", pid, got, found, e, ok)
		}
	}
	// A process forked before the table: no entry, and its children have no comm.
	tb.apply(fork(1, 10, 1))
	want(10, Entry{PPID: 1, Forked: 1}, true)
	want(1, Entry{}, false)
	comms[10] = "dpkg"
	tb.apply(Event{What: EventExec, Time: 2, PID: 10, TGID: 10})
	want(10, Entry{PPID: 1, Forked: 1, Comm: "dpkg"}, true)
	// A child has its parent's name until it execs or names itself.
	tb.apply(fork(10, 11, 3))
	want(11, Entry{PPID: 10, Forked: 3, Comm: "dpkg"}, true)
	tb.apply(Event{What: EventComm, Time: 4, PID: 11, TGID: 11, Comm: "postinst"})
	want(11, Entry{PPID: 10, Forked: 3, Comm: "postinst"}, true)
	// A thread is not a process; its name is its own.
	tb.apply(Event{What: EventFork, Time: 5, ParentPID: 11, ParentTGID: 11, PID: 12, TGID: 11})
	tb.apply(Event{What: EventComm, Time: 5, PID: 12, TGID: 11, Comm: "worker"})
	tb.apply(Event{What: EventExit, Time: 5, PID: 12, TGID: 11})
	want(12, Entry{}, false)
	want(11, Entry{PPID: 10, Forked: 3, Comm: "postinst"}, true)
	// An exec of a process that was gone by then leaves no name.
	tb.apply(Event{What: EventExec, Time: 6, PID: 11, TGID: 11})
	want(11, Entry{PPID: 10, Forked: 3}, true)
	// An exit is kept for the grace period, then forgotten.
	tb.apply(exitOf(11, 7))
	want(11, Entry{PPID: 10, Forked: 3, Exited: 7}, true)
	tb.apply(exitOf(99, 107)) // not in the table: nothing but time passing
	want(11, Entry{PPID: 10, Forked: 3, Exited: 7}, true)
	tb.apply(exitOf(99, 108))
	want(11, Entry{}, false)
	// A pid given again after an exit is the new process's, and stays when the old
	// exit's grace ends.
	tb.apply(fork(10, 13, 110))
	tb.apply(exitOf(13, 111))
	tb.apply(fork(20, 13, 112))
	want(13, Entry{PPID: 20, Forked: 112}, true)
	tb.expire(300)
	want(13, Entry{PPID: 20, Forked: 112}, true)
	if len(tb.exits) != 0 {
		t.Errorf("exits %v", tb.exits)
	}
}

func TestTableBounded(t *testing.T) {
	tb := newTable(4, 1000, nil)
	// Full of processes, one exited: the exited one makes room.
	for pid := 1; pid <= 4; pid++ {
		tb.apply(fork(100, pid, uint64(pid)))
	}
	tb.apply(exitOf(2, 5))
	tb.apply(fork(100, 5, 6))
	if _, ok := tb.procs[2]; ok || len(tb.procs) != 4 {
		t.Errorf("after a fork into a full table: %v", tb.procs)
	}
	// Full of running processes: it starts over.
	tb.apply(fork(100, 6, 7))
	if len(tb.procs) != 1 || tb.procs[6].PPID != 100 {
		t.Errorf("after a fork into a table of running processes: %v", tb.procs)
	}
	// A fork of a pid it holds replaces the entry and needs no room.
	tb = newTable(2, 1000, nil)
	tb.apply(fork(100, 1, 1))
	tb.apply(fork(100, 2, 2))
	tb.apply(fork(200, 2, 3))
	if len(tb.procs) != 2 || tb.procs[1].PPID != 100 || tb.procs[2].PPID != 200 {
		t.Errorf("after a fork of a pid it holds: %v", tb.procs)
	}
}
