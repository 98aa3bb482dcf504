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

	// For LoadPolicy: the configuration file named (--config), whether the image
	// comes on standard input, and --max-file-size, a size for the paths named.
	ConfigFile  string
	StdinImage  bool
	MaxFileSize string
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

// LoadPolicy is NewPolicy for fim baseline: it reads o.ConfigFile into o.Config (or,
// when no path is named, DefaultConfig if it exists), names the image's root when an
// image is read and nothing says what of it to record, and parses o.MaxFileSize for
// the paths named. It returns the configuration read too. Paths and a configuration
// file both named, or neither found, is an *OptionError; so are the configuration and
// the image both on standard input.
func LoadPolicy(o PolicyOptions) (*config.Policy, *config.Config, error) {
	if o.Image && len(o.Paths) == 0 && o.ConfigFile == "" {
		o.Paths = []string{"/"} // the whole image
	}
	if o.ConfigFile == config.Stdin && o.StdinImage {
		return nil, nil, optionErr("--config - and an image on standard input: only one can come on standard input")
	}
	cfg, err := LoadConfig(o.ConfigFile, len(o.Paths) == 0)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(o.Paths) > 0 && o.ConfigFile != "":
		return nil, nil, optionErr("give PATH arguments or --config, not both")
	case len(o.Paths) == 0 && cfg == nil:
		return nil, nil, optionErr("no PATH given and no config file (%s)", DefaultConfig)
	}
	if o.MaxFileSize != "" && len(o.Paths) > 0 {
		if o.Limits.MaxFileSize, err = config.ParseSize(o.MaxFileSize); err != nil {
			return nil, nil, optionErr("--max-file-size: %v", err)
		}
	}
	o.Config = cfg
	pol, err := NewPolicy(o)
	return pol, cfg, err
}
