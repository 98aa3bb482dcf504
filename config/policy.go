package config

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gobwas/glob"

	"fim/diff"
	"fim/severity"
	"fim/textcopy"
	"fim/tree"
	"fim/walk"
)

// Policy is what fim walks and reports: the configured paths with their limits, and the
// options that apply to all of them. It is stored with the baseline as JSON, so a
// check re-walks exactly what the baseline recorded.
type Policy struct {
	Rules       []Rule   `json:"rules"`
	Root        string   `json:"root"`         // read the tree under this directory; "" means /
	MaxEntries  int      `json:"max_entries"`  // 0 means unlimited
	CrossMounts bool     `json:"cross_mounts"` // descend into other filesystems
	Exclude     []string `json:"exclude"`      // glob patterns applying below every rule
	// Source names what a baseline was read from when not from a walk ("tar:FILE",
	// "mtree:FILE"); checking it needs the tree it describes, given as the Root.
	Source string `json:"source,omitempty"`
	// Severity are the configured severity rules, laid over the built-in ones
	// (DefaultSeverity) when the policy is compiled.
	Severity []SeverityRule `json:"severity,omitempty"`
	// NoDiff are patterns of files whose content is never kept for diffs, on top of
	// textcopy.DefaultNoDiff; Redact keeps no content at all, and shows no diffs.
	NoDiff []string `json:"no_diff,omitempty"`
	Redact bool     `json:"redact,omitempty"`
}

// Rule is one configured path and what applies below it. A rule nested in another
// rule's path governs its own subtree.
type Rule struct {
	Path           string   `json:"path"`            // recorded absolute path, clean
	Events         []string `json:"events"`          // kinds to report; empty means all (diff.ParseKinds)
	MaxDepth       int      `json:"max_depth"`       // 0 means unlimited
	MaxFileSize    int64    `json:"max_file_size"`   // larger files are not hashed; 0 means unlimited
	IncludeHidden  bool     `json:"include_hidden"`  // record names starting with '.'
	FollowSymlinks bool     `json:"follow_symlinks"` // record what symlinks point to
	Exclude        []string `json:"exclude"`         // glob patterns, matched against the recorded path
	Ignore         []string `json:"ignore"`          // attributes not compared (diff.ParseAttrs)
	// Growing marks log files that are only appended to: a regular file whose recorded
	// content is still its beginning is not reported for growing (see walk.Options).
	Growing bool `json:"growing,omitempty"`
	// ContentDiff keeps a copy of small text files' content, so that their changes are
	// shown as diffs; ContentDiffMax bounds their size (0: textcopy.DefaultMax), and
	// ContentDiffPrivate lets in files that are not world-readable.
	ContentDiff        bool  `json:"content_diff,omitempty"`
	ContentDiffMax     int64 `json:"content_diff_max,omitempty"`
	ContentDiffPrivate bool  `json:"content_diff_private,omitempty"`
}

// NewPolicy returns a policy with one rule per path, each a copy of template with its
// Path set to the cleaned path; it is how the command line builds a policy without a
// configuration file. The caller sets the policy-wide fields. Nothing is validated
// before Compile.
func NewPolicy(paths []string, template Rule) *Policy {
	p := &Policy{Rules: make([]Rule, len(paths))}
	for i, path := range paths {
		r := template.clone()
		r.Path = filepath.Clean(path)
		p.Rules[i] = r
	}
	return p
}

func (r Rule) clone() Rule {
	r.Events = slices.Clone(r.Events)
	r.Exclude = slices.Clone(r.Exclude)
	r.Ignore = slices.Clone(r.Ignore)
	return r
}

// Compiled is a validated policy in the form the walker and the differ use.
type Compiled struct {
	roots   []walk.Root // sorted with tree.ComparePaths
	filters []filter    // deepest first: sorted by path length, descending
	rules   map[string]*Rule
	exclude []string // the policy's own patterns, which apply below every rule
	sev     *severity.Table
	redact  bool
}

// filter is what a rule keeps of the events found below its path.
type filter struct {
	path   string
	kinds  diff.KindSet
	ignore diff.AttrSet
}

// Compile validates the policy, which may come from a database rather than from Parse,
// and compiles its patterns and names.
func (p *Policy) Compile() (*Compiled, error) {
	if len(p.Rules) == 0 {
		return nil, errors.New("no paths configured")
	}
	if p.Root != "" {
		if err := checkPath(p.Root); err != nil {
			return nil, fmt.Errorf("root: %w", err)
		}
	}
	if err := checkCount(p.MaxEntries); err != nil {
		return nil, fmt.Errorf("max_entries: %w", err)
	}
	global, err := compileGlobs(p.Exclude)
	if err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	sev, err := compileSeverity(p.Severity)
	if err != nil {
		return nil, fmt.Errorf("severity: %w", err)
	}
	noDiff, err := compileGlobs(append(slices.Clip(textcopy.DefaultNoDiff), p.NoDiff...))
	if err != nil {
		return nil, fmt.Errorf("no_diff: %w", err)
	}
	if p.Redact {
		noDiff = nil // nothing is kept: no rule is given copies
	}
	c := &Compiled{
		sev:     sev,
		redact:  p.Redact,
		roots:   make([]walk.Root, 0, len(p.Rules)),
		filters: make([]filter, 0, len(p.Rules)),
		rules:   make(map[string]*Rule, len(p.Rules)),
		exclude: slices.Clone(p.Exclude),
	}
	seen := make(map[string]bool, len(p.Rules))
	for _, r := range p.Rules {
		root, f, err := r.compile(global, p.CrossMounts)
		if err == nil && r.ContentDiff && !p.Redact {
			// A rule that follows symlinks keeps only world-readable files: a link in its
			// tree may lead to any file fim can read, directly or through a directory.
			root.Copies = &walk.Copies{Max: cmp.Or(r.ContentDiffMax, textcopy.DefaultMax), Private: r.ContentDiffPrivate && !r.FollowSymlinks, NoDiff: noDiff}
		}
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", r.Path, err)
		}
		if seen[r.Path] {
			return nil, fmt.Errorf("path %q: duplicate path", r.Path)
		}
		seen[r.Path] = true
		rule := r.clone()
		c.rules[r.Path] = &rule
		c.roots = append(c.roots, root)
		c.filters = append(c.filters, f)
	}
	slices.SortFunc(c.roots, func(a, b walk.Root) int { return tree.ComparePaths(a.Path, b.Path) })
	// Paths are distinct, so of two paths where one contains the other the longer one
	// is the deeper and comes first.
	slices.SortFunc(c.filters, func(a, b filter) int { return cmp.Compare(len(b.path), len(a.path)) })
	return c, nil
}

func (r *Rule) compile(global []walk.Matcher, crossMounts bool) (walk.Root, filter, error) {
	if err := checkPath(r.Path); err != nil {
		return walk.Root{}, filter{}, err
	}
	if err := checkCount(r.MaxDepth); err != nil {
		return walk.Root{}, filter{}, fmt.Errorf("max_depth: %w", err)
	}
	if r.MaxFileSize < 0 {
		return walk.Root{}, filter{}, fmt.Errorf("max_file_size: %d is negative", r.MaxFileSize)
	}
	if r.ContentDiffMax != 0 {
		if err := checkCopyMax(r.ContentDiffMax); err != nil {
			return walk.Root{}, filter{}, fmt.Errorf("content_diff_max: %w", err)
		}
	}
	kinds, err := diff.ParseKinds(r.Events)
	if err != nil {
		return walk.Root{}, filter{}, fmt.Errorf("events: %w", err)
	}
	ignore, err := diff.ParseAttrs(r.Ignore)
	if err != nil {
		return walk.Root{}, filter{}, fmt.Errorf("ignore: %w", err)
	}
	exclude, err := compileGlobs(r.Exclude)
	if err != nil {
		return walk.Root{}, filter{}, fmt.Errorf("exclude: %w", err)
	}
	root := walk.Root{
		Path: r.Path,
		Options: walk.Options{
			MaxDepth:       r.MaxDepth,
			MaxFileSize:    r.MaxFileSize,
			NoHidden:       !r.IncludeHidden,
			FollowSymlinks: r.FollowSymlinks,
			CrossMounts:    crossMounts,
			Growing:        r.Growing,
			Exclude:        append(slices.Clip(global), exclude...),
		},
	}
	return root, filter{path: r.Path, kinds: kinds, ignore: ignore}, nil
}

// Severity returns the severity table: the built-in rules with the policy's own laid
// over them.
func (c *Compiled) Severity() *severity.Table { return c.sev }

// Roots returns one walk root per rule, sorted with tree.ComparePaths. The exclude
// patterns of a root are the policy's followed by the rule's.
func (c *Compiled) Roots() []walk.Root {
	return slices.Clone(c.roots)
}

// Filter returns the event kinds to report and the attributes to ignore for a recorded
// path: those of the deepest rule whose path contains it, or every kind and no
// attribute for a path outside every rule. It does not allocate.
func (c *Compiled) Filter(path string) (diff.KindSet, diff.AttrSet) {
	for i := range c.filters {
		if f := &c.filters[i]; tree.IsWithin(path, f.path) {
			return f.kinds, f.ignore
		}
	}
	return diff.AllKinds, 0
}

// checkPath reports whether p is a valid recorded path: absolute, clean, and valid
// UTF-8 without NUL bytes (so that it survives the JSON the policy is stored as, and
// maps to a baseline key).
func checkPath(p string) error {
	switch {
	case !filepath.IsAbs(p):
		return fmt.Errorf("%q is not absolute", p)
	case !utf8.ValidString(p):
		return fmt.Errorf("%q is not valid UTF-8", p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%q contains a NUL byte", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("%q is not clean (want %q)", p, filepath.Clean(p))
	}
	return nil
}

// checkCopyMax checks a content_diff_max: positive, at most textcopy.MaxSize.
func checkCopyMax(n int64) error {
	if n <= 0 || n > textcopy.MaxSize {
		return fmt.Errorf("%d is not between 1 and %d (1 MiB)", n, textcopy.MaxSize)
	}
	return nil
}

// KeepsCopies reports whether a rule of the policy keeps copies of files' content.
func (c *Compiled) KeepsCopies() bool {
	return slices.ContainsFunc(c.roots, func(r walk.Root) bool { return r.Copies != nil })
}

// SetCopyKey has the walks of the policy redact the secrets in the copies they keep
// with key: the key of the baseline they are kept in or compared with.
func (c *Compiled) SetCopyKey(key textcopy.Key) {
	for i := range c.roots {
		if c.roots[i].Copies != nil {
			cp := *c.roots[i].Copies
			cp.Key = key
			c.roots[i].Copies = &cp
		}
	}
}

// Redact reports whether the policy keeps no content and shows no diffs.
func (c *Compiled) Redact() bool { return c.redact }

func checkCount(n int) error {
	if n < 0 {
		return fmt.Errorf("%d is negative", n)
	}
	return nil
}

// CompileGlob compiles a pattern on recorded paths, as exclude patterns are compiled:
// '/' is the separator, '*' and '?' stop at it, '**' crosses it. Patterns match the
// absolute recorded path, so "*.swp" matches nothing and "**/*.swp" matches swap files
// anywhere. The pattern's text is its String method.
func CompileGlob(pattern string) (*glob.Pattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("pattern %q is not valid UTF-8", pattern)
	}
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %w", pattern, err)
	}
	return g, nil
}

func compileGlobs(patterns []string) ([]walk.Matcher, error) {
	var out []walk.Matcher
	for _, p := range patterns {
		g, err := CompileGlob(p)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
