// Package textdiff compares two texts line by line (Myers' O(ND) algorithm) and renders
// the difference as a unified diff. It does no I/O and knows nothing of files: the
// texts come from the baseline's stored copies and the walk.
//
// Choices written down: a text is split after every '\n'; a last line without one
// is marked "\ No newline at end of file" as diff(1) marks it. Lines are compared as
// bytes. When the two texts differ in more than MaxEdits lines (after their common
// beginning and end are set aside) the middle is shown as all removed then all added,
// which bounds time and memory by MaxEdits², whatever the input.
package textdiff

import (
	"strconv"
	"strings"
)

// MaxEdits bounds the edit distance searched for a shortest script.
const MaxEdits = 1000

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-' or '+'
	line string
}

// lines splits s after every '\n'; the last line may lack one.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(s, "\n")+1)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// script returns an edit script turning a into b: every line of both, in order, as
// kept, removed or added.
func script(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]op, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		out = append(out, op{' ', l})
	}
	out = myers(out, a[pre:len(a)-suf], b[pre:len(b)-suf])
	for _, l := range a[len(a)-suf:] {
		out = append(out, op{' ', l})
	}
	return out
}

// myers appends to out a shortest edit script from a to b, or, beyond MaxEdits, all of
// a removed and all of b added.
func myers(out []op, a, b []string) []op {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(out, a, b)
	}
	maxD := min(n+m, MaxEdits)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	found := -1
	for d := 0; d <= maxD && found < 0; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1] // down: an insertion
			} else {
				x = v[off+k-1] + 1 // right: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return replaceAll(out, a, b)
	}
	// Walk the trace back from (n, m): trace[d] holds v as it was before step d, over
	// diagonals -d-1 … d+1.
	rev := make([]op, 0, n+m)
	x, y := n, m
	for d := found; d > 0; d-- {
		prev := trace[d]
		get := func(k int) int { return prev[k+d+1] }
		k := x - y
		var pk int
		if k == -d || k != d && get(k-1) < get(k+1) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(pk)
		py := px - pk
		mx, my := px+1, py // after a deletion
		if pk == k+1 {
			mx, my = px, py+1 // after an insertion
		}
		for x > mx && y > my {
			x--
			y--
			rev = append(rev, op{' ', a[x]})
		}
		if pk == k+1 {
			rev = append(rev, op{'+', b[py]})
		} else {
			rev = append(rev, op{'-', a[px]})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, op{' ', a[x]})
	}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

func replaceAll(out []op, a, b []string) []op {
	for _, l := range a {
		out = append(out, op{'-', l})
	}
	for _, l := range b {
		out = append(out, op{'+', l})
	}
	return out
}

// Unified returns the unified diff of old and new with context lines of context around
// each change, without the "---"/"+++" file header, each line ending in '\n'. Past
// maxLines lines (0: no limit) it stops and ends with a line "… N more lines" counting
// the lines left out. Equal texts give "".
func Unified(old, new string, context, maxLines int) string {
	ops := script(lines(old), lines(new))
	var out []string
	oldLine, newLine := 1, 1 // line numbers of ops[i] in old and new
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			oldLine++
			newLine++
			i++
			continue
		}
		// A hunk: from context lines before this change to context lines after its
		// last change, changes closer than 2*context lines joined.
		start := max(i-context, 0)
		for start < i && ops[start].kind != ' ' {
			start++
		}
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
				continue
			}
			if j-end >= 2*context {
				break
			}
		}
		end = min(end+context, len(ops))
		back := i - start
		o0, n0 := oldLine-back, newLine-back
		var oc, nc int
		body := make([]string, 0, end-start)
		for _, o := range ops[start:end] {
			switch o.kind {
			case ' ':
				oc++
				nc++
			case '-':
				oc++
			case '+':
				nc++
			}
			body = append(body, string(o.kind)+o.line)
			if !strings.HasSuffix(o.line, "\n") {
				body[len(body)-1] += "\n\\ No newline at end of file"
			}
		}
		out = append(out, "@@ -"+rangeOf(o0, oc)+" +"+rangeOf(n0, nc)+" @@")
		for _, l := range body {
			out = append(out, strings.Split(strings.TrimSuffix(l, "\n"), "\n")...)
		}
		oldLine, newLine = o0+oc, n0+nc
		i = end
	}
	if len(out) == 0 {
		return ""
	}
	more := 0
	if maxLines > 0 && len(out) > maxLines {
		more = len(out) - maxLines
		out = out[:maxLines]
	}
	var b strings.Builder
	for _, l := range out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if more > 0 {
		b.WriteString("… " + strconv.Itoa(more) + " more lines\n")
	}
	return b.String()
}

// rangeOf renders a hunk's range as diff(1) does: "start,count", "start" for one
// line, and the line before for none.
func rangeOf(start, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(start-1) + ",0"
	case 1:
		return strconv.Itoa(start)
	}
	return strconv.Itoa(start) + "," + strconv.Itoa(count)
}
