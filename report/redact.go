package report

import (
	"bytes"
	"path"
	"strings"

	"fim/diff"
	"fim/tree"
)

// Redacted is the name that stands for every path below a redacted root.
const Redacted = "[redacted]"

// Redact returns copies of events fit for a host whose file names are themselves
// sensitive (home directories, mail spools): every path below one of roots (the event's
// path and old path, and the paths of its entries) becomes that root followed by
// "/[redacted]"; a root itself stays, and a path below nested roots takes the deepest.
// In every event, whatever its path, symlink targets and extended attribute values are
// dropped and so are the arguments and working directory of its processes (their pid,
// name, program, ids and container stay). The names of the attributes stay; an
// attribute whose value differs between the entries of an event gets the value
// "[redacted]" in the later one, so that the change still shows. Everything else stays
// as it was, the kind, the changed attributes, types, modes, owners, sizes, times and
// hashes, so the report still says that something under /home changed and how. Roots are cleaned absolute paths; others
// match nothing. The events given are not modified.
func Redact(events []diff.Event, roots []string) []diff.Event {
	clean := make([]string, 0, len(roots))
	for _, r := range roots {
		if path.IsAbs(r) {
			clean = append(clean, path.Clean(r))
		}
	}
	out := make([]diff.Event, len(events))
	// One copy of each process, as the events share it: the json format encodes a
	// process once per batch.
	procs := map[*diff.Process]*diff.Process{}
	redacted := func(p *diff.Process) *diff.Process {
		c, ok := procs[p]
		if !ok {
			c = redactProcess(p)
			procs[p] = c
		}
		return c
	}
	for i, ev := range events {
		ev.Path = redactPath(ev.Path, clean)
		if ev.OldPath != "" {
			ev.OldPath = redactPath(ev.OldPath, clean)
		}
		ev.Diff, ev.NoDiff = "", "" // content is what --redact keeps out of reports first
		if n := ev.Notice; n != nil && len(n.Paths) > 0 {
			c := *n
			c.Paths = make([]string, len(n.Paths))
			for j, p := range n.Paths {
				c.Paths[j] = redactPath(p, clean)
			}
			ev.Notice = &c
		}
		ev.Before = redactEntry(ev.Before, nil, clean)
		ev.After = redactEntry(ev.After, events[i].Before, clean)
		ev.Process = redacted(ev.Process)
		if ev.Writers != nil {
			ev.Writers = make([]*diff.Process, len(events[i].Writers))
			for j, p := range events[i].Writers {
				ev.Writers[j] = redacted(p)
			}
			ev.Process = ev.Writers[len(ev.Writers)-1]
		}
		out[i] = ev
	}
	return out
}

// redactProcess returns a copy of p without its arguments and working directory.
func redactProcess(p *diff.Process) *diff.Process {
	if p == nil {
		return nil
	}
	c := *p
	c.Args, c.Cwd = nil, ""
	return &c
}

// redactPath returns p, or the deepest root that p lies below followed by "/[redacted]".
func redactPath(p string, roots []string) string {
	deepest := ""
	for _, r := range roots {
		if len(r) > len(deepest) && tree.IsWithin(p, r) {
			deepest = r
		}
	}
	if deepest == "" || p == deepest {
		return p
	}
	return tree.Join(deepest, Redacted)
}

// redactEntry returns a copy of e with its path redacted and its link target and
// extended attribute values dropped; a value that differs from the one in prev (an
// earlier state of the entry, or nil) becomes "[redacted]".
func redactEntry(e, prev *tree.Entry, roots []string) *tree.Entry {
	if e == nil {
		return nil
	}
	c := *e
	c.Path = redactPath(c.Path, roots)
	c.LinkTarget = ""
	if len(e.Xattrs) > 0 {
		c.Xattrs = make([]tree.Xattr, len(e.Xattrs))
		for i, x := range e.Xattrs {
			c.Xattrs[i] = tree.Xattr{Name: x.Name}
			if prev != nil && valueChanged(prev.Xattrs, x) {
				c.Xattrs[i].Value = []byte(Redacted)
			}
		}
	}
	return &c
}

// valueChanged reports whether xattrs has an attribute of x's name with another value.
func valueChanged(xattrs []tree.Xattr, x tree.Xattr) bool {
	for _, y := range xattrs {
		if y.Name == x.Name {
			return !bytes.Equal(y.Value, x.Value)
		}
	}
	return false
}

// pathEnd holds the bytes that end a path in a message of fim's (RedactText).
const pathEnd = " \t\n:,;\"'()[]<>="

// RedactText returns a message of fim's (a warning, an error, a notice) with every
// path below one of roots redacted as Redact redacts an event's: ROOT/[redacted]. A
// path in a message begins with "/" at the start of a word and runs to the next space,
// colon, comma, semicolon, quote, bracket or "=": the rest of a name holding one of
// those stays. Roots are cleaned absolute paths, as Redact's; the deepest one a path
// is below is kept.
func RedactText(s string, roots []string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); i++ {
		if s[i] != '/' || i > 0 && !strings.ContainsRune(pathEnd, rune(s[i-1])) {
			continue
		}
		end := len(s)
		if k := strings.IndexAny(s[i:], pathEnd); k >= 0 {
			end = i + k
		}
		if p := path.Clean(s[i:end]); redactPath(p, roots) != p {
			red := redactPath(p, roots)
			b.WriteString(s[done:i])
			b.WriteString(red)
			done = end
		}
		i = end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}
