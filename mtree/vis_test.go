package mtree

import (
	"strings"
	"testing"
)

// TestVisRoundTrip: every byte string survives encoding and decoding, and the encoding
// holds no byte a spec line could misread.
func TestVisRoundTrip(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "plain", "a b", "a\tb\nc\r", "\\", "\\\\s", "#x", "x#", "*?[]", "a=b", "ünï", "\xff\xfe", "\x00", all.String()} {
		enc := string(appendVis(nil, s))
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= ' ' || c >= 0x7f || c == '#' || c == '*' || c == '?' || c == '[' || c == '=' {
				t.Errorf("vis(%q) = %q holds byte %#x", s, enc, c)
			}
		}
		dec, err := unvis(enc)
		if err != nil || dec != s {
			t.Errorf("unvis(vis(%q)) = %q, %v", s, dec, err)
		}
	}
}

// TestVisEncoding pins the encoding: three-digit octal escapes, as bsdtar writes.
func TestVisEncoding(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a file", `a\040file`},
		{"nl\nname", `nl\012name`},
		{"back\\slash", `back\134slash`},
		{"hash#x", `hash\043x`},
		{"gl*o?b[1]", `gl\052o\077b\1331]`},
		{"=eq", `\075eq`},
		{"ünï", `\303\274n\303\257`},
		{"inv\xffalid", `inv\377alid`},
		{"\x01\x7f", `\001\177`},
		{"etc/passwd", "etc/passwd"},
	} {
		if got := string(appendVis(nil, c.in)); got != c.want {
			t.Errorf("vis(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestUnvis decodes the forms NetBSD mtree, bsdtar and other vis(3) users write.
func TestUnvis(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`a\sfile`, "a file"},
		{`a\040file`, "a file"},
		{`tab\tx`, "tab\tx"},
		{`nl\nname`, "nl\nname"},
		{`\r\b\a\v\f\E`, "\r\b\a\v\f\x1b"},
		{`back\\slash`, `back\slash`},
		{`hash\#x`, "hash#x"},
		{`\M-C\M-<n\M-C\M-/`, "ünï"},
		{`inv\M^?alid`, "inv\xffalid"},
		{`\M^A`, "\x81"},
		{`\^A\^?`, "\x01\x7f"},
		{`\0`, "\x00"},
		{`\1234`, "S4"},
		{`\x41\x4a2`, "AJ2"},
		{`\xf`, "\x0f"},
		{"no escapes", "no escapes"},
	} {
		got, err := unvis(c.in)
		if err != nil || got != c.want {
			t.Errorf("unvis(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestUnvisErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`ends\`, "ends in a lone backslash"},
		{`\777`, `octal escape \777 is not a byte`},
		{`\xg`, `\x without hex digits`},
		{`\M`, `bad meta escape \M`},
		{`\M+a`, `bad meta escape \M`},
		{`\^`, `bad control escape \^`},
		{`\*`, `unknown escape "\\*"`},
		{"\\\n", `unknown escape "\\\n"`},
	} {
		_, err := unvis(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("unvis(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzVis: decoding never panics, and whatever decodes re-encodes to the same bytes.
func FuzzVis(f *testing.F) {
	for _, s := range []string{`a\sb`, `\M-C\M-<`, `\M^?`, `\377\0`, `\x4`, `\`, `\^`, "\xff", `\#`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if back, err := unvis(string(appendVis(nil, s))); err != nil || back != s {
			t.Fatalf("unvis(vis(%q)) = %q, %v", s, back, err)
		}
		dec, err := unvis(s)
		if err != nil {
			return
		}
		if again, err := unvis(string(appendVis(nil, dec))); err != nil || again != dec {
			t.Fatalf("unvis(vis(%q)) = %q, %v", dec, again, err)
		}
	})
}
