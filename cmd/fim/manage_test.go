package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"fim/internal/fstest"
	"fim/report"
)

// codeOf is the exit code of check for summarized events.
func codeOf(events []string) int {
	code := 0
	for _, ev := range events {
		switch {
		case strings.HasPrefix(ev, "create "):
			code |= 1
		case strings.HasPrefix(ev, "remove "):
			code |= 2
		default:
			code |= 4
		}
	}
	return code
}

// mutateAll makes one difference of each kind but move in a tree of basicManaged.
func mutateAll(t *testing.T, root string) {
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("A!\n"), 0))
	must(t, os.Remove(filepath.Join(root, "b")))
	must(t, os.Chmod(filepath.Join(root, "c"), 0o600))
	must(t, os.Rename(filepath.Join(root, "e"), filepath.Join(root, "f")))
	must(t, os.WriteFile(filepath.Join(root, "n"), []byte("new\n"), 0o644))
	must(t, os.Rename(filepath.Join(root, "d/x"), filepath.Join(root, "x")))
}

var basicManaged = fstest.Tree{"a": fstest.File("a\n"), "b": fstest.File("b\n"), "c": fstest.File("c\n"), "d/x": fstest.File("x\n"), "e": fstest.File("e\n"), "l": fstest.Link("a")}

// allManaged is what check reports after mutateAll.
var allManaged = []string{
	"change T/a [content,size,mtime,ctime]",
	"remove T/b",
	"chmod T/c [mode,ctime]",
	"rename T/f <- T/e",
	"create T/n",
	"move T/x <- T/d/x",
}

// TestDiff compares two baselines of one tree, before and after changes, and expects
// exactly what check reports of the same changes, in every format.
func TestDiff(t *testing.T) {
	tmp := t.TempDir()
	root, oldDB, newDB := filepath.Join(tmp, "t"), filepath.Join(tmp, "old.db"), filepath.Join(tmp, "new.db")
	basicManaged.Build(t, root)
	mustRun(t, 0, "baseline", "--db", oldDB, root)
	mutateAll(t, root)
	mustRun(t, 0, "baseline", "--db", newDB, root)

	wantEvents(t, summarize(t, parseJSON(t, mustOut(t, 7, "diff", "--format", "json", oldDB, newDB)), root), allManaged...)
	for _, format := range report.FormatNames() {
		t.Run(format, func(t *testing.T) {
			checkOut, _ := mustRun(t, 7, "check", "--db", oldDB, "--format", format)
			diffOut, _ := mustRun(t, 7, "diff", "--format", format, oldDB, newDB)
			switch format {
			case "text": // no time in it: the same bytes
				if diffOut != checkOut {
					t.Errorf("diff:\n%s\ncheck:\n%s", diffOut, checkOut)
				}
			case "json":
				wantEvents(t, summarize(t, parseJSON(t, diffOut), root), summarize(t, parseJSON(t, checkOut), root)...)
			default:
				if diffOut == "" {
					t.Errorf("no %s report", format)
				}
			}
		})
	}
	// --ignore and the exit code follow check's: nothing left to report after ignoring.
	out, _ := mustRun(t, 0, "diff", newDB, newDB)
	if summaryOf(t, out, 1) != "fim: no changes\n" {
		t.Errorf("diff of a baseline with itself: %q", out)
	}
	// --output appends to a file, as check's does.
	reportFile := filepath.Join(tmp, "report.txt")
	mustRun(t, 7, "diff", "--output", reportFile, oldDB, newDB)
	mustRun(t, 7, "diff", "--output", reportFile, oldDB, newDB)
	data, err := os.ReadFile(reportFile)
	must(t, err)
	if n := strings.Count(string(data), "fim: 6 changes"); n != 2 {
		t.Errorf("report file has %d summaries, want 2:\n%s", n, data)
	}
}

// TestDiffKeyBases compares baselines of different paths, whose keys leave out different
// directories: entries compare by recorded path.
func TestDiffKeyBases(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	fstest.Tree{"a": fstest.File("a"), "d/b": fstest.File("b"), "d/e/c": fstest.File("c")}.Build(t, root)
	narrow, wide := filepath.Join(tmp, "narrow.db"), filepath.Join(tmp, "wide.db")
	mustRun(t, 0, "baseline", "--db", narrow, filepath.Join(root, "d"))
	mustRun(t, 0, "baseline", "--db", wide, root)
	got := summarize(t, parseJSON(t, mustOut(t, 1, "diff", "--format", "json", narrow, wide)), root)
	wantEvents(t, got, "create T", "create T/a")
	got = summarize(t, parseJSON(t, mustOut(t, 2, "diff", "--format", "json", wide, narrow)), root)
	wantEvents(t, got, "remove T", "remove T/a")
}

func TestDiffVerify(t *testing.T) {
	_, signed, key := signedTree(t)
	unsigned := filepath.Join(t.TempDir(), "u.db")
	mustRun(t, 0, "baseline", "--db", unsigned, t.TempDir())
	mustRun(t, 0, "diff", "--verify", key+".pub", signed, signed)
	mustRun(t, 0, "diff", signed, signed, "--verify", key+".pub")
	for _, args := range [][]string{{signed, unsigned}, {unsigned, signed}} {
		_, stderr := mustRun(t, 17, append([]string{"diff", "--verify", key + ".pub"}, args...)...)
		if !strings.Contains(stderr, unsigned+": not signed") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("diff %v: stderr %q", args, stderr)
		}
	}
	_, stderr := mustRun(t, 16, "diff", signed)
	if !strings.Contains(stderr, "OLD.db NEW.db") {
		t.Errorf("one baseline: stderr %q", stderr)
	}
	mustRun(t, 17, "diff", signed, signed+".missing")
}

// mustOut runs fim, expects exit code want, and returns stdout.
func mustOut(t *testing.T, want int, args ...string) string {
	t.Helper()
	out, _ := mustRun(t, want, args...)
	return out
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name     string
		args     []string // "$T" stands for the tree
		accepted []string
	}{
		{"type", []string{"--type", "create"}, []string{"create T/n"}},
		{"types", []string{"--type", "chmod,create", "--type", "move"}, []string{"chmod T/c [mode,ctime]", "create T/n", "move T/x <- T/d/x"}},
		{"path", []string{"--path", "$T/a"}, []string{"change T/a [content,size,mtime,ctime]"}},
		{"old path of a rename", []string{"--path", "$T/e"}, []string{"rename T/f <- T/e"}},
		{"glob with a comma", []string{"--path", "$T/{a,n}"}, []string{"change T/a [content,size,mtime,ctime]", "create T/n"}},
		{"paths", []string{"--path", "$T/a", "--path", "$T/d/*"}, []string{"change T/a [content,size,mtime,ctime]", "move T/x <- T/d/x"}},
		{"path and type", []string{"--path", "$T/[abc]", "--type", "remove,chmod"}, []string{"remove T/b", "chmod T/c [mode,ctime]"}},
		// What only moves entries in and out of T: T's own mtime and ctime go with them,
		// or the next check would report T.
		{"structural only", []string{"--type", "create,remove,rename,move"}, []string{"remove T/b", "rename T/f <- T/e", "create T/n", "move T/x <- T/d/x"}},
		{"everything", []string{"--path", "**"}, allManaged},
		{"nothing matches", []string{"--path", "$T/zzz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
			basicManaged.Build(t, root)
			mustRun(t, 0, "baseline", "--db", db, root)
			mutateAll(t, root)
			wantEvents(t, checkJSON(t, root, 7, "--db", db), allManaged...)

			args := append([]string{"accept", "--db", db, "--format", "json"}, expand(tt.args, root)...)
			stdout, stderr := mustRun(t, 0, args...)
			wantEvents(t, summarize(t, parseJSON(t, stdout), root), tt.accepted...)
			var rest []string
			for _, ev := range allManaged {
				if !slices.Contains(tt.accepted, ev) {
					rest = append(rest, ev)
				}
			}
			if len(tt.accepted) == 0 {
				if !strings.Contains(stderr, "no difference matches") {
					t.Errorf("stderr %q", stderr)
				}
			} else if want := len(rest); !strings.Contains(stderr, "; "+strconv.Itoa(want)+" remain") {
				t.Errorf("stderr %q, want %d remain", stderr, want)
			}
			// The next check reports exactly the rest, and again after that.
			wantEvents(t, checkJSON(t, root, codeOf(rest), "--db", db), rest...)
			wantEvents(t, checkJSON(t, root, codeOf(rest), "--db", db), rest...)
		})
	}
}

func TestAcceptDryRun(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	basicManaged.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	mutateAll(t, root)
	before, err := os.ReadFile(db)
	must(t, err)
	stdout, stderr := mustRun(t, 0, "accept", "--db", db, "--dry-run", "--path", "**", "--format", "json")
	wantEvents(t, summarize(t, parseJSON(t, stdout), root), allManaged...)
	if !strings.Contains(stderr, "dry run") {
		t.Errorf("stderr %q", stderr)
	}
	after, err := os.ReadFile(db)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Error("--dry-run changed the baseline")
	}
	wantEvents(t, checkJSON(t, root, 7, "--db", db), allManaged...)
}

// TestAcceptMovedDirectory accepts the rename of a directory into which another
// directory was moved, in which a file changed, one was created and one removed: the
// records below it move with it, and each other difference stays as it was reported.
func TestAcceptMovedDirectory(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"d/a": fstest.File("a\n"), "d/b": fstest.File("b\n"), "d/sub/c": fstest.File("c\n"), "d/gone": fstest.File("g\n"),
		"x/sub2/y": fstest.File("y\n"), "other": fstest.File("o\n")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	must(t, os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")))
	must(t, os.WriteFile(filepath.Join(root, "e/a"), []byte("A!\n"), 0))
	must(t, os.Remove(filepath.Join(root, "e/gone")))
	must(t, os.WriteFile(filepath.Join(root, "e/new"), []byte("n\n"), 0o644))
	must(t, os.Rename(filepath.Join(root, "x/sub2"), filepath.Join(root, "e/sub2")))

	ignore := []string{"--ignore", "mtime,ctime,nlink"} // what a directory's content does to it
	wantEvents(t, checkJSON(t, root, 7, append([]string{"--db", db}, ignore...)...),
		"remove T/d/gone",
		"rename T/e <- T/d",
		"change T/e/a <- T/d/a [content,size]",
		"create T/e/new",
		"move T/e/sub2 <- T/x/sub2")

	stdout, _ := mustRun(t, 0, "accept", "--db", db, "--format", "json", "--path", filepath.Join(root, "e"))
	wantEvents(t, summarize(t, parseJSON(t, stdout), root), "rename T/e <- T/d [mtime,nlink]")
	// T/e/b, T/e/sub and T/e/sub/c moved with it; T/e/a's change stays, at its new
	// path; what sub2 brought stays folded into its own move.
	rest := []string{
		"remove T/d/gone",
		"change T/e/a [content,size,mtime,ctime]",
		"create T/e/new",
		"move T/e/sub2 <- T/x/sub2",
	}
	wantEvents(t, checkJSON(t, root, 7, "--db", db), rest...)

	mustRun(t, 0, "accept", "--db", db, "--path", filepath.Join(root, "e/sub2"))
	wantEvents(t, checkJSON(t, root, 7, "--db", db), rest[:3]...)
	mustRun(t, 0, "accept", "--db", db, "--path", "**")
	wantEvents(t, checkJSON(t, root, 0, "--db", db))
	// Every record of the moved trees is in place.
	out := mustOut(t, 0, "list", "--db", db, "--format", "json")
	var paths []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec struct{ Path string }
		must(t, json.Unmarshal(sc.Bytes(), &rec))
		paths = append(paths, strings.TrimPrefix(rec.Path, root))
	}
	want := []string{"", "/e", "/e/a", "/e/b", "/e/new", "/e/sub", "/e/sub/c", "/e/sub2", "/e/sub2/y", "/other", "/x"}
	if !slices.Equal(paths, want) {
		t.Errorf("recorded %q, want %q", paths, want)
	}
}

func TestAcceptRefuses(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	basicManaged.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	mutateAll(t, root)
	before, err := os.ReadFile(db)
	must(t, err)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing selected: give --path GLOB or --type KIND"},
		{[]string{"--type", "bogus"}, `--type: unknown event type "bogus"`},
		{[]string{"--path", "["}, `--path: invalid pattern "["`},
		{[]string{"--path", "**", "--format", "xml"}, `unknown format "xml"`},
		{[]string{"--path", "**", root}, "accept takes no PATH"},
	} {
		stdout, stderr := mustRun(t, 16, append([]string{"accept", "--db", db}, tc.args...)...)
		if stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("accept %q: stdout %q, stderr %q; want one line with %q", tc.args, stdout, stderr, tc.want)
		}
	}
	mustRun(t, 17, "accept", "--db", db+".missing", "--path", "**")
	after, err := os.ReadFile(db)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Error("a refused accept changed the baseline")
	}
	wantEvents(t, checkJSON(t, root, 7, "--db", db), allManaged...)
}

func TestAcceptSigned(t *testing.T) {
	root, db, key := signedTree(t)
	must(t, os.WriteFile(filepath.Join(root, "new"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("changed"), 0))
	_, stderr := mustRun(t, 16, "accept", "--db", db, "--path", "**")
	if !strings.Contains(stderr, "is signed: accept needs --sign") {
		t.Errorf("without --sign: %q", stderr)
	}
	mustRun(t, 0, "verify", "--db", db, "--key", key+".pub") // untouched

	mustRun(t, 0, "accept", "--db", db, "--type", "create", "--sign", key, "--verify", key+".pub")
	mustRun(t, 0, "verify", "--db", db, "--key", key+".pub")
	wantEvents(t, checkJSON(t, root, 4, "--db", db, "--verify", key+".pub"), "change T/a [content,size,mtime,ctime]")
}

// infoOut is what the tests read of fim info --format json.
type infoOut struct {
	Path          string  `json:"path"`
	FileSize      int64   `json:"file_size"`
	BytesPerEntry float64 `json:"bytes_per_entry"`
	Entries       uint64  `json:"entries"`
	Signed        bool    `json:"signed"`
	KeyID         string  `json:"key_id"`
	Verified      *bool   `json:"verified"`
	Policy        struct {
		Rules []struct{ Path string }
	} `json:"policy"`
	Accepted []struct {
		Time      time.Time
		User      string
		UID       int
		Selectors []string
		Accepted  int
		Remaining int
	} `json:"accepted"`
}

func info(t *testing.T, code int, args ...string) infoOut {
	t.Helper()
	var in infoOut
	must(t, json.Unmarshal([]byte(mustOut(t, code, append([]string{"info", "--format", "json"}, args...)...)), &in))
	return in
}

func TestInfo(t *testing.T) {
	root, signed, key := signedTree(t)
	unsigned := filepath.Join(t.TempDir(), "u.db")
	mustRun(t, 0, "baseline", "--db", unsigned, "--max-file-size", "64MiB", "--max-depth", "3", root)

	text := mustOut(t, 0, "info", "--db", unsigned)
	for _, want := range []string{
		"database:     " + unsigned + "\n",
		"entries:      5\n",
		"signature:    unsigned\n",
		"path:         " + root + "  max_depth: 3, max_file_size: 64MiB, include_hidden: yes",
		"accepted:     never\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("info text lacks %q:\n%s", want, text)
		}
	}
	in := info(t, 0, "--db", unsigned)
	st, err := os.Stat(unsigned)
	must(t, err)
	if in.Path != unsigned || in.FileSize != st.Size() || in.Entries != 5 || in.Signed || in.KeyID != "" ||
		in.BytesPerEntry != float64(st.Size())/5 || len(in.Policy.Rules) != 1 || in.Policy.Rules[0].Path != root {
		t.Errorf("info of the unsigned baseline: %+v", in)
	}

	verifyOut := mustOut(t, 0, "verify", "--db", signed, "--key", key+".pub")
	keyID := regexp.MustCompile(`ed25519:[0-9a-f]{16}`).FindString(verifyOut)
	in = info(t, 0, "--db", signed)
	if !in.Signed || in.KeyID != keyID || in.Verified != nil {
		t.Errorf("signed: %+v, want key %s", in, keyID)
	}
	if text := mustOut(t, 0, "info", "--db", signed); !strings.Contains(text, "signature:    signed by "+keyID+" (not checked") {
		t.Errorf("signed, text:\n%s", text)
	}
	in = info(t, 0, "--db", signed, "--verify", key+".pub")
	if in.Verified == nil || !*in.Verified {
		t.Errorf("--verify with the key: %+v", in)
	}
	other := filepath.Join(t.TempDir(), "other")
	mustRun(t, 0, "keygen", "--out", other)
	in = info(t, 17, "--db", signed, "--verify", other+".pub")
	if in.Verified == nil || *in.Verified {
		t.Errorf("--verify with another key: %+v", in)
	}
	text, _ = mustRun(t, 17, "info", "--db", signed, "--verify", other+".pub")
	if !strings.Contains(text, "does NOT verify") {
		t.Errorf("--verify with another key, text:\n%s", text)
	}
	if text, _ = mustRun(t, 17, "info", "--db", unsigned, "--verify", key+".pub"); !strings.Contains(text, "not signed") {
		t.Errorf("--verify of the unsigned baseline, text:\n%s", text)
	}

	// The accept history: who, when, what.
	must(t, os.WriteFile(filepath.Join(root, "new"), nil, 0o644))
	must(t, os.Remove(filepath.Join(root, "b")))
	start := time.Now().Add(-time.Second)
	mustRun(t, 0, "accept", "--db", unsigned, "--path", filepath.Join(root, "new"))
	mustRun(t, 0, "accept", "--db", unsigned, "--type", "remove")
	in = info(t, 0, "--db", unsigned)
	if len(in.Accepted) != 2 {
		t.Fatalf("history %+v, want 2 acceptances", in.Accepted)
	}
	a := in.Accepted[0]
	wantUser := ""
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		wantUser = u.Username
	}
	if a.UID != os.Getuid() || a.User != wantUser || a.Time.Before(start) || a.Time.After(time.Now()) ||
		!slices.Equal(a.Selectors, []string{"--path=" + filepath.Join(root, "new")}) || a.Accepted != 1 || a.Remaining != 1 {
		t.Errorf("first acceptance %+v", a)
	}
	if a := in.Accepted[1]; !slices.Equal(a.Selectors, []string{"--type=remove"}) || a.Accepted != 1 || a.Remaining != 0 {
		t.Errorf("second acceptance %+v", a)
	}
	if text := mustOut(t, 0, "info", "--db", unsigned); !strings.Contains(text, "1 accepted, 1 left (--path="+root+"/new)") {
		t.Errorf("history in text:\n%s", text)
	}
	mustRun(t, 16, "info", "--db", unsigned, "--format", "xml")
}

// TestList lists a tree of every kind of entry against testdata/list.golden, with the
// times set and the owner and root replaced.
func TestList(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{
		"small":       fstest.File("small\n"),
		"large":       fstest.File("0123456789abcdef"),
		"suid":        fstest.File("#!/bin/sh\n").Mode(0o4755),
		"d/inner":     fstest.File("inner\n"),
		"d/e/deeper":  fstest.File("deeper\n"),
		"link":        fstest.Link("d/inner"),
		"fifo":        fstest.FIFO(),
		"bad\xffname": fstest.File("bad\n"),
		"x\nforged":   fstest.File(""),
	}.Build(t, root)
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(when.UnixNano()), unix.NsecToTimespec(when.UnixNano())}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
	must(t, err)
	mustRun(t, 0, "baseline", "--db", db, "--max-file-size", "12", root)

	owner := regexp.MustCompile(`(?m)^(\S+ \(\d+\)) +\d+ +\d+ `)
	out := mustOut(t, 0, "list", "--db", db)
	got := owner.ReplaceAllString(strings.ReplaceAll(out, root, "$T"), "$1 U G ")
	fstest.Golden(t, filepath.Join("testdata", "list.golden"), []byte(got))

	// A glob on the recorded path.
	out = mustOut(t, 0, "list", "--db", db, filepath.Join(root, "d/**"))
	if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, root+"/d/e/deeper\n") || strings.Contains(out, root+"/d\n") {
		t.Errorf("list d/**:\n%s", out)
	}
	if out := mustOut(t, 0, "list", "--db", db, "/nowhere/**"); out != "" {
		t.Errorf("list of nothing: %q", out)
	}

	// json keeps every byte of every name, and the content hash whole.
	out = mustOut(t, 0, "list", "--db", db, "--format", "json")
	hashes := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec struct {
			Path    string   `json:"path"`
			PathB64 string   `json:"path_b64"`
			Hash    string   `json:"hash"`
			Flags   []string `json:"flags"`
		}
		must(t, json.Unmarshal(sc.Bytes(), &rec))
		name := strings.TrimPrefix(exactPath(t, rec.Path, rec.PathB64), root)
		hashes[name] = rec.Hash
		if name == "/large" && !slices.Equal(rec.Flags, []string{"too_large"}) {
			t.Errorf("large: flags %q", rec.Flags)
		}
	}
	for name, content := range map[string]string{"/bad\xffname": "bad\n", "/small": "small\n", "/x\nforged": ""} {
		sum := blake3.Sum256([]byte(content))
		if want := "blake3:" + hex.EncodeToString(sum[:]); hashes[name] != want {
			t.Errorf("%q: hash %q, want %q", name, hashes[name], want)
		}
	}
	if len(hashes) != 12 {
		t.Errorf("%d entries in json, want 12: %q", len(hashes), hashes)
	}

	for _, args := range [][]string{{"--format", "xml"}, {"a", "b"}, {"["}} {
		_, stderr := mustRun(t, 16, append([]string{"list", "--db", db}, args...)...)
		if strings.Count(stderr, "\n") != 1 {
			t.Errorf("list %q: stderr %q", args, stderr)
		}
	}
}

// TestAcceptKeepsIgnored: differences --ignore leaves out are not accepted with the
// ones selected: after accepting a setuid chmod while ignoring content, the content
// change is still reported.
func TestAcceptKeepsIgnored(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"sudo": fstest.File("#!/bin/sh\n").Mode(0o755)}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	must(t, os.WriteFile(filepath.Join(root, "sudo"), []byte("#!/bin/sh\nevil\n"), 0o755))
	must(t, os.Chmod(filepath.Join(root, "sudo"), 0o4755))
	mustRun(t, 0, "accept", "--db", db, "--ignore", "content,size,mtime,ctime", "--type", "chmod")
	wantEvents(t, checkJSON(t, root, 4, "--db", db), "change T/sudo [content,size,mtime,ctime]")
}
