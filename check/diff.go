package check

import (
	"context"
	"errors"

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
