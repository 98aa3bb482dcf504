package check

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/textcopy"
	"fim/tree"
	"fim/walk"
)

const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"

// diffs compares the fixture's tree with its baseline and returns the events by path,
// the tree's path cut, and the warnings.
func (f *fixture) diffs(t *testing.T) (map[string]diff.Event, []string) {
	t.Helper()
	r, comp := f.open(t)
	defer r.Close()
	var warnings []string
	o := Options{Baseline: r, Compiled: comp, DB: f.db,
		Walker: WalkerOptions{Warn: func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }}}
	events, err := Compare(context.Background(), o)
	must(t, err)
	out := map[string]diff.Event{}
	for _, ev := range events {
		out[strings.TrimPrefix(ev.Path, f.tree)] = ev
	}
	return out, warnings
}

func contentDiffFixture(t *testing.T, rule config.Rule) *fixture {
	f := newFixture(t, map[string]string{
		"etc/ssh/sshd_config": "Port 22\nPermitRootLogin no\nPasswordAuthentication no\nUsePAM yes\n",
		"etc/app.conf":        "user=app\npassword=hunter2\nport=8080\n",
		"etc/gone.conf":       "last line\n",
		"etc/ssh/id_ed25519":  privateKey,
		"etc/notes.txt":       "see below\n" + privateKey,
		"etc/blob.bin":        "\x00\x01\x02",
		"etc/private.conf":    "only root reads this\n",
	})
	must(t, os.Chmod(f.tree+"/etc/private.conf", 0o600))
	rule.Path, rule.IncludeHidden, rule.ContentDiff = f.tree, true, true
	f.pol = &config.Policy{Rules: []config.Rule{rule}}
	var err error
	f.comp, err = f.pol.Compile()
	must(t, err)
	return f
}

// TestContentDiffs checks content diffs on real files: an sshd_config edit shows the
// line, a changed password shows only that it changed, created and removed files show
// their content, and what is not kept says why.
func TestContentDiffs(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	f.baseline(t)
	write(t, f.tree+"/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\nPasswordAuthentication no\nUsePAM yes\n")
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=s3cret\nport=8080\n")
	write(t, f.tree+"/etc/new.conf", "fresh\n")
	must(t, os.Remove(f.tree+"/etc/gone.conf"))
	write(t, f.tree+"/etc/ssh/id_ed25519", privateKey+"\n")
	write(t, f.tree+"/etc/notes.txt", "see below!\n"+privateKey)
	write(t, f.tree+"/etc/blob.bin", "\x00\x01\x03")
	must(t, os.WriteFile(f.tree+"/etc/private.conf", []byte("changed\n"), 0o600))
	events, warnings := f.diffs(t)
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	for path, want := range map[string]string{
		"/etc/ssh/sshd_config": "@@ -1,4 +1,4 @@\n Port 22\n-PermitRootLogin no\n+PermitRootLogin yes\n PasswordAuthentication no\n UsePAM yes\n",
		"/etc/new.conf":        "@@ -0,0 +1 @@\n+fresh\n",
		"/etc/gone.conf":       "@@ -1 +0,0 @@\n-last line\n",
	} {
		if got := events[path].Diff; got != want {
			t.Errorf("%s: diff\n%s\nwant\n%s", path, got, want)
		}
	}
	pw := events["/etc/app.conf"].Diff
	if strings.Contains(pw, "hunter2") || strings.Contains(pw, "s3cret") ||
		!strings.Contains(pw, "-password=[redacted: ") || !strings.Contains(pw, "+password=[redacted: ") {
		t.Errorf("/etc/app.conf: diff\n%s\nwant the password's change, redacted", pw)
	}
	for path, want := range map[string]string{
		"/etc/ssh/id_ed25519": "secret", "/etc/notes.txt": "secret", "/etc/blob.bin": "binary",
		"/etc/private.conf": "private",
	} {
		if ev := events[path]; ev.Diff != "" || ev.NoDiff != want {
			t.Errorf("%s: diff %q, no_diff %q, want no diff and %q", path, ev.Diff, ev.NoDiff, want)
		}
	}
	db, err := os.ReadFile(f.db)
	must(t, err)
	for _, secret := range []string{"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "hunter2", "only root reads this"} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("the baseline holds %q", secret)
		}
	}
}

// TestContentDiffOptIns: content_diff_private keeps files that are not world-readable;
// content_diff_max makes larger files too_large; redact keeps nothing.
func TestContentDiffOptIns(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{ContentDiffPrivate: true, ContentDiffMax: 30})
	f.baseline(t)
	must(t, os.WriteFile(f.tree+"/etc/private.conf", []byte("changed\n"), 0o600))
	write(t, f.tree+"/etc/ssh/sshd_config", "PermitRootLogin yes\n")
	events, _ := f.diffs(t)
	if got := events["/etc/private.conf"].Diff; got != "@@ -1 +1 @@\n-only root reads this\n+changed\n" {
		t.Errorf("private.conf: diff %q", got)
	}
	if got := events["/etc/ssh/sshd_config"].NoDiff; got != "too_large" {
		t.Errorf("sshd_config over content_diff_max: no_diff %q", got)
	}

	// A rule that follows symlinks keeps only world-readable files: a link planted in
	// its tree may lead to any file fim can read, directly or through a directory.
	f = contentDiffFixture(t, config.Rule{ContentDiffPrivate: true, FollowSymlinks: true})
	outside := t.TempDir()
	must(t, os.Mkdir(outside+"/d", 0o755))
	must(t, os.WriteFile(outside+"/d/shadow", []byte("root:$6$outside-hash:19000::::::\n"), 0o600))
	must(t, os.WriteFile(outside+"/d/motd", []byte("welcome\n"), 0o644))
	must(t, errors.Join(os.Symlink(outside+"/d", f.tree+"/etc/linked"), os.Symlink(outside+"/d/shadow", f.tree+"/etc/shadow-link")))
	f.baseline(t)
	write(t, outside+"/d/motd", "welcome back\n")
	must(t, os.WriteFile(outside+"/d/shadow", []byte("root:$6$changed-hash:19001::::::\n"), 0o600))
	events, _ = f.diffs(t)
	for path, want := range map[string]string{"/etc/linked/shadow": "private", "/etc/shadow-link": "private", "/etc/linked/motd": ""} {
		if ev := events[path]; ev.NoDiff != want || strings.Contains(ev.Diff, "hash") {
			t.Errorf("follow_symlinks: %s: diff %q, no_diff %q, want no_diff %q", path, ev.Diff, ev.NoDiff, want)
		}
	}
	if got := events["/etc/linked/motd"].Diff; got != "@@ -1 +1 @@\n-welcome\n+welcome back\n" {
		t.Errorf("follow_symlinks: /etc/linked/motd: diff %q", got)
	}
	db, err := os.ReadFile(f.db)
	must(t, err)
	if bytes.Contains(db, []byte("outside-hash")) {
		t.Error("follow_symlinks: the baseline holds the content of a private file a link leads to")
	}

	f = contentDiffFixture(t, config.Rule{})
	f.pol.Redact = true
	f.comp, err = f.pol.Compile()
	must(t, err)
	f.baseline(t)
	write(t, f.tree+"/etc/ssh/sshd_config", "PermitRootLogin yes\n")
	events, _ = f.diffs(t)
	if ev := events["/etc/ssh/sshd_config"]; ev.Diff != "" || ev.NoDiff != "" {
		t.Errorf("redact: diff %q, no_diff %q", ev.Diff, ev.NoDiff)
	}
	r, err := baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	if st := r.CopyStats(); st != (baseline.CopyStats{}) {
		t.Errorf("redact: the baseline keeps %+v", st)
	}
}

// TestContentDiffCorruptCopy: a stored copy that does not decode is a warning naming
// the file, its event has no diff, and the others keep theirs.
func TestContentDiffCorruptCopy(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	rec, err := Create(f.db, nil)
	must(t, err)
	f.comp.SetCopyKey(rec.CopyKey)
	entries := Walker(f.comp, WalkerOptions{Own: rec.Own()}).Walk(context.Background())
	corrupting := func(yield func(*tree.Entry, error) bool) {
		for e, err := range entries {
			if e != nil && strings.HasSuffix(e.Path, "/app.conf") {
				e.Copy = []byte("not a zstd frame")
			}
			if !yield(e, err) {
				return
			}
		}
	}
	_, err = rec.Record(context.Background(), f.pol, corrupting, Stamp{}, nil)
	must(t, err)
	rec.Close()
	write(t, f.tree+"/etc/app.conf", "changed\n")
	write(t, f.tree+"/etc/ssh/sshd_config", "PermitRootLogin yes\n")
	events, warnings := f.diffs(t)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "/etc/app.conf: no content diff: stored copy does not decode") {
		t.Errorf("warnings %q", warnings)
	}
	if ev := events["/etc/app.conf"]; ev.Diff != "" {
		t.Errorf("corrupt copy: diff %q", ev.Diff)
	}
	if events["/etc/ssh/sshd_config"].Diff == "" {
		t.Error("the other file lost its diff")
	}
}

// TestContentDiffTamperedCopy: a copy edited in the database file fails the
// baseline's digest, as an edited record does.
func TestContentDiffTamperedCopy(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	f.baseline(t)
	r, err := baseline.Open(f.db)
	must(t, err)
	frame, _, ok, err := r.Copy(f.tree + "/etc/ssh/sshd_config")
	r.Close()
	if err != nil || !ok || len(frame) < 8 {
		t.Fatalf("copy of sshd_config: %v %v", ok, err)
	}
	db, err := os.ReadFile(f.db)
	must(t, err)
	at := bytes.Index(db, frame)
	if at < 0 {
		t.Fatal("copy not found in the file")
	}
	db[at+len(frame)-1] ^= 1
	must(t, os.WriteFile(f.db, db, 0o600))
	r, err = baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	if err := r.Validate(); !errors.Is(err, baseline.ErrBadBaseline) {
		t.Fatalf("tampered copy: Validate = %v", err)
	}
}

// storedText returns the text of the copy f's baseline keeps of the file at rel.
func (f *fixture) storedText(t *testing.T, rel string) string {
	t.Helper()
	r, err := baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	frame, why, ok, err := r.Copy(f.tree + rel)
	if err != nil || !ok || why != tree.CopyNone {
		t.Fatalf("copy of %s: %v %v %v", rel, ok, why, err)
	}
	text, err := textcopy.Decode(frame)
	must(t, err)
	return text
}

// glob compiles a pattern of fim accept.
func glob(t *testing.T, pattern string) walk.Matcher {
	g, err := config.CompileGlob(pattern)
	must(t, err)
	return g
}

// tags returns the redaction tags in s, in order.
func tags(s string) []string { return redactedTag.FindAllString(s, -1) }

var redactedTag = regexp.MustCompile(`\[redacted: [0-9a-f]{8}\]`)

// TestContentDiffRedactionKey: the digests standing for secrets are keyed with a key
// each baseline makes: two baselines of one file give two tags for its password; a
// check shows a changed secret with two tags and an unchanged one as context, with the
// tag it was stored with, and so do checks after an update and an accept, which keep
// the key. No file of the baseline's directory holds the key's bytes in the clear but
// the baseline itself.
func TestContentDiffRedactionKey(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=hunter2\ntoken=abc\nport=8080\n")
	f.baseline(t)
	first := tags(f.storedText(t, "/etc/app.conf"))
	f.baseline(t)
	second := tags(f.storedText(t, "/etc/app.conf"))
	if len(first) != 2 || len(second) != 2 || first[0] == second[0] || first[1] == second[1] {
		t.Fatalf("two baselines of one file: tags %q and %q, want two different pairs", first, second)
	}

	write(t, f.tree+"/etc/app.conf", "user=app\npassword=s3cret\ntoken=abc\nport=8080\n")
	events, _ := f.diffs(t)
	d := events["/etc/app.conf"].Diff
	want := "@@ -1,4 +1,4 @@\n user=app\n-password=" + second[0] + "\n+password="
	if !strings.HasPrefix(d, want) || !strings.Contains(d, "\n token="+second[1]+"\n") || tags(d)[1] == second[0] {
		t.Fatalf("diff\n%s\nwant the password's old tag %s replaced, the token's %s as context", d, second[0], second[1])
	}

	// check --update and accept carry the key: the token is unchanged, the same tag.
	b, err := Open(f.db, OpenOptions{Replace: true})
	must(t, err)
	_, _, err = Check(context.Background(), b, Options{DB: f.db}, Stamp{}, func([]diff.Event) error { return nil })
	b.Close()
	must(t, err)
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=s3cret\ntoken=abc\nport=9090\n")
	f.accept(t, Selector{Globs: []walk.Matcher{glob(t, f.tree+"/etc/app.conf")}, AnyKind: true})
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=s3cret\ntoken=abc\nport=7070\n")
	events, _ = f.diffs(t)
	if d := events["/etc/app.conf"].Diff; !strings.Contains(d, "\n token="+second[1]+"\n") || strings.Count(d, "[redacted: ") != 2 {
		t.Errorf("after an update and an accept: diff\n%s\nwant the token's tag %s as context", d, second[1])
	}
}

// TestAcceptKeepsCopies: the records an accept carries over from the old baseline keep
// their copies, and those it takes get the new ones: a later change of a carried file
// shows its diff, as does one of the accepted file.
func TestAcceptKeepsCopies(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	f.baseline(t)
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=hunter2\nport=9090\n")
	f.accept(t, Selector{Globs: []walk.Matcher{glob(t, f.tree+"/etc/app.conf")}, AnyKind: true})
	write(t, f.tree+"/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\nPasswordAuthentication no\nUsePAM yes\n")
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=hunter2\nport=7070\n")
	events, warnings := f.diffs(t)
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if got := events["/etc/ssh/sshd_config"].Diff; !strings.Contains(got, "-PermitRootLogin no\n+PermitRootLogin yes\n") {
		t.Errorf("carried sshd_config: diff %q, want the PermitRootLogin line", got)
	}
	if got := events["/etc/app.conf"].Diff; !strings.Contains(got, "-port=9090\n+port=7070\n") {
		t.Errorf("accepted app.conf: diff %q, want port 9090 → 7070", got)
	}
	r, err := baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	if st := r.CopyStats(); st.Copies != 3 || st.NoCopies != 4 {
		t.Errorf("after the accept the baseline keeps %+v, want 3 copies and 4 reasons", st)
	}
}
