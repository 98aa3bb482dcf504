package textdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// apply rebuilds both texts from a script, to check that it keeps every line in order.
func apply(ops []op) (a, b string) {
	var sa, sb strings.Builder
	for _, o := range ops {
		if o.kind != '+' {
			sa.WriteString(o.line)
		}
		if o.kind != '-' {
			sb.WriteString(o.line)
		}
	}
	return sa.String(), sb.String()
}

func edits(ops []op) int {
	n := 0
	for _, o := range ops {
		if o.kind != ' ' {
			n++
		}
	}
	return n
}

func TestScriptIsShortest(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		edits int
	}{
		{"", "", 0},
		{"a\n", "a\n", 0},
		{"a\nb\nc\n", "a\nc\n", 1},
		{"a\nb\nc\n", "a\nx\nc\n", 2},
		{"a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n", 5}, // Myers' paper: D = 5
		{"x\n", "", 1},
		{"", "x\ny\n", 2},
		{"a\nb", "a\nb\n", 2},
	} {
		ops := script(lines(tc.a), lines(tc.b))
		if a, b := apply(ops); a != tc.a || b != tc.b {
			t.Errorf("%q → %q: script rebuilds %q → %q", tc.a, tc.b, a, b)
		}
		if got := edits(ops); got != tc.edits {
			t.Errorf("%q → %q: %d edits, want %d", tc.a, tc.b, got, tc.edits)
		}
	}
}

// TestUnifiedMatchesDiff compares Unified with diff(1) -U3 on real files.
func TestUnifiedMatchesDiff(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("no diff(1)")
	}
	var long []string
	for i := 0; i < 40; i++ {
		long = append(long, "line "+strings.Repeat("x", i%7))
	}
	base := strings.Join(long, "\n") + "\n"
	edited := strings.Replace(base, "line xx\n", "line changed\n", 1)
	edited = strings.Replace(edited, "line xxxxxx\n", "", 1) + "appended\n"
	for _, tc := range []struct{ name, a, b string }{
		{"sshd", "Port 22\nPermitRootLogin no\nPasswordAuthentication no\n", "Port 22\nPermitRootLogin yes\nPasswordAuthentication no\n"},
		{"scattered", base, edited},
		{"first line", "one\ntwo\nthree\nfour\nfive\n", "ONE\ntwo\nthree\nfour\nfive\n"},
		{"no newline", "a\nb", "a\nc"},
	} {
		dir := t.TempDir()
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(pa, []byte(tc.a), 0o644)
		os.WriteFile(pb, []byte(tc.b), 0o644)
		out, _ := exec.Command("diff", "-U3", pa, pb).Output()
		want := string(out)
		// drop the ---/+++ header
		for range 2 {
			want = want[strings.IndexByte(want, '\n')+1:]
		}
		if got := Unified(tc.a, tc.b, 3, 0); got != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, want)
		}
	}
}

func TestUnifiedCap(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("new line\n")
	}
	got := Unified("", b.String(), 3, 200)
	ls := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(ls) != 201 || ls[0] != "@@ -0,0 +1,300 @@" || ls[200] != "… 101 more lines" {
		t.Fatalf("capped diff: %d lines, first %q, last %q", len(ls), ls[0], ls[len(ls)-1])
	}
}

func TestBeyondMaxEdits(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < MaxEdits; i++ {
		a.WriteString("a\n")
		b.WriteString("b\n")
	}
	ops := script(lines(a.String()), lines(b.String()))
	if x, y := apply(ops); x != a.String() || y != b.String() {
		t.Fatal("script beyond MaxEdits does not rebuild the texts")
	}
}

func FuzzUnified(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nx\nc\n")
	f.Add("", "only\n")
	f.Add("x\x1b[2J\n", "y\r\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		ops := script(lines(a), lines(b))
		if x, y := apply(ops); x != a || y != b {
			t.Fatalf("script rebuilds %q → %q", x, y)
		}
		u := Unified(a, b, 3, 200)
		if (u == "") != (a == b) {
			t.Fatalf("Unified(%q, %q) = %q", a, b, u)
		}
		if n := strings.Count(u, "\n"); n > 201 {
			t.Fatalf("%d lines past the cap", n)
		}
		for _, l := range strings.Split(strings.TrimSuffix(u, "\n"), "\n") {
			if l != "" && !strings.ContainsRune(" +-@\\…", []rune(l)[0]) {
				t.Fatalf("line %q starts with no diff marker", l)
			}
		}
	})
}
