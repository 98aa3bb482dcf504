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

// TestLoggerOneLine: a name holding a newline, a carriage return or a terminal escape
// (a file's name, an error naming it) neither forges a second line nor drives the
// terminal, and the part after the control byte is redacted with the rest of the path.
func TestLoggerOneLine(t *testing.T) {
	for _, tc := range []struct {
		name, arg, want string
	}{
		{"newline", "/srv/data/d\nfim: warning: /etc/shadow changed", `fim: warning: /srv/data/[redacted]: warning: /etc/shadow changed: bad` + "\n"},
		{"carriage return", "/srv/data/a\rfim: all clear", `fim: warning: /srv/data/[redacted]: all clear: bad` + "\n"},
		{"escape", "/srv/data/a\x1bcb\u2028c", `fim: warning: /srv/data/[redacted]: bad` + "\n"},
		{"escaped already", `/srv/data/a\nb`, `fim: warning: /srv/data/[redacted]: bad` + "\n"},
		{"outside", "/etc/a\x1b[2J\u202eb", `fim: warning: /etc/a\x1b[2J\u202eb: bad` + "\n"},
		{"tab and invalid UTF-8", "/etc/a\tb\xff", "fim: warning: /etc/a\tb\\xff: bad\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, "fim: ")
			l.Redact([]string{"/srv/data"})
			l.Printf("warning: %s: %v", tc.arg, "bad")
			if got := buf.String(); got != tc.want {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
		})
	}
}
