package textcopy

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/zeebo/blake3"

	"fim/tree"
)

func TestRedact(t *testing.T) {
	key := NewKey()
	h := func(v string) string { return string(appendRedacted(nil, []byte(v), &key)) }
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
		{"token=a, token=b", "token=" + h("a, token=b")},
		{"no newline password=x", "no newline password=" + h("x")},
		// nsswitch.conf: the passwd database's services are not secrets ...
		{"passwd:         files systemd\n", "passwd:         files systemd\n"},
		{"passwd: sss [NOTFOUND=return] files # accounts\r\n", "passwd: sss [NOTFOUND=return] files # accounts\r\n"},
		{"passwd_compat: ldap\n", "passwd_compat: ldap\n"},
		{"passwd: compat\nshadow: files\n", "passwd: compat\nshadow: files\n"},
		// ... but any other value after passwd or password is.
		{"passwd: hunter2\n", "passwd: " + h("hunter2") + "\n"},
		{"passwd: files hunter2\n", "passwd: " + h("files hunter2") + "\n"},
		{"password: files\n", "password: " + h("files") + "\n"},
		{"  password: hunter2\n", "  password: " + h("hunter2") + "\n"},
		{"db_passwd: files systemd\n", "db_passwd: " + h("files systemd") + "\n"},
		{"passwd=files\n", "passwd=" + h("files") + "\n"},
		// A value is the whole of it: a quoted one to its closing quote (or the end of
		// the line), an unquoted one across its spaces, to a comma, semicolon or quote.
		{`{"password": "correct horse battery"}` + "\n", `{"password": "` + h("correct horse battery") + `"}` + "\n"},
		{"pass = 'a b c'\n", "pass = '" + h("a b c") + "'\n"},
		{`client_secret="a\"b c"` + "\n", `client_secret="` + h(`a\"b c`) + `"` + "\n"},
		{`token: "unterminated value` + "\r\n", `token: "` + h("unterminated value") + "\r\n"},
		{"password: correct horse battery\n", "password: " + h("correct horse battery") + "\n"},
		{"PGPASSWORD=hunter2 psql -h db\n", "PGPASSWORD=" + h("hunter2 psql -h db") + "\n"},
		{"Server=db;Password=abc;Database=x\n", "Server=db;Password=" + h("abc;Database=x") + "\n"},
		{"password=abc;def\n", "password=" + h("abc;def") + "\n"},
		{"secret = a, b  \n", "secret = " + h("a, b") + "  \n"},
		// The password of a URL's user information, whatever names the URL.
		{"DATABASE_URL=postgres://app:s3cr3t@db:5432/x\n", "DATABASE_URL=postgres://app:" + h("s3cr3t") + "@db:5432/x\n"},
		{"proxy = http://u:p%40ss@proxy:3128 # corp\n", "proxy = http://u:" + h("p%40ss") + "@proxy:3128 # corp\n"},
		{"url: https://x-access:ghp_abc@github.com/o/r.git\r\n", "url: https://x-access:" + h("ghp_abc") + "@github.com/o/r.git\r\n"},
		{"see https://example.com:8443/path and mailto:a@b\n", "see https://example.com:8443/path and mailto:a@b\n"},
		// XML elements of secret-looking names (Maven's settings.xml, Hibernate).
		{"  <password>correct horse</password>\n", "  <password>" + h("correct horse") + "</password>\n"},
		{`<property name="x"><hibernate.connection.password type="s">pw</hibernate.connection.password>` + "\n",
			`<property name="x"><hibernate.connection.password type="s">` + h("pw") + `</hibernate.connection.password>` + "\n"},
		{"<passwordPolicy/>\n<keyword>not secret</keyword>\n", "<passwordPolicy/>\n<keyword>not secret</keyword>\n"},
		// A YAML block scalar of a secret-looking key: its lines, as one value.
		{"db:\n  password: |\n    line one\n\n    line two\n  user: app\n",
			"db:\n  password: " + h("|") + "\n" + h("    line one\n\n    line two\n") + "\n  user: app\n"},
		{"- token: >-\r\n  folded\r\n", "- token: " + h(">-") + "\r\n" + h("  folded\r\n") + "\n"},
		{"notes: |\n  password is elsewhere\n", "notes: |\n  password is elsewhere\n"},
		{"password: |\npassword: |\n", "password: " + h("|") + "\npassword: " + h("|") + "\n"},
		// Password hashes in crypt's format, wherever they are: a copy of the shadow
		// file under another name (/var/backups/shadow.bak), an htpasswd file.
		{"root:$y$j9T$Ke8Fq1Tt0yQ9$3nTQ0cZ5bZ0u0t9VQ2a0s3c7Fh0lq1m2n3o4p5q6r7s:19700:0:99999:7:::\n",
			"root:" + h("$y$j9T$Ke8Fq1Tt0yQ9$3nTQ0cZ5bZ0u0t9VQ2a0s3c7Fh0lq1m2n3o4p5q6r7s") + ":19700:0:99999:7:::\n"},
		{"bob:!$6$saltsalt$Yq0t9bZ0u0t9VQ2a0s3c7Fh0lq1m2n3o4p5q6r7s8t9u0v1w2x3y4z5A6B7C8D9E0F1G2H3I4J5K6L7M8N9O:19000::::::\n",
			"bob:!" + h("$6$saltsalt$Yq0t9bZ0u0t9VQ2a0s3c7Fh0lq1m2n3o4p5q6r7s8t9u0v1w2x3y4z5A6B7C8D9E0F1G2H3I4J5K6L7M8N9O") + ":19000::::::\n"},
		{"admin:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n", "admin:" + h("$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/") + "\n"},
		{"hash = $2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\n", "hash = " + h("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW") + "\n"},
		{"echo $1$2 $HOME\n", "echo $1$2 $HOME\n"},
	} {
		if got := string(Redact([]byte(tc.in), &key)); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestTake(t *testing.T) {
	key := NewKey()
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
		{"putty pasted in notes", "keys:\r\n\uFEFF  PuTTY-User-Key-File-2: ssh-rsa\r\nPrivate-Lines: 1\r\nAAAA\r\n", tree.NoCopySecret},
		// A kubeconfig (/etc/kubernetes/*.conf) holds its key base64-encoded.
		{"kubeconfig", "users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n" +
			"    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==\n", tree.NoCopySecret},
		{"base64 certificate", "ca-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n", tree.CopyNone},
		{"base64 cut short", "x: LS0tLS1CRUdJTi\n", tree.CopyNone},
	} {
		frame, why := Take([]byte(tc.content), &key)
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
		if err != nil || text != string(Redact([]byte(tc.content), &key)) {
			t.Errorf("%s: Decode = %q, %v", tc.name, text, err)
		}
	}
}

// TestRedactKeyed: the digest of a redacted value depends on the key, so that two
// keys give two tags for one secret, and one key one tag.
func TestRedactKeyed(t *testing.T) {
	k1, k2 := NewKey(), NewKey()
	in := []byte("password=hunter2\n")
	a, b, again := Redact(in, &k1), Redact(in, &k2), Redact(in, &k1)
	if bytes.Equal(a, b) || !bytes.Equal(a, again) {
		t.Errorf("keys %x… and %x…: %q, %q, again %q", k1[:2], k2[:2], a, b, again)
	}
	plain := blake3.Sum256([]byte("hunter2"))
	if bytes.Contains(a, []byte(hex.EncodeToString(plain[:4]))) {
		t.Errorf("%q holds the unkeyed digest", a)
	}
	if got, err := ParseKey(k1.Encode()); err != nil || got != k1 {
		t.Errorf("ParseKey(Encode) = %x, %v", got, err)
	}
	for _, bad := range []string{"", "00", k1.Encode() + "00", strings.ToUpper(k1.Encode())[:63] + "g"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
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
	f.Add([]byte("k: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCg==\n"))
	key := NewKey()
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Redact(in, &key)
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
		// A key stays a key whatever follows it.
		if IsPrivateKey(in) && !IsPrivateKey(append(bytes.Clone(in), "\nx"...)) {
			t.Fatalf("IsPrivateKey(%q) but not with a line after it", in)
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
