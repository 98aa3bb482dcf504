package walk

import (
	"fim/tree"
	"strings"
)

// Reason says why a walk records a recorded path or leaves it out, as far as the path
// alone decides (see Walker.Explain).
type Reason uint8

// The reasons, in the order Explain tests them.
const (
	ReasonSelected Reason = iota // inside a root, and no limit of the root leaves it out
	ReasonOutside                // below no root
	ReasonBadName                // an empty name: not a clean path
	ReasonHidden                 // a name on the way starts with '.' and the root has NoHidden
	ReasonTooDeep                // deeper below the root than its MaxDepth
	ReasonExcluded               // an exclude pattern of the root matches the path or a directory above it
)

var reasonNames = [...]string{"selected", "outside every root", "not a clean path",
	"hidden", "too deep", "excluded"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Selection is how a walk of the roots treats one recorded path, as far as the path
// alone decides.
type Selection struct {
	Reason Reason
	// Root is the deepest root holding the path; nil when Reason is ReasonOutside.
	Root *Root
	// At is where the walk stops: the path itself, or the directory above it that is
	// hidden, too deep or excluded (the walk never lists what is below it).
	At string
	// Depth is the number of levels At lies below Root.
	Depth int
	// Pattern is the exclude pattern that matched At, for ReasonExcluded.
	Pattern Matcher
}

// Selected reports whether the walk records the path.
func (s *Selection) Selected() bool { return s.Reason == ReasonSelected }

// Explain says whether the recorded path p is one a walk of the roots records, and if
// not, which limit leaves it out: it is the decision Selects and WalkPath make, with
// its reason. Limits that need the filesystem (other mounts, symlinks, file sizes) are
// not decided here, nor are fim's own files (Walker.Own), which are told apart by
// what they are, not by their names.
func (w *Walker) Explain(p string) Selection {
	var r *Root
	for i := range w.Roots {
		if tree.IsWithin(p, w.Roots[i].Path) && (r == nil || len(w.Roots[i].Path) > len(r.Path)) {
			r = &w.Roots[i]
		}
	}
	if r == nil {
		return Selection{Reason: ReasonOutside, At: p}
	}
	if p == r.Path {
		return Selection{Root: r, At: p}
	}
	rest := strings.TrimPrefix(p[len(r.Path):], "/")
	depth, q := 0, r.Path
	for name := range strings.SplitSeq(rest, "/") {
		depth++
		q = tree.Join(q, name)
		s := Selection{Root: r, At: q, Depth: depth}
		switch {
		case name == "":
			s.Reason = ReasonBadName
		case r.NoHidden && name[0] == '.':
			s.Reason = ReasonHidden
		case r.MaxDepth > 0 && depth > r.MaxDepth:
			s.Reason = ReasonTooDeep
		default:
			if s.Pattern = r.exclusion(q); s.Pattern == nil {
				continue
			}
			s.Reason = ReasonExcluded
		}
		return s
	}
	return Selection{Root: r, At: p, Depth: depth}
}
