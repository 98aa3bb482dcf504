package main

import (
	"bytes"
	"encoding/binary"
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"
)

// signedTree makes a tree, a key pair and a signed baseline of the tree.
func signedTree(t *testing.T) (root, db, key string) {
	t.Helper()
	root, dir := t.TempDir(), t.TempDir()
	fstest.Tree{"a": fstest.File("alpha\n"), "b": fstest.File("bravo\n"), "d/c": fstest.File("charlie\n")}.Build(t, root)
	db, key = filepath.Join(dir, "b.db"), filepath.Join(dir, "k")
	mustRun(t, 0, "keygen", "--out", key)
	mustRun(t, 0, "baseline", "--db", db, "--sign", key, root)
	return root, db, key
}

func TestSignVerify(t *testing.T) {
	root, db, key := signedTree(t)
	st, err := os.Stat(key)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %o, want 600", st.Mode().Perm())
	}
	stdout, _ := mustRun(t, 0, "verify", "--db", db, "--key", key+".pub")
	if !strings.Contains(stdout, "signature good") {
		t.Errorf("verify: %q", stdout)
	}
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--verify", key+".pub"))

	// keygen never overwrites a key.
	mustRun(t, 16, "keygen", "--out", key)

	// --update of a signed baseline needs the key, and signs the new one.
	_, stderr := mustRun(t, 16, "check", "--db", db, "--update")
	if !strings.Contains(stderr, "--sign") {
		t.Errorf("update without key: %q", stderr)
	}
	must(t, os.WriteFile(filepath.Join(root, "new"), []byte("x"), 0o644))
	mustRun(t, 1, "check", "--db", db, "--update", "--sign", key)
	mustRun(t, 0, "verify", "--db", db, "--key", key+".pub")
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--verify", key+".pub"))
}

func TestVerifyRefuses(t *testing.T) {
	_, db, key := signedTree(t)
	other := filepath.Join(t.TempDir(), "other")
	mustRun(t, 0, "keygen", "--out", other)

	unsigned := filepath.Join(t.TempDir(), "u.db")
	mustRun(t, 0, "baseline", "--db", unsigned, t.TempDir())

	hashOf := blake3.Sum256([]byte("bravo\n"))
	cases := []struct {
		name   string
		mutate func(t *testing.T, db string)
		key    string
		want   string
	}{
		{"another key", nil, other + ".pub", "does not verify"},
		{"record byte edited", func(t *testing.T, db string) {
			data, err := os.ReadFile(db)
			must(t, err)
			i := bytes.Index(data, hashOf[:])
			if i < 0 || bytes.Contains(data[i+1:], hashOf[:]) {
				t.Fatal("record hash not found exactly once in the file")
			}
			data[i+5] ^= 0x01 // as with a hex editor: one bit of one record
			must(t, os.WriteFile(db, data, 0o600))
		}, key + ".pub", "do not match the digest"},
		{"record removed", func(t *testing.T, db string) {
			editBolt(t, db, func(b *bolt.Bucket) error {
				k, _ := b.Cursor().Last()
				return b.Delete(bytes.Clone(k))
			})
		}, key + ".pub", "do not match the digest"},
		{"record added", func(t *testing.T, db string) {
			editBolt(t, db, func(b *bolt.Bucket) error {
				// A block of one entry after the last: the version byte and the last
				// block's first record, which is a whole entry by itself.
				k, v := b.Cursor().Last()
				n, w := binary.Uvarint(v[1:])
				if w <= 0 || 1+w+int(n) > len(v) {
					t.Fatalf("last block %x does not start with a record", v)
				}
				return b.Put(append(bytes.Clone(k), 'x'), bytes.Clone(v[:1+w+int(n)]))
			})
		}, key + ".pub", "do not match the digest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			copyDB := filepath.Join(t.TempDir(), "b.db")
			data, err := os.ReadFile(db)
			must(t, err)
			must(t, os.WriteFile(copyDB, data, 0o600))
			if tc.mutate != nil {
				tc.mutate(t, copyDB)
			}
			for _, args := range [][]string{
				{"verify", "--db", copyDB, "--key", tc.key},
				{"check", "--db", copyDB, "--verify", tc.key},
			} {
				stdout, stderr := mustRun(t, 17, args...)
				if stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%s: stdout %q, stderr %q: want one line saying %q", args[0], stdout, stderr, tc.want)
				}
			}
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		_, stderr := mustRun(t, 17, "check", "--db", unsigned, "--verify", key+".pub")
		if !strings.Contains(stderr, "not signed") {
			t.Errorf("stderr %q", stderr)
		}
	})
}

// editBolt changes the entries bucket of a baseline behind fim's back.
func editBolt(t *testing.T, db string, edit func(*bolt.Bucket) error) {
	t.Helper()
	bdb, err := bolt.Open(db, 0o600, nil)
	must(t, err)
	defer bdb.Close()
	must(t, bdb.Update(func(tx *bolt.Tx) error { return edit(tx.Bucket([]byte("entries"))) }))
}

// TestResignRefusesForgery: a signed baseline whose meta was edited (its records and
// digest intact, so nothing but the signature tells) is not signed afresh by
// check --update or accept with the key, even without --verify.
func TestResignRefusesForgery(t *testing.T) {
	root, db, key := signedTree(t)
	bdb, err := bolt.Open(db, 0o600, nil)
	must(t, err)
	must(t, bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("meta"))
		info := bytes.Replace(bytes.Clone(b.Get([]byte("info"))), []byte(`"host":"`), []byte(`"host":"forged-`), 1)
		return b.Put([]byte("info"), info)
	}))
	must(t, bdb.Close())
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("changed\n"), 0o644))
	before, err := os.ReadFile(db)
	must(t, err)
	for _, args := range [][]string{
		{"check", "--db", db, "--update", "--sign", key},
		{"accept", "--db", db, "--path", "/**", "--sign", key},
	} {
		_, stderr := mustRun(t, 17, args...)
		if !strings.Contains(stderr, "does not verify") {
			t.Errorf("%s: stderr %q", args[0], stderr)
		}
		if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, before) {
			t.Errorf("%s changed the baseline", args[0])
		}
	}
}
