package check

import (
	"fim/config"
	"fim/diff"
)

// NewSelector returns the Selector of fim accept's --path globs, --type kinds and
// --explained, and the selecting flags as given, for the accept history
// (AcceptOptions.Selectors). A glob or a kind that does not parse, or nothing
// selected, is an *OptionError.
func NewSelector(paths, types []string, explained bool) (*Selector, []string, error) {
	s := &Selector{AnyKind: true, Explained: explained}
	var given []string
	for _, p := range paths {
		g, err := config.CompileGlob(p)
		if err != nil {
			return nil, nil, optionErr("--path: %v", err)
		}
		s.Globs = append(s.Globs, g)
		given = append(given, "--path="+p)
	}
	if len(types) > 0 {
		kinds, err := diff.ParseKinds(types)
		if err != nil {
			return nil, nil, optionErr("--type: %v", err)
		}
		s.Kinds, s.AnyKind = kinds, false
		for _, k := range types {
			given = append(given, "--type="+k)
		}
	}
	if explained {
		given = append(given, "--explained")
	}
	if len(given) == 0 {
		return nil, nil, optionErr("accept: nothing selected: give --path GLOB or --type KIND, or --explained (--path '**' accepts every difference)")
	}
	return s, given, nil
}
