package proctrack

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"
)

// Datagrams the kernel (6.18, x86-64) sent a listener while a shell ran: one event
// each, as the connector sends them.
var captured = map[string]string{
	"ack":         "4c0000000300000056080000000000000100000001000000560800004e000000280000000000000000000000201bae2fc3380000000000000000000000000000000000000000000000000000",
	"fork":        "4c000000030000005708000000000000010000000100000057080000000000002800000001000000000000000770b032c3380000061f0000041f0000081f0000081f00000000000000000000",
	"thread":      "4c000000030000005b0a00000000000001000000010000005b0a00000000000028000000010000000000000005adf67dc438000010200000102000003a200000112000000000000000000000",
	"exec":        "4c000000030000000100000000000000010000000100000001000000000000002800000002000000010000001b3ea341c0380000f11a0000f11a000000000000000000000000000000000000",
	"comm":        "4c00000003000000b0020000000000000100000001000000b0020000000000002800000000020000010000006de7ce32c3380000091f0000091f000072656e616d6564000000000000000000",
	"exit":        "4c000000030000000a0000000000000001000000010000000a00000000000000280000000000008001000000445ea143c0380000f31a0000f31a00000003000011000000ee1a0000ea1a0000",
	"exitStatus0": "4c000000030000000200000000000000010000000100000002000000000000002800000000000080000000000ecb6943c0380000f11a0000f11a00000001000011000000f01a0000f01a0000",
}

func datagram(t testing.TB, name string) []byte {
	b, err := hex.DecodeString(captured[name])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		want    []Event
		wantErr bool
	}{
		{"ack", nil, []Event{{What: EventNone, Time: 62410969717536, Ack: 78}}, false},
		{"fork", nil, []Event{{What: EventFork, Time: 62411020201991, PID: 7944, TGID: 7944, ParentPID: 7942, ParentTGID: 7940}}, false},
		{"thread", nil, []Event{{What: EventFork, Time: 62416578063621, PID: 8250, TGID: 8209, ParentPID: 8208, ParentTGID: 8208}}, false},
		{"exec", nil, []Event{{What: EventExec, Time: 62398386093595, PID: 6897, TGID: 6897}}, false},
		{"comm", nil, []Event{{What: EventComm, Time: 62411022198637, PID: 7945, TGID: 7945, Comm: "renamed"}}, false},
		{"exit", nil, []Event{{What: EventExit, Time: 62398419525188, PID: 6899, TGID: 6899, ParentPID: 6894, ParentTGID: 6890}}, false},
		{"two in one datagram", func(t *testing.T) []byte {
			return append(datagram(t, "fork"), datagram(t, "exit")...)
		}, []Event{
			{What: EventFork, Time: 62411020201991, PID: 7944, TGID: 7944, ParentPID: 7942, ParentTGID: 7940},
			{What: EventExit, Time: 62398419525188, PID: 6899, TGID: 6899, ParentPID: 6894, ParentTGID: 6890},
		}, false},
		{"an exit of a kernel before 4.18, without the parent", func(t *testing.T) []byte {
			b := datagram(t, "exit")
			return shrink(b, 8)
		}, []Event{{What: EventExit, Time: 62398419525188, PID: 6899, TGID: 6899}}, false},
		{"another connector's", func(t *testing.T) []byte {
			b := datagram(t, "fork")
			binary.NativeEndian.PutUint32(b[nlmsgHdrLen:], 7)
			return b
		}, nil, false},
		{"a kind fim does not use (uid)", func(t *testing.T) []byte {
			b := datagram(t, "exec")
			binary.NativeEndian.PutUint32(b[nlmsgHdrLen+cnMsgLen:], 4)
			return b
		}, nil, false},
		{"cut short", func(t *testing.T) []byte { return datagram(t, "fork")[:60] }, nil, true},
		{"a fork too short for its pids", func(t *testing.T) []byte { return shrink(datagram(t, "fork"), 12) }, nil, true},
		{"a netlink length past the end", func(t *testing.T) []byte {
			b := datagram(t, "fork")
			binary.NativeEndian.PutUint32(b, 200)
			return b
		}, nil, true},
		{"a connector length past the end", func(t *testing.T) []byte {
			b := datagram(t, "fork")
			binary.NativeEndian.PutUint16(b[nlmsgHdrLen+16:], 100)
			return b
		}, nil, true},
		{"a negative pid", func(t *testing.T) []byte {
			b := datagram(t, "fork")
			binary.NativeEndian.PutUint32(b[nlmsgHdrLen+cnMsgLen+eventHdrLen+4:], 0xffffffff)
			return b
		}, nil, true},
		{"empty", func(t *testing.T) []byte { return nil }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.data != nil {
				b = tt.data(t)
			} else {
				b = datagram(t, tt.name)
			}
			var got []Event
			err := Parse(b, func(ev Event) { got = append(got, ev) })
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want one: %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// shrink cuts n bytes off the end of a datagram of one event, saying so in its lengths.
func shrink(b []byte, n int) []byte {
	b = b[:len(b)-n]
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	binary.NativeEndian.PutUint16(b[nlmsgHdrLen+16:], uint16(len(b)-nlmsgHdrLen-cnMsgLen))
	return b
}

// appendEvent encodes ev as the kernel sends it, one datagram.
func appendEvent(b []byte, ev Event) []byte {
	ne := binary.NativeEndian
	var data []byte
	data = ne.AppendUint32(data, ev.What)
	data = ne.AppendUint32(data, 0) // cpu
	data = ne.AppendUint64(data, ev.Time)
	pids := func(p ...int) {
		for _, v := range p {
			data = ne.AppendUint32(data, uint32(int32(v)))
		}
	}
	switch ev.What {
	case EventNone:
		data = ne.AppendUint32(data, ev.Err)
	case EventFork:
		pids(ev.ParentPID, ev.ParentTGID, ev.PID, ev.TGID)
	case EventExec:
		pids(ev.PID, ev.TGID)
	case EventComm:
		pids(ev.PID, ev.TGID)
		var comm [16]byte
		copy(comm[:], ev.Comm)
		data = append(data, comm[:]...)
	case EventExit:
		pids(ev.PID, ev.TGID, 0, 17, ev.ParentPID, ev.ParentTGID)
	}
	for len(data) < eventHdrLen+24 { // the kernel sends the whole union
		data = append(data, 0)
	}
	var ack uint32
	if ev.What == EventNone {
		ack = ev.Ack
	}
	n := nlmsgHdrLen + cnMsgLen + len(data)
	b = ne.AppendUint32(b, uint32(n))
	b = ne.AppendUint16(b, 3) // NLMSG_DONE
	b = ne.AppendUint16(b, 0)
	b = ne.AppendUint32(b, 1)
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint32(b, cnIdxProc)
	b = ne.AppendUint32(b, cnValProc)
	b = ne.AppendUint32(b, 1)
	b = ne.AppendUint32(b, ack)
	b = ne.AppendUint16(b, uint16(len(data)))
	b = ne.AppendUint16(b, 0)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// FuzzParse feeds Parse any bytes: it never panics, the events it gives have
// non-negative pids and a comm the kernel could have sent, and each, encoded again,
// parses to itself.
func FuzzParse(f *testing.F) {
	for name := range captured {
		f.Add(datagram(f, name))
	}
	f.Add(append(datagram(f, "fork"), datagram(f, "comm")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Event
		Parse(b, func(ev Event) { got = append(got, ev) })
		for _, ev := range got {
			if ev.PID < 0 || ev.TGID < 0 || ev.ParentPID < 0 || ev.ParentTGID < 0 {
				t.Fatalf("negative pid: %+v", ev)
			}
			if len(ev.Comm) > 16 || bytes.IndexByte([]byte(ev.Comm), 0) >= 0 {
				t.Fatalf("comm %q", ev.Comm)
			}
			if ev.What == EventComm && len(ev.Comm) == 16 {
				continue // the kernel's ends in a NUL: this one does not encode again
			}
			var again []Event
			if err := Parse(appendEvent(nil, ev), func(e Event) { again = append(again, e) }); err != nil || len(again) != 1 || again[0] != ev {
				t.Fatalf("%+v encoded again parses to %+v, %v", ev, again, err)
			}
		}
	})
}

// TestAppendEvent checks the fuzz target's encoder against the kernel's bytes.
func TestAppendEvent(t *testing.T) {
	for _, name := range []string{"fork", "exec", "comm"} {
		b := datagram(t, name)
		var ev Event
		if err := Parse(b, func(e Event) { ev = e }); err != nil {
			t.Fatal(err)
		}
		got := appendEvent(nil, ev)
		// The header's sequence numbers and the cpu differ; the event does not.
		if !bytes.Equal(got[nlmsgHdrLen+cnMsgLen+8:], b[nlmsgHdrLen+cnMsgLen+8:]) || len(got) != len(b) {
			t.Errorf("%s: encoded\n%x\nkernel's\n%x", name, got, b)
		}
	}
}
