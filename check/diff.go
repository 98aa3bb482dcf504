package check

import (
	"context"
	"errors"
	"path/filepath"

	"fim/report"

	"fim/diff"
	"fim/provenance"
)

// DiffOptions say how fim diff compares two baselines.
type DiffOptions struct {
	Ignore diff.AttrSet // attributes not compared anywhere, on top of OLD's policy's
	// Root, if set, is the directory NEW was taken of: the package databases under it
	// are asked about each change, with OLD's package snapshot and journal and since
	// OLD was made (Baseline.Annotator), as Provenance says (nil: not asked).
	Root       string
	Provenance *provenance.Options
}

// Diff compares baseline old with baseline new, paths as recorded, with old's policy,
// as Check compares a baseline with the tree, and hands the events to report. A Root
// whose package databases cannot be read is an *OptionError.
func Diff(ctx context.Context, old, new *Baseline, o DiffOptions, report func([]diff.Event) error) ([]diff.Event, error) {
	co := Options{Ignore: o.Ignore, Against: new.Reader}
	if o.Root != "" {
		co.Provenance = old.Annotator(o.Root, o.Provenance)
		defer co.Provenance.Close()
	}
	events, _, err := Check(ctx, old, co, Stamp{}, report)
	if errors.Is(err, ErrPackages) {
		return nil, optionErr("--root: %v", err)
	}
	return events, err
}

// DiffInfo returns the report.Info of the report of a Diff of old with new: new's time
// and host, old as the baseline compared with. Under root, the tree new was taken of,
// r reads the files of the events there (their SHA-256) and names their owners as that
// tree does; without, the files are not at hand.
func (r *Reporter) DiffInfo(old, new *Baseline, root string) (report.Info, error) {
	var names report.Names
	if root != "" {
		var err error
		if r.Root, err = filepath.Abs(root); err != nil {
			return report.Info{}, optionErr("--root: %v", err)
		}
		names = r.Names()
	}
	r.SHA256 = r.SHA256 && r.Root != ""
	meta := new.Meta()
	return report.Info{Time: meta.Created, Host: report.Host{Name: meta.Host, ID: meta.HostID}, Baseline: old.Reported(),
		Color: r.Color, ShowExplained: r.ShowExplained, Version: r.Version, Root: r.Root, Names: names}, nil
}
