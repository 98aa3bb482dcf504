package walk

import (
	"context"

	"golang.org/x/time/rate"
)

// ReadLimit paces the reads of file content of every walk of the walkers that share
// it (--max-read-rate): a token bucket of bytes, refilled at the rate, holding at most
// one hash buffer's worth. A hashing worker pays for what it read after each read, so
// the workers of a walk together read no faster than the rate, whatever their number.
// Listing directories, stat and extended attributes are not paced: they read metadata,
// not content.
type ReadLimit struct {
	l *rate.Limiter
}

// NewReadLimit returns a limit of bytesPerSecond, or nil (no limit) when it is not
// positive.
func NewReadLimit(bytesPerSecond int64) *ReadLimit {
	if bytesPerSecond <= 0 {
		return nil
	}
	return &ReadLimit{l: rate.NewLimiter(rate.Limit(bytesPerSecond), hashBufSize)}
}

// Rate is the limit in bytes per second (0 for none).
func (r *ReadLimit) Rate() int64 {
	if r == nil {
		return 0
	}
	return int64(r.l.Limit())
}

// paid waits until n bytes already read fit the rate; an error is ctx's.
func (r *ReadLimit) paid(ctx context.Context, n int) error {
	if r == nil {
		return nil
	}
	for n > 0 {
		k := min(n, hashBufSize)
		if err := r.l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
