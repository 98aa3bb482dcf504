package check

import (
	"testing"
	"time"

	"fim/diff"
)

// TestSummaries: the closing lines of fim baseline and fim accept.
func TestSummaries(t *testing.T) {
	r := Recorded{Entries: 12, Files: 9, Bytes: 1_250_000}
	for _, tt := range []struct {
		warnings int
		want     string
	}{
		{0, "baseline of 12 entries (9 files, 1.2 MB hashed) written to /v/b.db in 1.50s"},
		{1, "baseline of 12 entries (9 files, 1.2 MB hashed) written to /v/b.db in 1.50s, 1 warning"},
		{3, "baseline of 12 entries (9 files, 1.2 MB hashed) written to /v/b.db in 1.50s, 3 warnings"},
	} {
		if got := r.Summary("/v/b.db", 1500*time.Millisecond, tt.warnings); got != tt.want {
			t.Errorf("%d warnings: %q, want %q", tt.warnings, got, tt.want)
		}
	}
	three := make([]diff.Event, 3)
	for _, tt := range []struct {
		accepted int
		dry      bool
		want     string
	}{
		{0, false, "no difference matches (3 in all): /v/b.db unchanged"},
		{0, true, "no difference matches (3 in all): /v/b.db unchanged"},
		{2, true, "dry run: would accept 2 of 3 differences, 1 would remain; /v/b.db unchanged"},
		{2, false, "accepted 2 of 3 differences into /v/b.db; 1 remain"},
	} {
		a := &Accepted{Events: three, Accepted: three[:tt.accepted]}
		if got := a.Summary("/v/b.db", tt.dry); got != tt.want {
			t.Errorf("%d accepted, dry %v: %q, want %q", tt.accepted, tt.dry, got, tt.want)
		}
	}
}
