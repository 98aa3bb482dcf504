package check

import (
	"context"
	"fmt"

	"fim/diff"
	"fim/provenance"
)

// VerifyPackages checks the files of the packages installed under o.Root against their
// packages, without a baseline (provenance.Verify, fim verify-packages). With db (""
// none), a baseline of the same tree made with package digests (provenance.NewDigests),
// opened and proved as a check's (Open), a file it records as matching its package,
// unchanged since, is not read again. A root that cannot be opened is ErrPackages.
func VerifyPackages(ctx context.Context, db string, o provenance.VerifyOptions) ([]diff.Event, error) {
	if db != "" {
		b, err := Open(db, OpenOptions{})
		if err != nil {
			return nil, err
		}
		defer b.Close()
		newLookup, done := b.Reader.Iter().Prior()
		defer done()
		o.Prior = newLookup
	}
	events, err := provenance.Verify(ctx, o)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: %w", ErrPackages, err)
	}
	return events, err
}
