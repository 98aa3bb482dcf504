package watch

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inRecord builds one struct inotify_event with a name field of n bytes (the name,
// then NUL padding); n < 0 means the name's length plus one NUL, rounded up to 4.
func inRecord(wd int32, mask, cookie uint32, name string, n int) []byte {
	if n < 0 {
		n = len(name) + 1
		if name == "" {
			n = 0
		}
		n += (4 - n%4) % 4
	}
	b := binary.NativeEndian.AppendUint32(nil, uint32(wd))
	b = binary.NativeEndian.AppendUint32(b, mask)
	b = binary.NativeEndian.AppendUint32(b, cookie)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	name = name[:min(len(name), n)]
	return append(append(b, name...), make([]byte, n-len(name))...)
}

var inotifyCases = []struct {
	name string
	buf  []byte
	want []InotifyEvent
	err  string
}{
	{"empty", nil, nil, ""},
	{"one", inRecord(1, unix.IN_CREATE, 0, "a", -1), []InotifyEvent{{WD: 1, Mask: unix.IN_CREATE, Name: "a"}}, ""},
	{"self, no name", inRecord(2, unix.IN_DELETE_SELF, 0, "", -1), []InotifyEvent{{WD: 2, Mask: unix.IN_DELETE_SELF}}, ""},
	{"two", append(inRecord(1, unix.IN_MOVED_FROM, 7, "old", -1), inRecord(3, unix.IN_MOVED_TO, 7, "new-name", -1)...),
		[]InotifyEvent{{WD: 1, Mask: unix.IN_MOVED_FROM, Cookie: 7, Name: "old"}, {WD: 3, Mask: unix.IN_MOVED_TO, Cookie: 7, Name: "new-name"}}, ""},
	{"name fills its field", inRecord(1, unix.IN_MODIFY, 0, "abcd", 4), []InotifyEvent{{WD: 1, Mask: unix.IN_MODIFY, Name: "abcd"}}, ""},
	{"overflow", inRecord(-1, unix.IN_Q_OVERFLOW, 0, "", 0), []InotifyEvent{{WD: -1, Mask: unix.IN_Q_OVERFLOW}}, ""},
	{"short header", inRecord(1, unix.IN_CREATE, 0, "a", -1)[:10], nil, "10 bytes"},
	{"name past the end", inRecord(1, unix.IN_CREATE, 0, "a", -1)[:18], nil, "name of 4 bytes in 2"},
	{"good then short", append(inRecord(1, unix.IN_CREATE, 0, "a", -1), 1, 2, 3),
		[]InotifyEvent{{WD: 1, Mask: unix.IN_CREATE, Name: "a"}}, "3 bytes"},
	{"huge name length", append(inRecord(1, unix.IN_CREATE, 0, "", 0)[:12], 0xff, 0xff, 0xff, 0xff), nil, "name of 4294967295 bytes"},
}

func TestParseInotify(t *testing.T) {
	for _, c := range inotifyCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseInotify(c.buf)
			wantDecoded(t, got, err, c.want, c.err)
		})
	}
}

// TestInotifyKernelRecords has the kernel report a few changes as fim's inotify
// backend asks for them, and checks that ParseInotify decodes them.
func TestInotifyKernelRecords(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	wd, err := unix.InotifyAddWatch(fd, dir, inMask)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "a-longer-name")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, buf[:n]...)
	}
	events, err := ParseInotify(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if ev.WD != int32(wd) {
			t.Errorf("%+v: watch %d, want %d", ev, ev.WD, wd)
		}
		for _, b := range []struct {
			mask uint32
			name string
		}{{unix.IN_CREATE, "create"}, {unix.IN_MODIFY, "modify"}, {unix.IN_CLOSE_WRITE, "close-write"}, {unix.IN_ISDIR, "dir"}} {
			if ev.Mask&b.mask != 0 {
				got = append(got, b.name+" "+ev.Name)
			}
		}
	}
	want := []string{"create a-longer-name", "modify a-longer-name", "close-write a-longer-name", "create d", "dir d"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// FuzzParseInotify checks that no input makes ParseInotify panic or invent events:
// each event takes at least a header of the buffer, and no name holds a NUL.
func FuzzParseInotify(f *testing.F) {
	for _, c := range inotifyCases {
		f.Add(c.buf)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		events, err := ParseInotify(buf)
		if len(events) > len(buf)/inotifyHdrLen {
			t.Fatalf("%d events from %d bytes", len(events), len(buf))
		}
		if err == nil && len(buf) > 0 && len(events) == 0 {
			t.Fatalf("%d bytes, no event and no error", len(buf))
		}
		for _, ev := range events {
			if strings.IndexByte(ev.Name, 0) >= 0 {
				t.Fatalf("name %q holds a NUL", ev.Name)
			}
		}
	})
}

// TestPathMap checks that a subtree goes with its root, and only it, whatever the
// order the paths came in and whether the directories between them are keys.
func TestPathMap(t *testing.T) {
	m := newPathMap[int]()
	for i, p := range []string{"/a/b/c", "/a", "/a/bb", "/a/b/c/d", "/x/y", "/a/b2/z"} {
		m.set(p, i)
	}
	m.set("/a", 10) // set again: one key
	var gone []string
	m.delTree("/a/b", func(p string, _ int) { gone = append(gone, p) })
	slices.Sort(gone)
	if want := []string{"/a/b/c", "/a/b/c/d"}; !slices.Equal(gone, want) {
		t.Errorf("delTree(/a/b) dropped %q, want %q", gone, want)
	}
	m.del("/x/y")
	keys := func() []string {
		var s []string
		for p, nd := range m.nodes {
			if nd.has {
				s = append(s, p)
			}
		}
		slices.Sort(s)
		return s
	}
	if got, want := keys(), []string{"/a", "/a/b2/z", "/a/bb"}; !slices.Equal(got, want) || m.len() != 3 {
		t.Errorf("keys %q, want %q", got, want)
	}
	if _, ok := m.nodes["/x"]; ok {
		t.Errorf("node /x left behind after its only key went: %v", m.nodes)
	}
	m.delTree("/a", nil)
	m.delTree("/", nil)
	if len(m.nodes) != 0 {
		t.Errorf("nodes left after everything went: %v", m.nodes)
	}
}

// TestRescanLimit checks that overflows in a row make one rescan at once and one more
// for all the others, sent when the backend stops if the gap has not passed by then.
func TestRescanLimit(t *testing.T) {
	var sent []Hint
	l := newRescanLimit(func(h Hint) bool { sent = append(sent, h); return true })
	errLost := errors.New("lost")
	l.overflow(Hint{Overflow: true})
	l.overflow(Hint{Overflow: true})
	l.overflow(Hint{Overflow: true, Err: errLost})
	l.overflow(Hint{Overflow: true})
	if len(sent) != 1 {
		t.Fatalf("%d hints sent at once, want 1", len(sent))
	}
	l.flush()
	if len(sent) != 2 || sent[1].Err != errLost {
		t.Errorf("after the flush: %+v, want a second hint that keeps the error", sent)
	}
	l.flush()
	if len(sent) != 2 || l.overflows() != 4 {
		t.Errorf("flushed again: %d hints, %d overflows counted", len(sent), l.overflows())
	}
}
