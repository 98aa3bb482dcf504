package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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

// TestUnstableIsAFinding tampers with a file (same size, mtime put back) and keeps
// moving its ctime with utimensat while check reads it, so that every read is
// overtaken: the file is unstable. It must be reported as a change of content, also
// with ctime ignored, and count in the exit code, whether check reads it in full or
// with --fast.
func TestUnstableIsAFinding(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	must(t, os.Mkdir(root, 0o755))
	big := filepath.Join(root, "big")
	content := bytes.Repeat([]byte("a"), 48<<20) // long enough to read that ctime ticks meanwhile
	must(t, os.WriteFile(big, content, 0o644))
	mustRun(t, 0, "baseline", "--db", db, root)
	content[1<<20] = 'b'
	rewriteKeepTimes(t, big, string(content))
	st, err := os.Stat(big)
	must(t, err)

	for _, args := range [][]string{{"--ignore", "ctime"}, {"--ignore", "ctime", "--fast"}, {}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				ts := []unix.Timespec{unix.NsecToTimespec(st.ModTime().UnixNano()), unix.NsecToTimespec(st.ModTime().UnixNano())}
				for {
					select {
					case <-stop:
						return
					default:
						unix.UtimesNanoAt(unix.AT_FDCWD, big, ts, 0)
					}
				}
			}()
			stdout, stderr, code := run(t, append([]string{"check", "--format", "json", "--db", db}, args...)...)
			close(stop)
			<-done
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
