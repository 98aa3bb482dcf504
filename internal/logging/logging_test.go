package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestLogger: each line has the prefix and its paths below the roots in force
// redacted, until Redact(nil); lines written at once from many goroutines stay whole.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "fim: ")
	l.Printf("warning: %s: %v", "/srv/data/secret", "permission denied")
	l.Redact([]string{"/srv/data"})
	l.Printf("warning: %s: %v", "/srv/data/secret", "permission denied")
	l.Printf("outside: /etc/passwd")
	l.Redact(nil)
	l.Printf("again: /srv/data/secret")
	want := "fim: warning: /srv/data/secret: permission denied\n" +
		"fim: warning: /srv/data/[redacted]: permission denied\n" +
		"fim: outside: /etc/passwd\n" +
		"fim: again: /srv/data/secret\n"
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}

	buf.Reset()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				l.Redact([]string{"/srv"})
			}
			for range 100 {
				l.Printf("line %d", i)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "fim: line ") || len(line) != len("fim: line 0") {
			t.Fatalf("line %q is not whole", line)
		}
	}
}
