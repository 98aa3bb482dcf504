package baseline

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fim/tree"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func validInfo(t testing.TB) []byte {
	info, err := json.Marshal(Meta{Format: FormatVersion, FimVersion: "v1", Host: "h", Entries: 3, Generation: 1,
		Digest: "blake3:" + strings.Repeat("ab", 32), KeyBase: "/var/tmp", Policy: json.RawMessage(`{"rules":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// withKey returns the meta encoding info with a copy key, its last field.
func withKey(info []byte, key string) []byte {
	return append(bytes.TrimSuffix(bytes.Clone(info), []byte("}")), `,"copy_key":"`+key+`"}`...)
}

func TestDecodeMeta(t *testing.T) {
	format := []byte(strconv.Itoa(FormatVersion))
	good := validInfo(t)
	for _, info := range [][]byte{good, withKey(good, strings.Repeat("0a", 32))} {
		if _, err := decodeMeta([]byte(magic), format, info, nil); err != nil {
			t.Fatalf("valid meta %s: %v", info, err)
		}
	}
	zeros := `"digest":"blake3:` + strings.Repeat("0", 64) + `"`
	for _, tc := range []struct {
		name                string
		magic, format, info []byte
		sig                 []byte
		want                string
	}{
		{"no magic", nil, format, good, nil, "not a fim database"},
		{"other magic", []byte("aide"), format, good, nil, "not a fim database"},
		{"format not a number", []byte(magic), []byte("x"), good, nil, "format"},
		{"format not canonical", []byte(magic), []byte("+" + string(format)), good, nil, "format"},
		{"future format", []byte(magic), []byte("99"), good, nil, "format version 99"},
		{"format 1", []byte(magic), []byte("1"), good, nil, "make the baseline again"},
		{"format 2", []byte(magic), []byte("2"), good, nil, "format version 2, an older layout of the records: make the baseline again"},
		{"info not JSON", []byte(magic), format, []byte("{"), nil, "corrupt meta"},
		{"info missing", []byte(magic), format, nil, nil, "corrupt meta"},
		{"format inside differs", []byte(magic), format, []byte(`{"format":4,"fim_version":"","created":"0001-01-01T00:00:00Z","host":"","policy":null,"entries":0,"generation":1,` + zeros + `}`), nil, "inside"},
		{"bad digest", []byte(magic), format, bytes.Replace(good, []byte(`"blake3:ab`), []byte(`"md5:ab`), 1), nil, "digest"},
		{"digest not hex", []byte(magic), format, bytes.Replace(good, []byte(`"blake3:ab`), []byte(`"blake3:AB`), 1), nil, "digest"},
		{"generation 0", []byte(magic), format, bytes.Replace(good, []byte(`"generation":1`), []byte(`"generation":0`), 1), nil, "generation 0"},
		{"relative key base", []byte(magic), format, bytes.Replace(good, []byte(`"/var/tmp"`), []byte(`"var"`), 1), nil, "key base"},
		{"unclean key base", []byte(magic), format, bytes.Replace(good, []byte(`"/var/tmp"`), []byte(`"/a/../b"`), 1), nil, "key base"},
		{"short signature", []byte(magic), format, good, []byte("sig"), "signature"},
		{"copy key not hex", []byte(magic), format, withKey(good, strings.Repeat("G", 64)), nil, "copy key"},
		{"short copy key", []byte(magic), format, withKey(good, "abcd"), nil, "copy key"},
		{"no entries", []byte(magic), format, bytes.Replace(good, []byte(`"entries":3`), []byte(`"entries":0`), 1), nil, "no entries"},
		// Encodings json.Unmarshal reads as the same meta, or as one that differs
		// only where the digest does not look: refused before anything reads them.
		{"key in other case", []byte(magic), format, bytes.Replace(good, []byte(`"host"`), []byte(`"Host"`), 1), nil, "not in the encoding"},
		{"key repeated", []byte(magic), format, bytes.Replace(good, []byte(`{"format"`), []byte(`{"host":"x","format"`), 1), nil, "not in the encoding"},
		{"unknown key", []byte(magic), format, bytes.Replace(good, []byte(`{"format"`), []byte(`{"x":1,"format"`), 1), nil, "not in the encoding"},
		{"space", []byte(magic), format, bytes.Replace(good, []byte(`"format":`), []byte(`"format": `), 1), nil, "not in the encoding"},
		{"number spelt otherwise", []byte(magic), format, bytes.Replace(good, []byte(`"entries":3`), []byte(`"entries":3e0`), 1), nil, "corrupt meta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeMeta(tc.magic, tc.format, tc.info, tc.sig)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeMeta: no input makes the meta decoder panic, and what it accepts is valid
// and exactly the encoding fim writes of it.
func FuzzDecodeMeta(f *testing.F) {
	f.Add([]byte(magic), []byte("2"), validInfo(f), []byte(nil))
	f.Add([]byte(magic), []byte("2"), []byte(`{"format":2}`), make([]byte, 64))
	f.Add([]byte(magic), []byte("1"), validInfo(f), []byte(nil))
	f.Add([]byte(magic), []byte("2"), validInfo(f), []byte(nil))
	f.Add([]byte("x"), []byte("-1"), []byte(`null`), []byte{})
	f.Fuzz(func(t *testing.T, magicVal, format, info, sig []byte) {
		m, err := decodeMeta(magicVal, format, info, sig)
		if err != nil {
			return
		}
		if m.Format != FormatVersion || !strings.HasPrefix(m.Digest, "blake3:") || m.Entries == 0 || m.Generation == 0 {
			t.Fatalf("accepted an invalid meta: %+v", m)
		}
		if again, err := json.Marshal(m); err != nil || !bytes.Equal(again, info) {
			t.Fatalf("accepted %q, which encodes as %q", info, again)
		}
	})
}

// metaKeys returns the JSON names of Meta's fields.
func metaKeys() []string {
	var keys []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Meta]()) {
		if f.Anonymous {
			continue // its fields are the meta's own (CopyStats)
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

// editValue changes one byte of the value of key in the meta encoding info, keeping it
// valid JSON where it can: a digit becomes another digit, a letter another letter.
func editValue(t *testing.T, info []byte, key string) []byte {
	t.Helper()
	at := bytes.Index(info, []byte(`"`+key+`":`))
	if at < 0 {
		t.Fatalf("meta has no %q: %s", key, info)
	}
	out := bytes.Clone(info)
	for i := at + len(key) + 3; i < len(out); i++ {
		switch c := out[i]; {
		case c >= '1' && c <= '8':
			out[i]++
			return out
		case c >= 'a' && c <= 'y' || c >= 'A' && c <= 'Y':
			out[i]++
			return out
		}
	}
	t.Fatalf("nothing to edit in %q", key)
	return nil
}

// TestMetaEditRefused edits one byte of each field of a real baseline's meta in turn,
// as a hex editor would, and expects the baseline refused: by Open where the edit
// makes the meta invalid, else by Validate, which checks it against the digest.
// Every field of Meta is edited, so a field added without being set here fails.
func TestMetaEditRefused(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.db")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.KeyBase, w.Signer = "/t", priv
	for i, e := range testEntries(30) {
		switch i { // a copy and a reason, so that the meta counts both
		case 3:
			e.Copy = []byte("a copy")
		case 4:
			e.NoCopy = tree.NoCopyBinary
		}
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	m := testMeta()
	m.Generation = 4
	m.Packages = "blake3:" + strings.Repeat("cd", 32)
	m.CopyKey = strings.Repeat("5a", 32)
	m.AddAcceptance(Acceptance{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), User: "alice", UID: 1000,
		Selectors: []string{"--path=/t/**"}, Accepted: 2, Remaining: 1})
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info := r.info
	if err := r.Verify(priv.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("intact baseline: %v", err)
	}
	r.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	for _, key := range metaKeys() {
		t.Run(key, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "b.db")
			write(t, p, good)
			setMeta(t, p, keyInfo, editValue(t, info, key))
			r, err := Open(p)
			if err == nil {
				// Unsigned, or checked without the key: the digest tells.
				err = r.Validate()
				r.Close()
			}
			if !errors.Is(err, ErrBadBaseline) || strings.Contains(err.Error(), "\n") {
				t.Errorf("edited %s: %v, want one line of ErrBadBaseline", key, err)
			}
		})
	}
}
