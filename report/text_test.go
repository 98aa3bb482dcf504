package report

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// golden compares got with testdata/name.golden, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	fstest.Golden(t, filepath.Join("testdata", name+".golden"), got)
}

// ownColors removes the colour sequences the text renderer itself writes, and no other.
var ownColors = strings.NewReplacer(ansiReset, "", ansiRed, "", ansiGreen, "", ansiYellow, "", ansiMagenta, "",
	ansiCyan, "")

// assertNoControl fails if out holds a control byte other than the newline ending each
// line, once the renderer's own colour sequences are removed.
func assertNoControl(t *testing.T, out []byte) {
	t.Helper()
	for i, c := range []byte(ownColors.Replace(string(out))) {
		if c < 0x20 && c != '\n' || c == 0x7f {
			t.Errorf("raw control byte %#02x at offset %d", c, i)
		}
	}
	if bytes.Contains(out, []byte("\u202e")) || bytes.Contains(out, []byte("\u0085")) {
		t.Errorf("raw non-printable rune in output")
	}
}

func TestTextGolden(t *testing.T) {
	warned := checkInfo
	warned.Warnings = 1
	tests := []struct {
		name   string
		events []diff.Event
		info   Info
	}{
		{"empty", nil, checkInfo},
		{"empty_warnings", nil, Info{Warnings: 3}},
		{"sample", sampleEvents(), warned},
		{"single", sampleEvents()[:1], checkInfo},
		{"baseline", nil, Info{Warnings: 1, Baseline: Baseline{Created: time.Date(2024, 4, 30, 8, 0, 0, 0, time.FixedZone("CEST", 2*60*60)), Generation: 7}}},
	}
	for _, tt := range tests {
		for _, color := range []bool{false, true} {
			name := "text_" + tt.name
			if color {
				name += "_color"
			}
			t.Run(name, func(t *testing.T) {
				info := tt.info
				info.Color = color
				var buf bytes.Buffer
				if err := Text(&buf, tt.events, info); err != nil {
					t.Fatal(err)
				}
				out := buf.Bytes()
				golden(t, name, out)
				assertNoControl(t, out)
				if !color && bytes.IndexByte(out, 0x1b) >= 0 {
					t.Error("ESC in output without colour")
				}
				if lines := bytes.Count(out, []byte("\n")); lines != len(tt.events)+1 {
					t.Errorf("%d lines, want %d: one summary and one per event", lines, len(tt.events)+1)
				}
				var again bytes.Buffer
				if err := Text(&again, tt.events, info); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, again.Bytes()) {
					t.Error("two renderings differ")
				}
			})
		}
	}
}

func TestTextSummary(t *testing.T) {
	events := sampleEvents()
	tests := []struct {
		events   []diff.Event
		warnings int
		want     string
	}{
		{nil, 0, "fim: no changes"},
		{nil, 1, "fim: no changes, 1 warning"},
		{events[:1], 0, "fim: 1 change: 1 create, 0 change, 0 remove, 0 chmod, 0 rename, 0 move"},
		{events, 2, "fim: 18 changes: 7 create, 4 change, 2 remove, 3 chmod, 1 rename, 1 move, 2 warnings"},
	}
	for _, tt := range tests {
		got := string(appendSummary(nil, tt.events, tt.warnings, Baseline{}))
		if got != tt.want+"\n" {
			t.Errorf("summary = %q, want %q", got, tt.want)
		}
	}
}

func TestTextLines(t *testing.T) {
	events := sampleEvents()
	var buf bytes.Buffer
	if err := Text(&buf, events, checkInfo); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")[1:]
	for i, ev := range events {
		kind := ev.Kind.String()
		if !strings.HasPrefix(lines[i], kind+strings.Repeat(" ", kindWidth-len(kind)+2)) {
			t.Errorf("line %d %q: kind column is not %q padded to %d", i, lines[i], kind, kindWidth)
		}
	}
	// Spot checks of readable values; the golden file has the rest.
	for _, want := range []string{
		"mode: -rwxr-xr-x (0755) → -rwsr-xr-x (4755)",
		"mode: -rw-r----- (0640) → -rw-rw-rwT (1666)",
		"type: file → dir",
		"uid: 0 → 1000, gid: 42 → 1000",
		"xattrs: ~security.selinux +user.new -user.old",
		"link_target: /usr/bin/vim.basic → /usr/bin/nano",
		"rename  /etc/app/a.conf → /etc/app/b.conf\n",
		"content: 1011121314151617 → 1112131415161718",
		"mtime: 2024-03-01T09:00:00.000000000Z → 2024-03-01T10:00:00.250000000Z",
		"mtime: 2024-03-01T09:00:00Z → 2024-03-01T11:00:00Z", // same sub-second part
		"hash: (too_large)",
		"rdev: 1:1",
		`/srv/caf\xe9/men\xfc.txt`,
		`/tmp/x\nchmod   /etc/shadow\x1b[2J\x1b]0;pwn\x07`,
		`/home/eve/\u202eexe.pdf\u0085`,
		`target: /tmp/\x1b[31mred\\`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/etc/passwd", "/etc/passwd"},
		{"/a b/ü/日本", "/a b/ü/日本"},
		{"a\\b", `a\\b`},
		{"a\nb\tc\rd", `a\nb\tc\x0dd`},
		{"\x00\x1b\x7f", `\x00\x1b\x7f`},
		{"caf\xe9", `caf\xe9`},
		{"\xc3", `\xc3`},                 // truncated sequence
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // surrogate
		{"\u009b2J", `\u009b2J`},         // C1 CSI
		{"\u202e\u200b", `\u202e\u200b`},
		{"\U000e0041", `\U000e0041`}, // tag character
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, tt.in)); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTextDiff: a content diff is indented under its event, each line escaped, so that
// no line of a file can pass for a line of the report or drive the terminal.
func TestTextDiff(t *testing.T) {
	ev := diff.Event{Kind: diff.Change, Path: "/etc/motd", Changed: diff.AttrSet(0).With(diff.AttrContent),
		Before: &tree.Entry{Type: tree.TypeFile}, After: &tree.Entry{Type: tree.TypeFile},
		Diff: "@@ -1 +1 @@\n-hello\n+\x1b[2Jchange  /etc/shadow\r\tx\n"}
	var b strings.Builder
	if err := Text(&b, []diff.Event{ev}, Info{Stream: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{"    @@ -1 +1 @@", "    -hello", `    +\x1b[2Jchange  /etc/shadow\x0d\tx`}
	if len(lines) != 4 || !slices.Equal(lines[1:], want) {
		t.Errorf("text report:\n%s\nwant the event, then\n%s", b.String(), strings.Join(want, "\n"))
	}
	ev.Diff, ev.NoDiff = "", "binary"
	b.Reset()
	Text(&b, []diff.Event{ev}, Info{Stream: true})
	if !strings.HasSuffix(b.String(), "  no_diff: binary\n") {
		t.Errorf("no_diff not shown: %q", b.String())
	}
}
