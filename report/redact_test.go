package report

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"fim/diff"
	"fim/tree"
)

func TestRedactPath(t *testing.T) {
	tests := []struct {
		path  string
		roots []string
		want  string
	}{
		{"/etc/passwd", []string{"/etc"}, "/etc/[redacted]"},
		{"/etc/ssh/sshd_config", []string{"/etc"}, "/etc/[redacted]"},
		{"/etc", []string{"/etc"}, "/etc"},                  // the root itself stays
		{"/etcetera/x", []string{"/etc"}, "/etcetera/x"},    // a prefix of the name is not a parent
		{"/usr/bin/sh", []string{"/etc"}, "/usr/bin/sh"},    // outside every root
		{"/home/eve/.ssh/id", []string{"/"}, "/[redacted]"}, // the whole filesystem
		{"/", []string{"/"}, "/"},
		{"/home/eve/x", []string{"/home", "/home/eve"}, "/home/eve/[redacted]"}, // the deepest root
		{"/home/eve/x", []string{"/home/eve", "/home"}, "/home/eve/[redacted]"},
		{"/home/eve", []string{"/home", "/home/eve"}, "/home/eve"},
		{"/home/bob", []string{"/home", "/home/eve"}, "/home/[redacted]"},
		{"/etc/x", []string{"/etc/"}, "/etc/[redacted]"}, // cleaned
		{"/etc/x", []string{"etc", ""}, "/etc/x"},        // relative roots match nothing
		{"/etc/x", nil, "/etc/x"},
	}
	for _, tt := range tests {
		ev := []diff.Event{{Kind: diff.Remove, Path: tt.path, Before: &tree.Entry{Path: tt.path}}}
		got := Redact(ev, tt.roots)[0]
		if got.Path != tt.want || got.Before.Path != tt.want {
			t.Errorf("Redact(%q, %q) = %q (entry %q), want %q", tt.path, tt.roots, got.Path, got.Before.Path, tt.want)
		}
	}
}

func TestRedactEvents(t *testing.T) {
	events := formatEvents()
	roots := []string{"/etc", "/srv"}
	red := Redact(events, roots)
	if !eventsEqual(events, formatEvents()) {
		t.Fatal("Redact modified its input")
	}
	if len(red) != len(events) {
		t.Fatalf("%d events, want %d", len(red), len(events))
	}
	for i := range red {
		r, ev := &red[i], &events[i]
		for _, p := range []struct{ got, orig string }{
			{r.Path, ev.Path}, {r.OldPath, ev.OldPath}, {pathOf(r.Before), pathOf(ev.Before)}, {pathOf(r.After), pathOf(ev.After)},
		} {
			if want := redactPath(p.orig, roots); p.got != want {
				t.Errorf("event %d: path %q, want %q", i, p.got, want)
			}
		}
		if r.Kind != ev.Kind || r.Changed != ev.Changed || r.Source != ev.Source || r.Count != ev.Count {
			t.Errorf("event %d: kind, changed, source or count changed: %+v", i, r)
		}
		for _, side := range []struct{ got, orig *tree.Entry }{{r.Before, ev.Before}, {r.After, ev.After}} {
			if side.orig == nil {
				if side.got != nil {
					t.Errorf("event %d: an entry appeared", i)
				}
				continue
			}
			g, o := side.got, side.orig
			if g.LinkTarget != "" {
				t.Errorf("event %d: link target %q kept", i, g.LinkTarget)
			}
			if g.Type != o.Type || g.Mode != o.Mode || g.Size != o.Size || g.UID != o.UID || g.Mtime != o.Mtime ||
				g.Ctime != o.Ctime || g.Hash != o.Hash || g.Flags != o.Flags || g.Inode != o.Inode {
				t.Errorf("event %d: attributes changed: %+v, was %+v", i, g, o)
			}
			if len(g.Xattrs) != len(o.Xattrs) {
				t.Fatalf("event %d: %d xattrs, was %d", i, len(g.Xattrs), len(o.Xattrs))
			}
			for j, x := range g.Xattrs {
				if x.Name != o.Xattrs[j].Name || len(x.Value) != 0 && string(x.Value) != Redacted {
					t.Errorf("event %d: xattr %q = %q", i, x.Name, x.Value)
				}
			}
		}
		if ev.Process != nil {
			p, o := r.Process, ev.Process
			if p == o || p.Args != nil || p.Cwd != "" || p.PID != o.PID || p.Name != o.Name || p.Exe != o.Exe || p.UID != o.UID || p.Gone != o.Gone {
				t.Errorf("event %d: process %+v, was %+v", i, p, o)
			}
		}
		for j, p := range r.Writers {
			if p == ev.Writers[j] || p.Args != nil || p.Cwd != "" || p.PID != ev.Writers[j].PID {
				t.Errorf("event %d: writer %+v, was %+v", i, p, ev.Writers[j])
			}
		}
	}

	// What the reports show: no name below a root, no link target, no xattr value, no
	// argument; the kinds and the changes still there.
	var text bytes.Buffer
	if err := Text(&text, red, checkInfo); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, secret := range []string{"backdoor", "cron", "motd", "hosts", "secure", "app", "caf", "men", "50%",
		"alternatives", "vim.basic", "nano", "/home/ann", "/tmp/r", "system_u", "31mred", "resolv"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted text report holds %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{
		"change  /etc/[redacted]  content: 1011121314151617 → 1112131415161718, size: 1024 → 1070",
		"chmod   /usr/bin/passwd  mode: -rwxr-xr-x (0755) → -rwsr-xr-x (4755)",
		"chmod   /etc/[redacted]  xattrs: ~security.selinux +user.new -user.old",
		"rename  /etc/[redacted] → /etc/[redacted]",
		"move    /tmp/payload → /root/.cache/payload",
		"create  /srv/[redacted]  type: dir",
		"[fanotify, by cp[4100] and vi[4242] uid 1000, ×3]",
		"create  " + EscapeText(forgedPath), // outside the roots
	} {
		if !strings.Contains(out, kept) {
			t.Errorf("redacted text report lacks %q:\n%s", kept, out)
		}
	}
	var js bytes.Buffer
	if err := JSON(&js, red, checkInfo); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), `"args"`) {
		t.Errorf("process arguments in the redacted json report")
	}
}

func pathOf(e *tree.Entry) string {
	if e == nil {
		return ""
	}
	return e.Path
}

func TestRedactText(t *testing.T) {
	roots := []string{"/home", "/home/ann/vault", "/srv"}
	tests := []struct{ in, want string }{
		{"warning: /home/ann/notes.txt: permission denied", "warning: /home/[redacted]: permission denied"},
		{"warning: /home/ann/vault/key: permission denied", "warning: /home/ann/vault/[redacted]: permission denied"},
		{"warning: /home: no such file or directory", "warning: /home: no such file or directory"},
		{"hash /home/ann/a b: changed while being read", "hash /home/[redacted] b: changed while being read"},
		{`open "/srv/www/x" and (/srv/y), /etc/passwd`, `open "/srv/[redacted]" and (/srv/[redacted]), /etc/passwd`},
		{"/home/ann/a", "/home/[redacted]"},
		{"path=/srv/a,/srv/b;/homely/x", "path=/srv/[redacted],/srv/[redacted];/homely/x"},
		{"x/home/ann stays: not the start of a word", "x/home/ann stays: not the start of a word"},
		{"no paths here", "no paths here"},
	}
	for _, tt := range tests {
		if got := RedactText(tt.in, roots); got != tt.want {
			t.Errorf("RedactText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactText checks that RedactText leaves no name below a root at the start of a
// word, changes nothing else, and that redacting again changes nothing.
func FuzzRedactText(f *testing.F) {
	for _, s := range []string{"warning: /home/ann/x: denied", "/home/a/b /srv", `"/home/x"`, "a/home/b", "/home/", "//home/x"} {
		f.Add(s)
	}
	roots := []string{"/home"}
	f.Fuzz(func(t *testing.T, s string) {
		got := RedactText(s, roots)
		if again := RedactText(got, roots); again != got {
			t.Fatalf("RedactText(%q) = %q, and again %q", s, got, again)
		}
		for i := 0; i+len("/home/") <= len(got); i++ {
			if !strings.HasPrefix(got[i:], "/home/") || i > 0 && !strings.ContainsRune(pathEnd, rune(got[i-1])) {
				continue
			}
			rest := got[i+len("/home/"):]
			if k := strings.IndexAny(rest, pathEnd); k >= 0 {
				rest = rest[:k]
			}
			if p := path.Clean("/home/" + rest); rest != Redacted && p != "/home" && tree.IsWithin(p, "/home") {
				t.Fatalf("RedactText(%q) = %q: leaves /home/%s", s, got, rest)
			}
		}
	})
}
