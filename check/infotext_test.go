package check

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/internal/fstest"
)

// TestInfoText describes a real baseline, unsigned and signed, with the right key, with
// another and with none, and writes fim info's text of each; what varies from run to
// run (the temporary paths, the digest, the keys, the file size) is named in the
// golden files.
func TestInfoText(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(nil)
	must(t, err)
	otherPub, _, err := ed25519.GenerateKey(nil)
	must(t, err)
	f := newFixture(t, map[string]string{"a": "x", "d/b": "y"})
	created := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		signer ed25519.PrivateKey
		verify ed25519.PublicKey
	}{
		{"unsigned", nil, nil},
		{"unsigned-verify", nil, pub},
		{"signed", key, nil},
		{"signed-verified", key, pub},
		{"signed-other-key", key, otherPub},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.signedBaseline(t, c.signer, 7, created)
			in, err := Describe(f.db, c.verify, baseline.Freshness{})
			must(t, err)
			var out bytes.Buffer
			must(t, in.WriteText(&out, c.verify))
			got := strings.NewReplacer(f.db, "DB", f.tree, "TREE", in.Digest, "DIGEST", in.KeyBase, "KEYBASE",
				baseline.KeyID(pub), "KEY", baseline.KeyID(otherPub), "OTHERKEY").Replace(out.String())
			got = fileSize.ReplaceAllString(got, "file size:    SIZE")
			fstest.Golden(t, filepath.Join("testdata", "info-"+c.name+".golden"), []byte(got))
		})
	}
}

var fileSize = regexp.MustCompile(`file size: .*`)

// TestInfoTextEscapes: every string a baseline's meta or policy carries (anything a
// forger wrote there) is written escaped, one line per key.
func TestInfoTextEscapes(t *testing.T) {
	no := false
	in := &Info{Path: "/db\n", FileSize: 4096, BytesPerEntry: 409.6, Format: 3, FimVersion: "1.0\x1b[2J",
		Created: time.Date(2026, 1, 31, 12, 0, 0, 0, time.FixedZone("x", 3600)), Generation: 2, Host: "h\rost",
		HostID: "id\n", Entries: 10, Digest: "d\x00", Signed: true, KeyID: "k\u202e", Verified: &no,
		VerifyError: "does not verify\nforged",
		Accepted: []baseline.Acceptance{{Time: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), User: "r\noot", UID: 0,
			Selectors: []string{"--path=/etc/\x1b"}, Accepted: 1, Remaining: 2}},
		Policy: &config.Policy{Source: "tar:img\n", Root: "/r\x07", MaxEntries: 5, CrossMounts: true,
			Exclude: []string{"/x\n"}, Rules: []config.Rule{{Path: "/p\n", MaxDepth: 2, MaxFileSize: 1 << 20,
				Events: []string{"create", "remove"}, Ignore: []string{"mtime"}, Exclude: []string{"*.log"}}}},
	}
	pub, _, err := ed25519.GenerateKey(nil)
	must(t, err)
	var out bytes.Buffer
	must(t, in.WriteText(&out, pub))
	got := strings.ReplaceAll(out.String(), baseline.KeyID(pub), "KEY")
	fstest.Golden(t, filepath.Join("testdata", "info-escaped.golden"), []byte(got))
	for i, c := range got {
		if c < 0x20 && c != '\n' || c == 0x7f || c == '\u202e' {
			t.Errorf("raw control %q at %d", c, i)
		}
	}
	if n := strings.Count(got, "\n"); n != 19 {
		t.Errorf("%d lines, want 19:\n%s", n, got)
	}
}

// TestInfoWrite: fim info's formats: text as WriteText writes it, json one object of
// the Info on one line; any other is refused.
func TestInfoWrite(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "x"})
	f.signedBaseline(t, nil, 3, time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC))
	in, err := Describe(f.db, nil, baseline.Freshness{})
	must(t, err)
	var text, got bytes.Buffer
	must(t, in.WriteText(&text, nil))
	must(t, in.Write(&got, "text", nil))
	if got.String() != text.String() {
		t.Errorf("text:\n%s\nwant\n%s", got.String(), text.String())
	}
	got.Reset()
	must(t, in.Write(&got, "json", nil))
	var back Info
	must(t, json.Unmarshal(got.Bytes(), &back))
	if back.Path != f.db || back.Generation != 3 || back.Entries != in.Entries || strings.Count(got.String(), "\n") != 1 {
		t.Errorf("json: %s", got.String())
	}
	if err := in.Write(&got, "yaml", nil); err == nil || err.Error() != `unknown format "yaml" (want one of text, json)` {
		t.Errorf("yaml: %v", err)
	}
}
