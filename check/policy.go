package check

import (
	"path/filepath"

	"fim/config"
	"fim/tree"
)

// PolicyOptions say what a new baseline records (fim baseline, and fim watch without
// a baseline): the paths named, each with Limits, or else the configuration's; then
// the overrides given beside either. A nil override leaves the policy's value.
type PolicyOptions struct {
	// Paths are the paths named. Under a Root or in an Image each is a recorded path;
	// otherwise a relative one is taken from the working directory.
	Paths  []string
	Limits config.Rule // of every path named
	// Config is the configuration whose policy applies when no path is named.
	// LimitsSet names the limits given (by their flags): they are for named paths only.
	Config    *config.Config
	LimitsSet []string
	// Image says the tree is read from an image (--from-tar, --from-mtree), whose
	// paths are recorded paths.
	Image       bool
	Exclude     []string // patterns added to the policy's
	MaxEntries  *int
	CrossMounts *bool
	Root        *string // made absolute
}

// RecordedPaths returns the recorded paths of the paths named (nil for none): under a
// root, or in an image, each is a recorded path, made absolute and clean; otherwise
// each is a path of this host, taken from the working directory. A path that cannot be
// made absolute is an *OptionError.
func RecordedPaths(paths []string, underRoot bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		if underRoot {
			out = append(out, tree.CleanPath(p))
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, optionErr("%s: %v", p, err)
		}
		out = append(out, abs)
	}
	return out, nil
}

// NewPolicy returns the policy o describes: a rule for each path named, with its
// limits, or else the configuration's policy, with the overrides applied. A limit set
// beside a configuration, or a path that cannot be made absolute, is an *OptionError;
// so is nothing to record (no path and no configuration).
func NewPolicy(o PolicyOptions) (*config.Policy, error) {
	var pol *config.Policy
	switch {
	case len(o.Paths) > 0:
		abs, err := RecordedPaths(o.Paths, o.Root != nil && *o.Root != "" || o.Image)
		if err != nil {
			return nil, err
		}
		pol = config.NewPolicy(abs, o.Limits)
	case o.Config != nil:
		if len(o.LimitsSet) > 0 {
			return nil, optionErr("--%s applies to PATH arguments; set it per path in the config", o.LimitsSet[0])
		}
		pol = o.Config.Policy()
	default:
		return nil, optionErr("no PATH given and no config file")
	}
	pol.Exclude = append(pol.Exclude, o.Exclude...)
	if o.MaxEntries != nil {
		pol.MaxEntries = *o.MaxEntries
	}
	if o.CrossMounts != nil {
		pol.CrossMounts = *o.CrossMounts
	}
	if o.Root != nil {
		pol.Root = *o.Root
	}
	if pol.Root != "" {
		var err error
		if pol.Root, err = filepath.Abs(pol.Root); err != nil {
			return nil, optionErr("--root: %v", err)
		}
	}
	return pol, nil
}
