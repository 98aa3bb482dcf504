package main

import (
	"bytes"
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestHostileNames records names at the kernel's 255-byte limit and names built to forge
// a report line or drive a terminal, changes each, and checks that every change is
// reported under its exact name (JSON) and escaped onto one line (text).
func TestHostileNames(t *testing.T) {
	names := []struct {
		desc, name, escaped string
	}{
		{"255-byte name", strings.Repeat("n", 255), strings.Repeat("n", 255)},
		{"255 bytes of 2-byte runes", strings.Repeat("é", 127) + "x", strings.Repeat("é", 127) + "x"},
		{"newline forging a line", "a\nremove  shadow", `a\nremove  shadow`},
		{"tab", "b\tc", `b\tc`},
		{"terminal escapes", "c\x1b[2J\x1b]0;title\x07", `c\x1b[2J\x1b]0;title\x07`},
		{"invalid UTF-8", "d\xff\xfe", `d\xff\xfe`},
		{"carriage return", "e\rfim: no changes", `e\x0dfim: no changes`},
		{"bidi override", "f\u202egnp.exe", `f\u202egnp.exe`},
	}
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	must(t, os.Mkdir(root, 0o755))
	for i, n := range names {
		must(t, os.WriteFile(filepath.Join(root, n.name), []byte{byte(i)}, 0o644))
	}
	long := strings.Repeat("m", 255)
	must(t, os.WriteFile(filepath.Join(root, long), []byte("to be renamed"), 0o644))
	if err := os.WriteFile(filepath.Join(root, strings.Repeat("o", 256)), nil, 0o644); err == nil {
		t.Fatal("a 256-byte name was created: the filesystem does not enforce NAME_MAX")
	}
	mustRun(t, 0, "baseline", "--db", db, root)
	checkJSON(t, root, 0, "--db", db)

	for i, n := range names {
		must(t, os.WriteFile(filepath.Join(root, n.name), []byte{byte(i), 'x'}, 0o644))
	}
	renamed := strings.Repeat("r", 255)
	must(t, os.Rename(filepath.Join(root, long), filepath.Join(root, renamed)))

	got := checkJSON(t, root, 4, "--db", db)
	var want []string
	for _, n := range names {
		want = append(want, "change T/"+n.name+" [content,size,mtime,ctime]")
	}
	want = append(want, "rename T/"+renamed+" <- T/"+long)
	slices.Sort(got)
	slices.Sort(want)
	wantEvents(t, got, want...)

	stdout, _ := mustRun(t, 4, "check", "--db", db)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 1+len(want) {
		t.Fatalf("text report has %d lines, want a summary and %d events:\n%s", len(lines), len(want), stdout)
	}
	for _, l := range lines {
		if i := strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x202e || r == '\uFFFD' }); i >= 0 {
			t.Errorf("text line holds a raw control or invalid byte at %d: %q", i, l)
		}
	}
	for _, n := range names {
		if !strings.Contains(stdout, root+"/"+n.escaped+"\n") && !strings.Contains(stdout, root+"/"+n.escaped+" ") {
			t.Errorf("%s: text report lacks the escaped name %q:\n%s", n.desc, n.escaped, stdout)
		}
	}
}

// TestUnstableIsAFinding changes a file's ctime while fim reads it, on every read (a
// fanotify permission event holds each read until the change is made), so the file never
// holds still: whatever is ignored, that is a change of content, and counts in the exit
// code.
func TestUnstableIsAFinding(t *testing.T) {
	fstest.RequireRoot(t)
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	must(t, os.Mkdir(root, 0o755))
	big := filepath.Join(root, "big")
	content := bytes.Repeat([]byte("a"), 4<<20)
	must(t, os.WriteFile(big, content, 0o644))
	mustRun(t, 0, "baseline", "--db", db, root)
	content[1<<20] = 'b'
	rewriteKeepTimes(t, big, string(content))
	st, err := os.Stat(big)
	must(t, err)
	ts := []unix.Timespec{unix.NsecToTimespec(st.ModTime().UnixNano()), unix.NsecToTimespec(st.ModTime().UnixNano())}

	for _, args := range [][]string{{"--ignore", "ctime"}, {"--ignore", "ctime", "--fast"}, {}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stop := duringReads(t, big, func() {
				if err := unix.UtimesNanoAt(unix.AT_FDCWD, big, ts, 0); err != nil { // the same times: only ctime moves
					t.Error(err)
				}
			})
			stdout, stderr, code := run(t, append([]string{"check", "--format", "json", "--db", db}, args...)...)
			if n := stop(); n == 0 {
				t.Fatal("fim read the file without a read the test could see")
			}
			got := summarize(t, parseJSON(t, stdout), root)
			want := "change T/big [content]"
			if len(args) == 0 {
				want = "change T/big [content,ctime]"
			}
			if code != 4 || !slices.Equal(got, []string{want}) {
				t.Fatalf("exit %d, events %q, want exit 4 and %q\nstderr: %s", code, got, want, stderr)
			}
			if !strings.Contains(stderr, "changed while being hashed") {
				t.Errorf("no warning that the file would not hold still: %s", stderr)
			}
			if !strings.Contains(stdout, `"unstable"`) {
				t.Errorf("the event does not say the file was unstable: %s", stdout)
			}
		})
	}
}

// duringReads calls change inside every read of the file at path, until the returned
// stop is called: a fanotify permission event holds each read until change has returned.
// stop returns how many reads there were.
func duringReads(t *testing.T, path string, change func()) (stop func() int) {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		fstest.Skipf(t, "fanotify permission events: %v", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_ACCESS_PERM, unix.AT_FDCWD, path); err != nil {
		unix.Close(fd)
		t.Fatalf("fanotify mark %s: %v", path, err)
	}
	var quit [2]int
	if err := unix.Pipe2(quit[:], unix.O_CLOEXEC); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	reads := make(chan int)
	go func() {
		n := 0
		defer func() {
			unix.Close(fd) // the kernel lets any read still held go
			unix.Close(quit[0])
			reads <- n
		}()
		buf := make([]byte, 4096)
		meta := int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(quit[0]), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				t.Errorf("poll: %v", err)
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			k, err := unix.Read(fd, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				t.Errorf("read fanotify: %v", err)
				return
			}
			for off := 0; off+meta <= k; {
				ev := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&buf[off]))
				if ev.Mask&unix.FAN_ACCESS_PERM != 0 && ev.Fd >= 0 {
					n++
					change()
					resp := unix.FanotifyResponse{Fd: ev.Fd, Response: unix.FAN_ALLOW}
					if _, err := unix.Write(fd, (*[unsafe.Sizeof(resp)]byte)(unsafe.Pointer(&resp))[:]); err != nil {
						t.Errorf("answer fanotify: %v", err)
					}
				}
				if ev.Fd >= 0 {
					unix.Close(int(ev.Fd))
				}
				off += int(ev.Event_len)
			}
		}
	}()
	return func() int {
		unix.Close(quit[1])
		return <-reads
	}
}
