package watch

import "context"

// Rescans sets w.Rescan and returns the way to use it: the function asks w for a
// rescan now and waits for its outcome, the rescan's error, or ctx's when ctx ends
// first (w not running, or ending). Call it before Run.
func (w *Watcher) Rescans() func(ctx context.Context) error {
	asks := make(chan func(error))
	w.Rescan = asks
	return func(ctx context.Context) error {
		done := make(chan error, 1)
		select {
		case asks <- func(err error) { done <- err }:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
