package watch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fim/internal/fstest"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// meta builds struct fanotify_event_metadata with explicit lengths, then appends the
// info records; the event length counts them unless evLen is set (non-zero).
func meta(evLen uint32, version uint8, metaLen uint16, mask uint64, fd, pid int32, infos ...[]byte) []byte {
	b := make([]byte, metadataLen, int(metaLen)+64)
	b[4] = version
	binary.NativeEndian.PutUint16(b[6:], metaLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	if int(metaLen) > metadataLen {
		b = append(b, make([]byte, int(metaLen)-metadataLen)...) // a future, longer metadata
	}
	for _, in := range infos {
		b = append(b, in...)
	}
	if evLen == 0 {
		evLen = uint32(len(b))
	}
	binary.NativeEndian.PutUint32(b[0:], evLen)
	return b
}

// event is a well-formed record as the kernel writes it with FID reporting.
func event(mask uint64, pid int32, infos ...[]byte) []byte {
	return meta(0, metaVersion, metadataLen, mask, -1, pid, infos...)
}

// info builds one info record: header, body, padding to 4 bytes as the kernel does.
func info(typ uint8, body []byte) []byte {
	n := infoHdrLen + len(body)
	n += (4 - n%4) % 4
	b := make([]byte, n)
	b[0] = typ
	binary.NativeEndian.PutUint16(b[2:], uint16(n))
	copy(b[infoHdrLen:], body)
	return b
}

// fidBody is the body of a file identifier record: fsid, file_handle, then the name
// and its NUL for the DFID_NAME kinds.
func fidBody(fsid uint64, htype int32, handle []byte, name string) []byte {
	b := binary.NativeEndian.AppendUint64(nil, fsid)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(handle)))
	b = binary.NativeEndian.AppendUint32(b, uint32(htype))
	b = append(b, handle...)
	if name != "" {
		b = append(append(b, name...), 0)
	}
	return b
}

func dfidName(fsid uint64, handle []byte, name string) []byte {
	return info(infoDFIDName, fidBody(fsid, 1, handle, name))
}

// withLen overwrites the length of the info record in b.
func withLen(b []byte, n uint16) []byte {
	b = bytes.Clone(b)
	binary.NativeEndian.PutUint16(b[2:], n)
	return b
}

var (
	handleA = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	handleB = []byte{9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	createA = event(unix.FAN_CREATE, 42, dfidName(7, handleA, "a"), info(infoFID, fidBody(7, 1, handleB, "")))
)

type parseCase struct {
	name string
	buf  []byte
	want []RawEvent
	err  string // substring of the error; "" for none
}

var parseCases = []parseCase{
	{name: "empty"},
	{
		name: "create with child fid",
		buf:  createA,
		want: []RawEvent{{Mask: unix.FAN_CREATE, PID: 42, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 7, HandleType: 1, Handle: handleA, Name: "a"},
			{Kind: infoFID, Fsid: 7, HandleType: 1, Handle: handleB},
		}}},
	},
	{
		name: "rename with old and new names",
		buf: event(unix.FAN_RENAME, 7,
			info(infoOldDFIDName, fidBody(1, 2, handleA, "old")),
			info(infoNewDFIDName, fidBody(1, 2, handleB, "new name"))),
		want: []RawEvent{{Mask: unix.FAN_RENAME, PID: 7, FD: -1, FIDs: []FID{
			{Kind: infoOldDFIDName, Fsid: 1, HandleType: 2, Handle: handleA, Name: "old"},
			{Kind: infoNewDFIDName, Fsid: 1, HandleType: 2, Handle: handleB, Name: "new name"},
		}}},
	},
	{
		name: "directory fid without name",
		buf:  event(unix.FAN_ATTRIB|unix.FAN_ONDIR, 1, info(infoDFID, fidBody(3, 1, handleA, ""))),
		want: []RawEvent{{Mask: unix.FAN_ATTRIB | unix.FAN_ONDIR, PID: 1, FD: -1, FIDs: []FID{
			{Kind: infoDFID, Fsid: 3, HandleType: 1, Handle: handleA},
		}}},
	},
	{
		name: "event on the directory itself",
		buf:  event(unix.FAN_DELETE_SELF|unix.FAN_ONDIR, 1, dfidName(3, handleA, ".")),
		want: []RawEvent{{Mask: unix.FAN_DELETE_SELF | unix.FAN_ONDIR, PID: 1, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 3, HandleType: 1, Handle: handleA, Name: "."},
		}}},
	},
	{
		name: "overflow without info",
		buf:  event(unix.FAN_Q_OVERFLOW, 0),
		want: []RawEvent{{Mask: unix.FAN_Q_OVERFLOW, FD: -1}},
	},
	{
		name: "two events",
		buf:  append(bytes.Clone(createA), event(unix.FAN_DELETE, 43, dfidName(7, handleA, "b"))...),
		want: []RawEvent{
			{Mask: unix.FAN_CREATE, PID: 42, FD: -1, FIDs: []FID{
				{Kind: infoDFIDName, Fsid: 7, HandleType: 1, Handle: handleA, Name: "a"},
				{Kind: infoFID, Fsid: 7, HandleType: 1, Handle: handleB},
			}},
			{Mask: unix.FAN_DELETE, PID: 43, FD: -1, FIDs: []FID{
				{Kind: infoDFIDName, Fsid: 7, HandleType: 1, Handle: handleA, Name: "b"},
			}},
		},
	},
	{
		name: "unknown info types skipped",
		buf: event(unix.FAN_MODIFY, 5,
			info(infoPIDFD, []byte{3, 0, 0, 0}),
			info(infoError, []byte{0, 0, 0, 0, 1, 0, 0, 0}),
			info(infoRange, make([]byte, 16)),
			info(infoMnt, make([]byte, 8)),
			info(200, []byte("future")),
			dfidName(9, handleA, "f")),
		want: []RawEvent{{Mask: unix.FAN_MODIFY, PID: 5, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 9, HandleType: 1, Handle: handleA, Name: "f"},
		}}},
	},
	{
		name: "longer metadata of a later version of the struct",
		buf:  meta(0, metaVersion, metadataLen+8, unix.FAN_CREATE, -1, 3, dfidName(1, handleA, "x")),
		want: []RawEvent{{Mask: unix.FAN_CREATE, PID: 3, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 1, HandleType: 1, Handle: handleA, Name: "x"},
		}}},
	},
	{
		name: "empty handle, empty name",
		buf:  event(unix.FAN_CREATE, 3, info(infoDFIDName, append(fidBody(1, 1, nil, ""), 0))),
		want: []RawEvent{{Mask: unix.FAN_CREATE, PID: 3, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 1, HandleType: 1},
		}}},
	},
	// Malformed input: an error, and the events before the bad record.
	{name: "short", buf: createA[:metadataLen-1], err: "short"},
	{name: "one byte", buf: []byte{0}, err: "short"},
	{
		name: "bad version",
		buf:  meta(0, 2, metadataLen, unix.FAN_CREATE, -1, 1),
		err:  "version 2",
	},
	{
		name: "event length below the metadata",
		buf:  meta(metadataLen-1, metaVersion, metadataLen, unix.FAN_CREATE, -1, 1),
		err:  "bad lengths",
	},
	{
		name: "event length beyond the buffer",
		buf:  meta(metadataLen+1, metaVersion, metadataLen, unix.FAN_CREATE, -1, 1),
		err:  "bad lengths",
	},
	{
		name: "huge event length",
		buf:  meta(1<<32-1, metaVersion, metadataLen, unix.FAN_CREATE, -1, 1),
		err:  "bad lengths",
	},
	{
		name: "metadata length below the struct",
		buf:  meta(0, metaVersion, metadataLen-4, unix.FAN_CREATE, -1, 1),
		err:  "bad lengths",
	},
	{
		name: "metadata length beyond the event",
		buf:  meta(metadataLen, metaVersion, metadataLen+4, unix.FAN_CREATE, -1, 1),
		err:  "bad lengths",
	},
	{
		name: "truncated info header",
		buf:  event(unix.FAN_CREATE, 1, []byte{infoDFIDName, 0}),
		err:  "short",
	},
	{
		name: "info length zero",
		buf:  event(unix.FAN_CREATE, 1, withLen(dfidName(1, handleA, "a"), 0)),
		err:  "bad length 0",
	},
	{
		name: "info length below its header",
		buf:  event(unix.FAN_CREATE, 1, withLen(info(200, nil), 3)),
		err:  "bad length 3",
	},
	{
		name: "info length beyond the event",
		buf:  event(unix.FAN_CREATE, 1, withLen(dfidName(1, handleA, "a"), 200)),
		err:  "bad length 200",
	},
	{
		name: "fid record shorter than fsid and handle header",
		buf:  event(unix.FAN_CREATE, 1, info(infoDFIDName, make([]byte, fsidLen+handleHdr-4))),
		err:  "short",
	},
	{
		name: "handle longer than the record",
		buf: event(unix.FAN_CREATE, 1, info(infoFID, func() []byte {
			b := fidBody(1, 1, handleA, "")
			binary.NativeEndian.PutUint32(b[fsidLen:], 1<<31)
			return b
		}())),
		err: "file handle",
	},
	{
		name: "name record without a name",
		buf:  event(unix.FAN_CREATE, 1, info(infoDFIDName, fidBody(1, 1, handleA, ""))),
		err:  "no terminating NUL",
	},
	{
		name: "name without NUL",
		buf:  event(unix.FAN_CREATE, 1, info(infoDFIDName, append(fidBody(1, 1, handleA, ""), "abcd"...))),
		err:  "no terminating NUL",
	},
	{
		name: "good event, then a bad one",
		buf:  append(bytes.Clone(createA), meta(0, 9, metadataLen, 0, -1, 1)...),
		want: []RawEvent{{Mask: unix.FAN_CREATE, PID: 42, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 7, HandleType: 1, Handle: handleA, Name: "a"},
			{Kind: infoFID, Fsid: 7, HandleType: 1, Handle: handleB},
		}}},
		err: "version 9",
	},
	{
		name: "good event, then a partial one",
		buf:  append(bytes.Clone(createA), createA[:30]...),
		want: []RawEvent{{Mask: unix.FAN_CREATE, PID: 42, FD: -1, FIDs: []FID{
			{Kind: infoDFIDName, Fsid: 7, HandleType: 1, Handle: handleA, Name: "a"},
			{Kind: infoFID, Fsid: 7, HandleType: 1, Handle: handleB},
		}}},
		err: "bad lengths",
	},
}

// wantDecoded checks what a decoder returned against a table case: the records, and an
// error saying wantErr ("": none).
func wantDecoded[T any](t *testing.T, got T, err error, want T, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("error %v, want none", err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("error %v, want one saying %q", err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded:\n%+v\nwant:\n%+v", got, want)
	}
}

func TestParseEvents(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseEvents(c.buf)
			wantDecoded(t, got, err, c.want, c.err)
		})
	}
}

// TestParseEventsCopies checks that decoded events do not share memory with the
// buffer, which the reader fills again at once.
func TestParseEventsCopies(t *testing.T) {
	buf := bytes.Clone(createA)
	events, err := ParseEvents(buf)
	if err != nil || len(events) != 1 {
		t.Fatalf("ParseEvents: %v, %d events", err, len(events))
	}
	clear(buf)
	if fid := events[0].FIDs[0]; !bytes.Equal(fid.Handle, handleA) || fid.Name != "a" {
		t.Errorf("after the buffer was overwritten: %+v", fid)
	}
}

// FuzzParseEvents checks that no input makes ParseEvents panic or invent events: each
// event takes at least a metadata record of the buffer. The seeds are the table above
// and, under testdata/, records the kernel wrote (see TestKernelRecords).
func FuzzParseEvents(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.buf)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		events, err := ParseEvents(buf)
		if len(events) > len(buf)/metadataLen {
			t.Fatalf("%d events from %d bytes", len(events), len(buf))
		}
		if err == nil && len(buf) > 0 && len(events) == 0 {
			t.Fatalf("%d bytes, no event and no error", len(buf))
		}
		for _, ev := range events {
			for _, fid := range ev.FIDs {
				if strings.IndexByte(fid.Name, 0) >= 0 {
					t.Fatalf("name %q holds a NUL", fid.Name)
				}
				if len(fid.Handle)+len(fid.Name) > len(buf) {
					t.Fatalf("fid %+v larger than the buffer", fid)
				}
			}
		}
	})
}

// tmpfs mounts a tmpfs of the test's own and returns its directory.
func tmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		fstest.Skipf(t, "needs root")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=128m"); err != nil {
		fstest.Skipf(t, "mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		// A watcher just stopped may still hold a mark's descriptor on it for a moment.
		err := unix.Unmount(dir, 0)
		for tries := 0; errors.Is(err, unix.EBUSY) && tries < 50; tries++ {
			time.Sleep(20 * time.Millisecond)
			err = unix.Unmount(dir, 0)
		}
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(dir, unix.MNT_DETACH)
		}
		if err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestKernelRecords has the kernel report a few changes on a tmpfs, as fim's fanotify
// backend asks for them, and checks that ParseEvents decodes the raw records: masks,
// names, the writer's pid, the filesystem id, and directory handles that open again.
// With -update, the raw buffers become seeds of FuzzParseEvents.
func TestKernelRecords(t *testing.T) {
	dir := tmpfs(t)
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_DFID_NAME_TARGET,
		unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		fstest.Skipf(t, "fanotify_init with FAN_REPORT_DFID_NAME_TARGET: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fanMask|unix.FAN_RENAME, unix.AT_FDCWD, dir); err != nil {
		fstest.Skipf(t, "fanotify filesystem mark: %v", err)
	}
	mountFD, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mountFD)
	fsid, err := fsidOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "d")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	type named = wantFID
	steps := []struct {
		name   string
		change func()
		mask   uint64 // an event has all of these bits
		fids   []named
	}{
		{"create", func() { must(os.WriteFile(filepath.Join(dir, "a"), nil, 0o644)) },
			unix.FAN_CREATE, []named{{infoDFIDName, dir, "a"}}},
		{"modify", func() { must(os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644)) },
			unix.FAN_MODIFY, []named{{infoDFIDName, dir, "a"}}},
		{"chmod", func() { must(os.Chmod(filepath.Join(dir, "a"), 0o600)) },
			unix.FAN_ATTRIB, []named{{infoDFIDName, dir, "a"}}},
		{"mkdir", func() { must(os.Mkdir(sub, 0o755)) },
			unix.FAN_CREATE | unix.FAN_ONDIR, []named{{infoDFIDName, dir, "d"}}},
		{"rename", func() { must(os.Rename(filepath.Join(dir, "a"), filepath.Join(sub, "b"))) },
			unix.FAN_RENAME, []named{{infoOldDFIDName, dir, "a"}, {infoNewDFIDName, sub, "b"}}},
		{"unlink", func() { must(os.Remove(filepath.Join(sub, "b"))) },
			unix.FAN_DELETE, []named{{infoDFIDName, sub, "b"}}},
		{"rmdir", func() { must(os.Remove(sub)) },
			unix.FAN_DELETE | unix.FAN_ONDIR, []named{{infoDFIDName, dir, "d"}}},
	}
	var all []byte
	for i, step := range steps {
		step.change()
		buf := make([]byte, 64<<10)
		var raw []byte
		for {
			n, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			must(err)
			raw = append(raw, buf[:n]...)
		}
		all = append(all, raw...)
		events, err := ParseEvents(raw)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		found := false
		for _, ev := range events {
			if ev.PID != int32(os.Getpid()) || ev.FD != unix.FAN_NOFD {
				t.Errorf("%s: event %+v: pid %d and fd %d, want %d and FAN_NOFD", step.name, ev, ev.PID, ev.FD, os.Getpid())
			}
			for _, fid := range ev.FIDs {
				if fid.Fsid != fsid {
					t.Errorf("%s: fsid %x, want %x", step.name, fid.Fsid, fsid)
				}
			}
			if ev.Mask&step.mask == step.mask && hasFIDs(t, mountFD, ev.FIDs, step.fids) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no event with mask %#x and names %+v in %+v", step.name, step.mask, step.fids, events)
		}
		// -update rewrites testdata/fuzz/FuzzParseEvents/kernel-* from the records the kernel makes now.
		if fstest.Update() {
			writeSeed(t, fmt.Sprintf("kernel-%d-%s", i, step.name), raw)
		}
	}
	if fstest.Update() {
		writeSeed(t, "kernel-all", all)
	}
}

// wantFID is a name record an event must hold.
type wantFID struct {
	kind uint8
	dir  string // the directory its handle must open as
	name string
}

// hasFIDs reports whether fids holds the wanted name records, each with a handle that
// opens as the wanted directory.
func hasFIDs(t *testing.T, mountFD int, fids []FID, want []wantFID) bool {
	t.Helper()
	for _, w := range want {
		ok := false
		for _, fid := range fids {
			if fid.Kind != w.kind || fid.Name != w.name {
				continue
			}
			fd, err := unix.OpenByHandleAt(mountFD, unix.NewFileHandle(fid.HandleType, fid.Handle), unix.O_PATH|unix.O_CLOEXEC)
			if err != nil {
				t.Errorf("open_by_handle_at for %q: %v", fid.Name, err)
				continue
			}
			p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
			unix.Close(fd)
			if err != nil || p != w.dir {
				t.Errorf("the handle of %q opens %q (%v), want %q", fid.Name, p, err, w.dir)
				continue
			}
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

// writeSeed writes buf as a seed of FuzzParseEvents in the Go corpus format.
func writeSeed(t *testing.T, name string, buf []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", "FuzzParseEvents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", buf)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
