package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"fim/baseline"
	"fim/internal/fstest"
)

// storedInfo returns the meta of a baseline as stored.
func storedInfo(t *testing.T, db string) []byte {
	t.Helper()
	bdb, err := bolt.Open(db, 0o600, &bolt.Options{ReadOnly: true})
	must(t, err)
	defer bdb.Close()
	var info []byte
	must(t, bdb.View(func(tx *bolt.Tx) error {
		info = bytes.Clone(tx.Bucket([]byte("meta")).Get([]byte("info")))
		return nil
	}))
	return info
}

// hexEdit changes, in the file db itself as a hex editor would, one byte of the value of
// key in the stored meta: a digit becomes the next digit, a letter the next letter, so
// that the meta stays valid JSON where it can.
func hexEdit(t *testing.T, db, key string) {
	t.Helper()
	info := storedInfo(t, db)
	data, err := os.ReadFile(db)
	must(t, err)
	at := bytes.Index(data, info)
	if at < 0 || bytes.Contains(data[at+1:], info) {
		t.Fatal("meta not found exactly once in the file")
	}
	field := bytes.Index(info, []byte(`"`+key+`":`))
	if field < 0 {
		t.Fatalf("meta has no %q: %s", key, info)
	}
	for i := at + field + len(key) + 3; i < at+len(info); i++ {
		if c := data[i]; c >= '1' && c <= '8' || c >= 'a' && c <= 'y' || c >= 'A' && c <= 'Y' {
			data[i]++
			must(t, os.WriteFile(db, data, 0o600))
			return
		}
	}
	t.Fatalf("nothing to edit in %q", key)
}

// TestMetaEditRefused edits one byte of each field of a signed baseline's meta in turn
// and expects every command that reads the baseline to refuse it with exit 17 and one
// line, without --verify (the digest seals the meta) and with it, and accept --sign to
// leave it as it was. Every field of baseline.Meta is edited: one added later is
// covered here, or fails the test.
func TestMetaEditRefused(t *testing.T) {
	root, db, key := signedTree(t)
	must(t, os.WriteFile(filepath.Join(root, "new"), []byte("x"), 0o644))
	mustRun(t, 0, "accept", "--db", db, "--path", "/**", "--sign", key) // an accept history
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("changed\n"), 0o644))
	good, err := os.ReadFile(db)
	must(t, err)
	var keys []string
	// The counts of content copies (baseline.CopyStats) and their key are left out of a
	// baseline that keeps none, as this one: baseline's TestMetaEditRefused edits them,
	// in a baseline that keeps copies.
	copyStats := reflect.TypeFor[baseline.CopyStats]()
	for _, f := range reflect.VisibleFields(reflect.TypeFor[baseline.Meta]()) {
		if _, ok := copyStats.FieldByName(f.Name); ok || f.Anonymous || f.Name == "CopyKey" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	for _, field := range keys {
		t.Run(field, func(t *testing.T) {
			edited := filepath.Join(t.TempDir(), "b.db")
			must(t, os.WriteFile(edited, good, 0o600))
			hexEdit(t, edited, field)
			intact := filepath.Join(t.TempDir(), "intact.db")
			must(t, os.WriteFile(intact, good, 0o600))
			for _, args := range [][]string{
				{"check", "--db", edited},
				{"check", "--db", edited, "--verify", key + ".pub"},
				{"check", "--db", edited, "--update", "--sign", key},
				{"verify", "--db", edited, "--key", key + ".pub"},
				{"info", "--db", edited},
				{"diff", edited, intact},
				{"diff", intact, edited},
				{"accept", "--db", edited, "--path", "/**", "--sign", key},
				{"explain", "--db", edited, filepath.Join(root, "a")},
				{"list", "--db", edited},
				{"export", "--db", edited},
				{"watch", "--db", edited, "--backend", "periodic", "--interval", "1h"},
			} {
				stdout, stderr := mustRun(t, 17, args...)
				if stdout != "" || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%s: stdout %q, stderr %q: want one line", strings.Join(args, " "), stdout, stderr)
				}
			}
			if after, err := os.ReadFile(edited); err != nil || bytes.Equal(after, good) {
				t.Fatal("the edit did not stay")
			}
		})
	}
}

// TestOldFormatsRefused: a baseline of format 1, whose digest did not cover its meta,
// or of format 2, whose records were laid out one to a key, is refused with a message
// that says to make it again.
func TestOldFormatsRefused(t *testing.T) {
	for _, format := range []string{"1", "2"} {
		_, db, _ := signedTree(t)
		bdb, err := bolt.Open(db, 0o600, nil)
		must(t, err)
		must(t, bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte(format)) }))
		must(t, bdb.Close())
		for _, cmd := range []string{"check", "info"} {
			_, stderr := mustRun(t, 17, cmd, "--db", db)
			if !strings.Contains(stderr, "format version "+format) || !strings.Contains(stderr, "make the baseline again") {
				t.Errorf("format %s, %s: %q", format, cmd, stderr)
			}
		}
	}
}

// baselineMeta reads a baseline's creation time and generation with fim info.
func baselineMeta(t *testing.T, db string) (in struct {
	Generation uint64    `json:"generation"`
	Created    time.Time `json:"created"`
}) {
	t.Helper()
	must(t, json.Unmarshal([]byte(mustOut(t, 0, "info", "--db", db, "--format", "json")), &in))
	if in.Created.IsZero() {
		t.Fatal("info: no creation time")
	}
	return in
}

func generation(t *testing.T, db string) uint64 { return baselineMeta(t, db).Generation }

// TestGeneration: every command that writes a baseline raises its generation.
func TestGeneration(t *testing.T) {
	root, db, key := signedTree(t)
	want := uint64(1)
	step := func(what string, code int, args ...string) {
		t.Helper()
		mustRun(t, code, args...)
		want++
		if got := generation(t, db); got != want {
			t.Fatalf("after %s: generation %d, want %d", what, got, want)
		}
	}
	if got := generation(t, db); got != want {
		t.Fatalf("new baseline: generation %d, want 1", got)
	}
	must(t, os.WriteFile(filepath.Join(root, "n1"), []byte("1"), 0o644))
	step("check --update", 1, "check", "--db", db, "--update", "--sign", key)
	must(t, os.WriteFile(filepath.Join(root, "n2"), []byte("2"), 0o644))
	step("accept", 0, "accept", "--db", db, "--path", "/**", "--sign", key)
	step("baseline over it", 0, "baseline", "--db", db, "--sign", key, root)
	if text := mustOut(t, 0, "info", "--db", db); !strings.Contains(text, "\ngeneration:   4\n") {
		t.Errorf("info does not show generation 4:\n%s", text)
	}

	tarball := filepath.Join(t.TempDir(), "t.tar")
	if out, err := exec.Command("tar", "-cf", tarball, "-C", root, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	fromTar := filepath.Join(t.TempDir(), "tar.db")
	mustRun(t, 0, "baseline", "--db", fromTar, "--from-tar", tarball)
	if got := generation(t, fromTar); got != 1 {
		t.Errorf("--from-tar baseline: generation %d, want 1", got)
	}
}

// TestReplayRefused: a validly signed older baseline, swapped in for its successor
// with a file rolled back to match it, passes --verify; --min-generation and
// --generation-file refuse it, and --max-age refuses it once it is too old.
func TestReplayRefused(t *testing.T) {
	root, db, key := signedTree(t)
	old, err := os.ReadFile(db) // generation 1, signed
	must(t, err)
	hosts := filepath.Join(root, "a")
	must(t, os.WriteFile(hosts, []byte("reviewed change\n"), 0o644))
	mustRun(t, 4, "check", "--db", db, "--update", "--sign", key) // generation 2
	state := filepath.Join(t.TempDir(), "fim.generation")
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--verify", key+".pub", "--generation-file", state))
	if data, err := os.ReadFile(state); err != nil || string(data) != "2\n" {
		t.Fatalf("generation file: %q, %v; want 2", data, err)
	}

	// The attacker rolls the file back and swaps the old baseline in.
	must(t, os.WriteFile(hosts, []byte("alpha\n"), 0o644))
	must(t, os.WriteFile(db, old, 0o600))
	// The replay passes: the rolled-back file matches it (but for the times, which
	// the attacker could set too, up to the ctime, which only the clock could hide).
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--verify", key+".pub", "--ignore", "mtime,ctime"))
	for _, args := range [][]string{
		{"check", "--db", db, "--verify", key + ".pub", "--generation-file", state},
		{"check", "--db", db, "--verify", key + ".pub", "--min-generation", "2"},
		{"verify", "--db", db, "--key", key + ".pub", "--generation-file", state},
		{"info", "--db", db, "--verify", key + ".pub", "--min-generation", "2"},
		{"accept", "--db", db, "--verify", key + ".pub", "--generation-file", state, "--path", "/**", "--sign", key},
	} {
		stdout, stderr := mustRun(t, 17, args...)
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "generation 1 ") ||
			!strings.Contains(stderr, "older than generation 2 already seen") {
			t.Errorf("%s: stdout %q, stderr %q", args[0], stdout, stderr)
		}
	}
	if data, err := os.ReadFile(state); err != nil || string(data) != "2\n" {
		t.Errorf("generation file after refusals: %q, %v; want 2", data, err)
	}

	// --max-age: its signed creation time says how old it is. Wait until it is more
	// than a second old (its age only grows), then allow a second.
	mustRun(t, 0, "verify", "--db", db, "--key", key+".pub", "--max-age", "1d")
	for made := baselineMeta(t, db).Created; time.Since(made) <= 2*time.Second; {
		time.Sleep(100 * time.Millisecond)
	}
	for _, args := range [][]string{
		{"check", "--db", db, "--verify", key + ".pub", "--max-age", "1s"},
		{"verify", "--db", db, "--key", key + ".pub", "--max-age", "1s"},
		{"diff", "--max-age", "1s", db, db},
		{"info", "--db", db, "--max-age", "1s"},
	} {
		stdout, stderr := mustRun(t, 17, args...)
		if stdout != "" || !strings.Contains(stderr, "older than the 1s allowed: stale or replayed") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stdout %q, stderr %q", args[0], stdout, stderr)
		}
	}
	mustRun(t, 16, "check", "--db", db, "--max-age", "soon")
	mustRun(t, 16, "check", "--db", db, "--generation-file", state) // without --verify
}

// TestSignUnsignedRefusesEdit: signing the successor of an unsigned baseline (accept
// --sign, check --update --sign) first checks its records and meta against the digest,
// so that an edited meta never comes out signed.
func TestSignUnsignedRefusesEdit(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	fstest.Tree{"a": fstest.File("alpha\n"), "d/c": fstest.File("charlie\n")}.Build(t, root)
	db, key := filepath.Join(dir, "b.db"), filepath.Join(dir, "k")
	mustRun(t, 0, "keygen", "--out", key)
	mustRun(t, 0, "baseline", "--db", db, root)
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("changed\n"), 0o644))
	hexEdit(t, db, "key_base") // every recorded path elsewhere: the whole tree "moved"
	before, err := os.ReadFile(db)
	must(t, err)
	for _, args := range [][]string{
		{"accept", "--db", db, "--path", "/**", "--sign", key},
		{"check", "--db", db, "--update", "--sign", key},
	} {
		_, stderr := mustRun(t, 17, args...)
		if !strings.Contains(stderr, "do not match the digest") {
			t.Errorf("%s: stderr %q", args[0], stderr)
		}
		if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, before) {
			t.Errorf("%s changed the baseline", args[0])
		}
	}
}
