package fstest

import (
	"flag"
	"time"
)

// WatchFlags returns the flags of fim watch that a reload sets (config.Reloadable) in
// a flag set, each at fim watch's default.
func WatchFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.Int("batch-size", 500, "")
	fs.Duration("batch-timeout", time.Second, "")
	fs.Duration("dedup-window", 2*time.Second, "")
	fs.Int("max-events-per-minute", 0, "")
	fs.Duration("heartbeat", 0, "")
	fs.String("min-severity", "", "")
	fs.Bool("redact", false, "")
	return fs
}
