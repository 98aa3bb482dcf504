package provenance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fim/diff"
	"fim/tree"
)

func journalEntry(p string, size int64, seed byte) *tree.Entry {
	e := &tree.Entry{Path: p, Type: tree.TypeFile, Mode: 0o644, Size: size, Mtime: int64(seed) * 1e9, Flags: tree.FlagHashed}
	for i := range e.Hash {
		e.Hash[i] = seed
	}
	return e
}

var (
	postinst = &diff.Process{PID: 10, Name: "sh", Lineage: &diff.Lineage{Manager: "dpkg", ManagerPID: 9, Package: "hello", Script: "postinst"}}
	intruder = &diff.Process{PID: 11, Name: "vi"}
)

func written(e *tree.Entry, writers ...*diff.Process) diff.Event {
	ev := diff.Event{Kind: diff.Change, Path: e.Path, After: e, Process: writers[len(writers)-1]}
	ev.Writers = diff.Writers(writers)
	return ev
}

// TestJournalExplains writes a journal as fim watch does and checks what a check's
// events, with no process of their own, make of it: a change is script only when the
// journal's last record of the path names package-manager writers alone and saw the
// state the path is in now.
func TestJournalExplains(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	since := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	j, err := OpenJournal(db)
	if err != nil {
		t.Fatal(err)
	}
	byScript, byIntruder := journalEntry("/etc/a", 3, 1), journalEntry("/etc/b", 3, 2)
	both, before := journalEntry("/etc/c", 3, 3), journalEntry("/etc/old", 3, 4)
	later, gone := journalEntry("/etc/later", 3, 5), journalEntry("/etc/gone", 3, 6)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Append([]diff.Event{written(before, postinst)}, since.Add(-time.Minute)))
	must(j.Append([]diff.Event{written(byScript, postinst), written(byIntruder, intruder), written(both, postinst, intruder),
		written(later, postinst), {Kind: diff.Remove, Path: gone.Path, Before: gone, Process: postinst}}, since.Add(time.Minute)))
	must(j.Append([]diff.Event{written(journalEntry("/etc/later", 4, 7), intruder)}, since.Add(2*time.Minute)))
	must(j.Close())

	check := func(journal string) map[string]diff.Event {
		t.Helper()
		var warned []string
		a := New(Options{Root: t.TempDir(), Since: since, Journal: journal, Logf: func(f string, args ...any) {
			warned = append(warned, fmt.Sprintf(f, args...))
		}})
		edited := journalEntry("/etc/a", 3, 1)
		edited.Mtime++ // touched after the script wrote it
		events := []diff.Event{
			{Kind: diff.Change, Path: "/etc/a", After: journalEntry("/etc/a", 3, 1)},
			{Kind: diff.Change, Path: "/etc/b", After: journalEntry("/etc/b", 3, 2)},
			{Kind: diff.Change, Path: "/etc/c", After: journalEntry("/etc/c", 3, 3)},
			{Kind: diff.Change, Path: "/etc/old", After: journalEntry("/etc/old", 3, 4)},
			{Kind: diff.Change, Path: "/etc/later", After: journalEntry("/etc/later", 4, 7)},
			{Kind: diff.Remove, Path: "/etc/gone", Before: gone},
			{Kind: diff.Create, Path: "/etc/none", After: journalEntry("/etc/none", 1, 8)},
		}
		if err := a.Annotate(events); err != nil {
			t.Fatal(err)
		}
		out := map[string]diff.Event{}
		for _, ev := range events {
			out[ev.Path] = ev
		}
		if len(warned) > 1 {
			t.Errorf("warnings %q", warned)
		}
		if len(warned) == 1 {
			out["warning"] = diff.Event{Reason: warned[0]}
		}
		// The same path edited after the script's write.
		ev := []diff.Event{{Kind: diff.Change, Path: "/etc/a", After: edited}}
		a.Annotate(ev)
		out["/etc/a edited"] = ev[0]
		return out
	}
	got := check(JournalPath(db))
	for p, want := range map[string]diff.Verdict{
		"/etc/a": diff.VerdictScript, "/etc/gone": diff.VerdictScript, "/etc/a edited": "",
		"/etc/b": "", "/etc/c": "", "/etc/old": "", "/etc/later": "", "/etc/none": "",
	} {
		if got[p].Verdict != want {
			t.Errorf("%s: verdict %q (%s), want %q", p, got[p].Verdict, got[p].Reason, want)
		}
	}
	if r := got["/etc/a"].Reason; !strings.Contains(r, "hello's postinst under dpkg") {
		t.Errorf("reason %q names no package and script", r)
	}
	if w, ok := got["warning"]; ok {
		t.Errorf("a sound journal warned: %s", w.Reason)
	}

	// A cut last record is one being written: left out, the others used.
	data, err := os.ReadFile(JournalPath(db))
	if err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(t.TempDir(), "torn")
	os.WriteFile(torn, append(bytes.Clone(data), `{"path":"L2V0Yy9i","time":`...), 0o600)
	if got := check(torn); got["/etc/a"].Verdict != diff.VerdictScript || got["warning"].Reason != "" {
		t.Errorf("torn journal: %+v, warning %q", got["/etc/a"], got["warning"].Reason)
	}
	// A damaged one explains nothing and says so in one line.
	for name, bad := range map[string][]byte{
		"garbage line": append(bytes.Clone(data), "garbage\n"...),
		"unknown key":  bytes.Replace(data, []byte(`"writers"`), []byte(`"writerz"`), 1),
		"relative":     bytes.Replace(data, []byte(`"path":"L2V0Yy9h"`), []byte(`"path":"ZXRjL2E="`), 1),
	} {
		p := filepath.Join(t.TempDir(), "bad")
		os.WriteFile(p, bad, 0o600)
		got := check(p)
		if got["/etc/a"].Verdict != "" || !strings.Contains(got["warning"].Reason, p) || strings.Contains(got["warning"].Reason, "\n") {
			t.Errorf("%s: %+v, warning %q", name, got["/etc/a"], got["warning"].Reason)
		}
	}
	// No journal: digests alone.
	if got := check(filepath.Join(t.TempDir(), "none")); got["/etc/a"].Verdict != "" || got["warning"].Reason != "" {
		t.Errorf("no journal: %+v, warning %q", got["/etc/a"], got["warning"].Reason)
	}
}

// TestJournalBounded appends past JournalMax and checks the journal stays within it,
// keeps its newest records and is a journal still; and that reopening it drops a
// record a crash cut short.
func TestJournalBounded(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	j, err := OpenJournal(db)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for i := 0; ; i++ {
		last = fmt.Sprintf("/var/lib/x/%06d", i)
		if err := j.Append([]diff.Event{written(journalEntry(last, int64(i), 1), postinst)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if st, _ := j.File().Stat(); i > 0 && st.Size() < int64(i)*100 {
			break // compacted
		}
		if i > JournalMax/100 {
			t.Fatal("the journal was never compacted")
		}
	}
	st, err := j.File().Stat()
	if err != nil {
		t.Fatal(err)
	}
	j.File().WriteAt([]byte(`{"path":"cut`), st.Size()) // a crash in the middle of a record
	j.Close()
	if j, err = OpenJournal(db); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, err := os.ReadFile(JournalPath(db))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > JournalMax || len(data) < JournalMax/4 {
		t.Errorf("journal of %d bytes, bound %d", len(data), JournalMax)
	}
	recs, err := parseJournal(data, time.Time{})
	if err != nil || recs[last] == nil || recs["/var/lib/x/000000"] != nil {
		t.Errorf("after compaction: %d records, last %v, first kept %v, %v", len(recs), recs[last] != nil, recs["/var/lib/x/000000"] != nil, err)
	}
}

func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(`{"path":"L2V0Yy9h","time":"2026-01-02T03:04:05Z","state":{"type":"file","mode":420,"uid":0,"gid":0,"size":3,"mtime":1},"writers":[{"pid":1,"manager":"dpkg"}]}` + "\n"))
	f.Add([]byte(`{"path":"L2V0Yy9h","time":"2026-01-02T03:04:05Z","state":null,"writers":[]}` + "\n{"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseJournal(data, time.Time{})
		if err != nil {
			if recs != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q with records", err)
			}
			return
		}
		for p, r := range recs {
			if p != string(r.Path) || !strings.HasPrefix(p, "/") || r.Writers == nil {
				t.Fatalf("record %q: %+v", p, r)
			}
		}
	})
}

// TestJournalHostile: a symlink or a FIFO where the journal should be is neither
// followed nor read: the watch does not journal, and a check warns once and explains
// nothing by it.
func TestJournalHostile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, mk := range map[string]func(p string) error{
		"symlink": func(p string) error { return os.Symlink(target, p) },
		"fifo":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "b.db")
			if err := mk(JournalPath(db)); err != nil {
				t.Fatal(err)
			}
			if j, err := OpenJournal(db); err == nil {
				j.Close()
				t.Fatalf("OpenJournal opened a %s", name)
			} else if !strings.Contains(err.Error(), JournalPath(db)) {
				t.Errorf("error %q does not name the journal", err)
			}
			var warned []string
			a := New(Options{Root: t.TempDir(), Journal: JournalPath(db), Logf: func(f string, args ...any) {
				warned = append(warned, fmt.Sprintf(f, args...))
			}})
			events := []diff.Event{{Kind: diff.Change, Path: "/etc/a", After: journalEntry("/etc/a", 3, 1)}}
			if err := a.Annotate(events); err != nil {
				t.Fatal(err)
			}
			if events[0].Verdict != "" || len(warned) != 1 || !strings.Contains(warned[0], JournalPath(db)) {
				t.Errorf("verdict %q, warnings %q", events[0].Verdict, warned)
			}
			if data, _ := os.ReadFile(target); len(data) != 0 {
				t.Errorf("the symlink's target was written: %q", data)
			}
		})
	}
}

// TestJournalDirectoryFilled checks that a directory a maintainer script made is still
// the state its journal record saw once the script has put entries in it: a directory's
// size and mtime move with its entries (each has its own event), as deb-systemd-helper's
// sockets.target.wants does when it links a unit into it after making it.
func TestJournalDirectoryFilled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	since := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	j, err := OpenJournal(db)
	if err != nil {
		t.Fatal(err)
	}
	made := &tree.Entry{Path: "/etc/wants", Type: tree.TypeDir, Mode: 0o755, Size: 40, Mtime: 1e9}
	if err := j.Append([]diff.Event{{Kind: diff.Create, Path: made.Path, After: made, Process: postinst}}, since.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	filled := *made
	filled.Size, filled.Mtime = 60, 2e9
	chmodded := filled
	chmodded.Mode = 0o777
	for _, c := range []struct {
		name  string
		after *tree.Entry
		want  diff.Verdict
	}{{"filled", &filled, diff.VerdictScript}, {"chmodded after", &chmodded, ""}} {
		a := New(Options{Root: t.TempDir(), Since: since, Journal: JournalPath(db)})
		events := []diff.Event{{Kind: diff.Create, Path: made.Path, After: c.after}}
		if err := a.Annotate(events); err != nil {
			t.Fatal(err)
		}
		if events[0].Verdict != c.want {
			t.Errorf("%s: verdict %q (%s), want %q", c.name, events[0].Verdict, events[0].Reason, c.want)
		}
	}
}
