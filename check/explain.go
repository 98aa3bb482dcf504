package check

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"

	"fim/baseline"
	"fim/config"
	"fim/severity"
	"fim/textcopy"
	"fim/tree"
	"fim/walk"
)

// ExplainOptions say where explain's options come from: Config's if given, else those
// of the baseline at DB. The baseline's record of the path is read unless only Config
// is given.
type ExplainOptions struct {
	Config string // a configuration file; "" for the baseline's options
	DB     string // the baseline
	ReadDB bool   // read the baseline even with Config (--db given)
	WalkerOptions
}

// Explained is what explain says of one path: the policy's decision, the walk's, and
// the baseline's record.
type Explained struct {
	config.Explanation
	// Path is the recorded path explained: the argument cleaned under a root, else made
	// absolute.
	Path string
	// RuleLine is the line of the rule in the configuration file; 0 when the options
	// are the baseline's or outside every rule.
	RuleLine int
	// Looked is what a walk makes of Path now, for a path the policy selects.
	Looked walk.Looked
	// Monitored: the policy selects the path and nothing on the way keeps the walk out.
	Monitored bool
	// Baseline says the baseline was read; Recorded is its record of Path (nil: none).
	Baseline bool
	Recorded *tree.Entry
	// Severity are the severity rules whose path condition Path meets (or that have
	// none), in table order: those that can grade an event of Path.
	Severity []*severity.Rule
	// Copy says whether the file keeps a copy of its content for diffs, and why not;
	// "" where the policy keeps no copies (no content_diff, no redact) or no regular
	// file is there.
	Copy string
}

// explainCopy says whether the regular file e, looked at under root, keeps a copy of
// its content (content_diff), and what decided it: the walk's reason (tree.NoCopy),
// with the rule, pattern or limit behind it.
func explainCopy(root *walk.Root, e *tree.Entry, redact bool) string {
	if e == nil || e.Type != tree.TypeFile {
		return ""
	}
	c := (*walk.Copies)(nil)
	if root != nil {
		c = root.Copies
	}
	switch {
	case redact:
		return "none: redact: true keeps no content"
	case c == nil:
		return "none: its rule has no content_diff"
	case e.Copy != nil:
		return fmt.Sprintf("kept (%d bytes compressed, secrets redacted)", len(e.Copy))
	}
	why := e.NoCopy.String()
	switch e.NoCopy {
	case tree.NoCopySecret:
		switch m := c.NoDiffMatch(e.Path); {
		case textcopy.Never(e.Path):
			return "none: secret: the shadow files are never kept"
		case m != nil:
			return fmt.Sprintf("none: secret: matches no_diff %s", m)
		}
		return "none: secret: it holds a private key"
	case tree.NoCopyPrivate:
		if root.FollowSymlinks {
			return "none: private: not world-readable, and its rule follows symlinks, which leaves content_diff_private out"
		}
		return "none: private: not world-readable, and its rule has no content_diff_private"
	case tree.NoCopyTooLarge:
		if e.Size > c.Max {
			return fmt.Sprintf("none: too_large: %d bytes, content_diff_max is %d", e.Size, c.Max)
		}
		return "none: too_large: larger than max_file_size, not read"
	case tree.NoCopyBinary:
		return "none: binary: not UTF-8 text, or holds a NUL byte"
	}
	return "none: " + cmp.Or(why, "its content was not read")
}

// Explain says whether a walk records the path arg and why, by the walker's own
// decisions (config.Compiled.Explain, walk.Walker.Look). A configuration, a policy or
// an argument that is wrong gives an *OptionError; a baseline that cannot be read, an
// error wrapping baseline.ErrBadBaseline.
func Explain(ctx context.Context, arg string, o ExplainOptions) (*Explained, error) {
	var (
		pol   *config.Policy
		lines map[string]int
		r     *baseline.Reader
	)
	if o.Config != "" {
		cfg, l, err := config.LoadLines(o.Config)
		if err != nil {
			return nil, &OptionError{err.Error()}
		}
		pol, lines = cfg.Policy(), l
	}
	if o.Config == "" || o.ReadDB {
		var err error
		if r, err = baseline.Open(o.DB); err != nil {
			return nil, err
		}
		defer r.Close()
		if err := r.Validate(); err != nil { // explain reads its meta and one record
			return nil, err
		}
		if pol == nil {
			if pol, _, err = Policy(r); err != nil {
				return nil, err
			}
		}
		o.Own = append(o.Own, r.Files()...)
	}
	comp, err := pol.Compile()
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	x := &Explained{Path: tree.CleanPath(arg), Baseline: r != nil} // relative to the root
	if pol.Root == "" {
		if x.Path, err = filepath.Abs(arg); err != nil {
			return nil, optionErr("%s: %v", arg, err)
		}
	}
	o.Root, o.MaxEntries = pol.Root, pol.MaxEntries
	wk := Walker(comp, o.WalkerOptions)
	x.Explanation = comp.Explain(wk, x.Path)
	if x.Rule != nil {
		x.RuleLine = lines[x.Rule.Path]
	}
	rules := comp.Severity().Rules
	for i := range rules {
		if _, ok := rules[i].Matching(x.Path); ok {
			x.Severity = append(x.Severity, &rules[i])
		}
	}
	if x.Selected() {
		if x.Looked, err = wk.Look(ctx, x.Path); err != nil {
			return nil, err
		}
		x.Monitored = x.Looked.Watched()
		if comp.KeepsCopies() || comp.Redact() {
			x.Copy = explainCopy(x.Root, x.Looked.Entry, comp.Redact())
		}
	}
	if r != nil {
		if x.Recorded, err = r.Get(x.Path); err != nil {
			return nil, err
		}
	}
	return x, nil
}
