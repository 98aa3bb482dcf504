package output

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParseHeader: ParseHeader never panics, what it accepts is a field name and a
// value net/http sends as given, and no error shows anything after the colon.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"Authorization: ApiKey abc", "X:y", "no colon", ": v", "A: \r\n", "Content-Length: 1", "a b: c", "X-\xff: v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, value, err := ParseHeader(s)
		_, after, _ := strings.Cut(s, ":")
		after = strings.Trim(after, " \t")
		if err != nil {
			// The name is shown, quoted: a value that is part of the name as shown
			// is not leaked by it.
			shown := fmt.Sprintf("%q", strings.TrimSpace(strings.SplitN(s, ":", 2)[0]))
			if len(after) >= 3 && strings.Contains(err.Error(), after) && !strings.Contains(shown, after) {
				t.Fatalf("error %q shows the value %q", err, after)
			}
			return
		}
		if !validHeaderName(name) || value == "" || value != after || strings.ContainsAny(value, "\r\n\x00") {
			t.Fatalf("ParseHeader(%q) = %q, %q", s, name, value)
		}
	})
}
