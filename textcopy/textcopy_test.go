package textcopy

import (
	"bytes"
	"strings"
	"testing"

	"fim/tree"
)

func TestRedact(t *testing.T) {
	h := func(v string) string { return string(appendRedacted(nil, []byte(v))) }
	for _, tc := range []struct{ in, want string }{
		{"password=hunter2\n", "password=" + h("hunter2") + "\n"},
		{"db_password = 's3cr3t'\n", "db_password = '" + h("s3cr3t") + "'\n"},
		{`  "api_key": "abcd1234",` + "\n", `  "api_key": "` + h("abcd1234") + `",` + "\n"},
		{"client_secret: xyz\r\n", "client_secret: " + h("xyz") + "\r\n"},
		{"Authorization: Bearer eyJhbGciOi.x.y\n", "Authorization: Bearer " + h("eyJhbGciOi.x.y") + "\n"},
		{"aws AKIAIOSFODNN7EXAMPLE here\n", "aws " + h("AKIAIOSFODNN7EXAMPLE") + " here\n"},
		{"PermitRootLogin no\nPasswordAuthentication no\n", "PermitRootLogin no\nPasswordAuthentication no\n"},
		{"-----BEGIN CERTIFICATE-----\nMIIB\nAAAA\n-----END CERTIFICATE-----\nafter\n",
			"-----BEGIN CERTIFICATE-----\n" + h("MIIB\nAAAA\n") + "\n-----END CERTIFICATE-----\nafter\n"},
		{"token=a token=b", "token=" + h("a") + " token=" + h("b")},
		{"no newline password=x", "no newline password=" + h("x")},
	} {
		if got := string(Redact([]byte(tc.in))); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestTake(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		why           tree.NoCopy
	}{
		{"text", "PermitRootLogin no\n", tree.CopyNone},
		{"empty", "", tree.CopyNone},
		{"nul", "a\x00b", tree.NoCopyBinary},
		{"latin1", "caf\xe9\n", tree.NoCopyBinary},
		{"rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n", tree.NoCopySecret},
		{"openssh", "junk\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n", tree.NoCopySecret},
		{"putty", "PuTTY-User-Key-File-3: ssh-ed25519\n", tree.NoCopySecret},
	} {
		frame, why := Take([]byte(tc.content))
		if why != tc.why {
			t.Errorf("%s: reason %v, want %v", tc.name, why, tc.why)
			continue
		}
		if why != tree.CopyNone {
			if frame != nil {
				t.Errorf("%s: a copy kept with reason %v", tc.name, why)
			}
			continue
		}
		text, err := Decode(frame)
		if err != nil || text != string(Redact([]byte(tc.content))) {
			t.Errorf("%s: Decode = %q, %v", tc.name, text, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	big := encoder.EncodeAll(bytes.Repeat([]byte("a"), MaxSize+1), nil)
	bin := encoder.EncodeAll([]byte("a\x00"), nil)
	for name, frame := range map[string][]byte{"garbage": []byte("not zstd"), "too large": big, "binary": bin, "empty": nil} {
		if _, err := Decode(frame); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte("password=hunter2\nx\n"))
	f.Add([]byte("-----BEGIN X-----\nabc\n"))
	f.Add([]byte("Authorization: Basic dXNlcjpwYXNz\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Redact(in)
		if bytes.Count(out, []byte("\n")) > bytes.Count(in, []byte("\n"))+1 {
			t.Fatalf("Redact adds lines: %q → %q", in, out)
		}
		// Redacting again changes nothing but the values already redacted: the
		// secret value never survives.
		for _, v := range []string{"hunter2", "dXNlcjpwYXNz"} {
			if bytes.Contains(in, []byte("password="+v)) && bytes.Contains(out, []byte("password="+v)) {
				t.Fatalf("value %q kept: %q", v, out)
			}
		}
		if IsText(in) && !IsText(out) {
			t.Fatalf("Redact of text is not text: %q", out)
		}
		if !strings.Contains(string(out), Marker) && !bytes.Equal(in, out) {
			t.Fatalf("changed without a redaction: %q → %q", in, out)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(encoder.EncodeAll([]byte("a\n"), nil))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, frame []byte) {
		text, err := Decode(frame)
		if err == nil && (len(text) > MaxSize || !IsText([]byte(text))) {
			t.Fatalf("Decode accepted %d bytes that are not text", len(text))
		}
	})
}
