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

// Retunes sets w.Retune and returns the way to use it: the function hands w a change
// of its settings, which w applies between two batches, and returns once w took it, or
// with ctx's error when ctx ends first. Call it before Run.
func (w *Watcher) Retunes() func(ctx context.Context, apply func()) error {
	asks := make(chan func())
	w.Retune = asks
	return func(ctx context.Context, apply func()) error {
		select {
		case asks <- apply:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
