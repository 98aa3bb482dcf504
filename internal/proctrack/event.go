// Package proctrack follows the processes of the host with the kernel's proc
// connector (netlink NETLINK_CONNECTOR, multicast group CN_IDX_PROC): every fork,
// exec, comm change and exit is told to fim as it happens, so that a process that
// exited before fim looked at /proc can still be placed under its parent. The table
// it keeps is bounded: a process forked while it listens (its parent, as the kernel
// said at the fork, its comm, when it exited), and an exited one for a grace period.
//
// What it cannot tell: a process started before it listened has no entry; a pid the
// kernel gave again after an exit stands for the newer process (a fork replaces the
// entry); events the socket could not hold are lost, and then the table starts over;
// it listens only in the initial pid and user namespaces, with CAP_NET_ADMIN.
package proctrack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The proc connector's numbers (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1 // CN_IDX_PROC, also the multicast group
	cnValProc = 1 // CN_VAL_PROC

	mcastListen = 1 // PROC_CN_MCAST_LISTEN
	mcastIgnore = 2 // PROC_CN_MCAST_IGNORE
)

// What an Event is: enum what of struct proc_event.
const (
	EventNone = 0x00000000 // an ack of a listen or ignore request
	EventFork = 0x00000001
	EventExec = 0x00000002
	EventComm = 0x00000200
	EventExit = 0x80000000
)

const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	cnMsgLen    = 20 // struct cn_msg, before its data
	eventHdrLen = 16 // what, cpu, timestamp_ns: before event_data
	nlmsgError  = 2  // NLMSG_ERROR
	nlmsgNoop   = 1  // NLMSG_NOOP
)

// An Event is one struct proc_event fim uses. Other kinds (uid, gid, sid, ptrace,
// coredump changes) are passed over by Parse.
type Event struct {
	What uint32
	Time uint64 // nanoseconds since boot, CLOCK_MONOTONIC (timestamp_ns)
	// PID and TGID name the process: for a fork, the child; the thread and its
	// thread group (the process's pid, as /proc and fanotify name it).
	PID, TGID int
	// ParentPID and ParentTGID: a fork's parent (the thread that forked, and its
	// process); an exit's parent, on kernels that say it (0 when not).
	ParentPID, ParentTGID int
	Comm                  string // EventComm: the new name
	Err                   uint32 // EventNone: the errno of the request acknowledged (0 for none)
	Ack                   uint32 // EventNone: the cn_msg ack, one more than the request's
}

var errShort = errors.New("proc connector: short message")

// Parse reads the netlink messages of one datagram received from the proc connector
// and calls fn with each event fim uses, in order. Messages of another connector, and
// kinds of event fim does not use, are passed over; a message that is cut short or
// says an impossible length is an error, and what follows it is not read.
func Parse(b []byte, fn func(Event)) error {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return errShort
		}
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < nlmsgHdrLen || n > len(b) {
			return fmt.Errorf("proc connector: netlink message of %d bytes in %d", n, len(b))
		}
		typ := binary.NativeEndian.Uint16(b[4:6])
		msg := b[nlmsgHdrLen:n]
		b = b[min(len(b), (n+3)&^3):] // NLMSG_ALIGN
		switch typ {
		case nlmsgNoop:
			continue
		case nlmsgError:
			if len(msg) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(msg[0:4])); e != 0 {
					return fmt.Errorf("proc connector: netlink error %d", -e)
				}
			}
			continue
		}
		if err := parseCnMsg(msg, fn); err != nil {
			return err
		}
	}
	return nil
}

// parseCnMsg reads one struct cn_msg and the proc_event it carries.
func parseCnMsg(msg []byte, fn func(Event)) error {
	if len(msg) < cnMsgLen {
		return errShort
	}
	if binary.NativeEndian.Uint32(msg[0:4]) != cnIdxProc || binary.NativeEndian.Uint32(msg[4:8]) != cnValProc {
		return nil // another connector's
	}
	ack := binary.NativeEndian.Uint32(msg[12:16])
	size := int(binary.NativeEndian.Uint16(msg[16:18]))
	data := msg[cnMsgLen:]
	if size > len(data) {
		return fmt.Errorf("proc connector: event of %d bytes in %d", size, len(data))
	}
	data = data[:size]
	if len(data) < eventHdrLen {
		return errShort
	}
	ev := Event{What: binary.NativeEndian.Uint32(data[0:4]), Time: binary.NativeEndian.Uint64(data[8:16])}
	d := data[eventHdrLen:]
	// need says whether d holds n int32 fields, reading them into pids.
	var pids [6]int
	need := func(n int) bool {
		if len(d) < 4*n {
			return false
		}
		for i := range n {
			pids[i] = int(int32(binary.NativeEndian.Uint32(d[4*i:])))
		}
		return true
	}
	switch ev.What {
	case EventNone:
		if !need(1) {
			return errShort
		}
		ev.Err, ev.Ack = uint32(pids[0]), ack
		fn(ev)
		return nil
	case EventFork:
		if !need(4) {
			return errShort
		}
		ev.ParentPID, ev.ParentTGID, ev.PID, ev.TGID = pids[0], pids[1], pids[2], pids[3]
	case EventExec:
		if !need(2) {
			return errShort
		}
		ev.PID, ev.TGID = pids[0], pids[1]
	case EventComm:
		if !need(2) || len(d) < 8+16 {
			return errShort
		}
		ev.PID, ev.TGID = pids[0], pids[1]
		comm := d[8 : 8+16]
		if i := bytes.IndexByte(comm, 0); i >= 0 {
			comm = comm[:i]
		}
		ev.Comm = string(comm)
	case EventExit:
		if !need(4) {
			return errShort
		}
		ev.PID, ev.TGID = pids[0], pids[1]
		if need(6) { // the parent, since Linux 4.18
			ev.ParentPID, ev.ParentTGID = pids[4], pids[5]
		}
	default:
		return nil
	}
	if ev.PID < 0 || ev.TGID < 0 || ev.ParentPID < 0 || ev.ParentTGID < 0 {
		return fmt.Errorf("proc connector: negative pid in event %#x", ev.What)
	}
	fn(ev)
	return nil
}
