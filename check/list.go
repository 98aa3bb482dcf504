package check

import (
	"context"

	"fim/baseline"
	"fim/tree"
	"fim/walk"
)

// List hands fn the records of the baseline at db whose recorded path match matches
// (nil: every record), in key order (fim list). Every path is made of the meta's key
// base: every record and the meta are checked against the digest before the first is
// handed on.
func List(ctx context.Context, db string, match walk.Matcher, fn func(*tree.Entry) error) error {
	r, err := baseline.Open(db)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Validate(); err != nil {
		return err
	}
	for e, err := range r.Entries(ctx) {
		if err == nil && (match == nil || match.Match(e.Path)) {
			err = fn(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
