package terminal

import (
	"fim/internal/fstest"
	"fim/tree"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	p := &Progress{verb: "check", total: 400}
	for i := range 100 {
		p.Add(&tree.Entry{Size: 1e6, Flags: tree.FlagHashed})
		if i%2 == 0 {
			p.Add(&tree.Entry{Size: 5e9}) // not hashed: not counted as bytes
		}
	}
	got := p.line(3 * time.Second)
	want := "fim: check: 150/400 entries, 100.0 MB hashed, 33.3 MB/s, about 5s left"
	if got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
	unknown := &Progress{verb: "baseline"}
	unknown.Add(&tree.Entry{Size: 512, Flags: tree.FlagHashed})
	if got, want := unknown.line(time.Second), "fim: baseline: 1 entries, 512 B hashed, 512 B/s"; got != want {
		t.Errorf("line without a total:\n got %q\nwant %q", got, want)
	}
}

func TestProgressRedraws(t *testing.T) {
	var out fstest.SyncBuffer
	p := &Progress{w: &out, verb: "baseline", start: time.Now(), stop: make(chan struct{})}
	p.done.Add(1)
	go p.run(time.Millisecond)
	p.Add(&tree.Entry{Size: 10, Flags: tree.FlagHashed})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "1 entries") {
		if time.Now().After(deadline) {
			t.Fatalf("no redraw after an entry was added: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.Finish()
	s := out.String()
	if !strings.HasPrefix(s, "\r\x1b[K") || !strings.HasSuffix(s, "\r\x1b[K") || strings.Contains(s, "\n") {
		t.Errorf("output %q: want redraws of one line, ending cleared", s)
	}
}

func TestColorful(t *testing.T) {
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "1")
	if Colorful() {
		t.Error("NO_COLOR set: want no colour")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if Colorful() {
		t.Error("TERM=dumb: want no colour")
	}
}
