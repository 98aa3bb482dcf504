package baseline

import (
	"errors"
	"fim/internal/atomicfile"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// MaxSkew is how far past now a baseline's creation time may lie before Fresh takes
// it for a forgery rather than a clock a little ahead.
const MaxSkew = 5 * time.Minute

// Freshness is what a caller demands of a baseline beyond its integrity, against a
// baseline replayed in place of its successor: a validly signed older baseline that
// matches a file rolled back with it. Zero fields demand nothing.
type Freshness struct {
	MaxAge        time.Duration // refuse one created longer ago than this
	MinGeneration uint64        // refuse one of a lower generation than this
}

// Fresh checks the baseline's creation time and generation against f at now. The
// meta it reads is the one the digest seals (and the signature, if verified, covers):
// a caller relies on it only after Validate or a full Iter. Every failure wraps
// ErrBadBaseline.
func (r *Reader) Fresh(f Freshness, now time.Time) error {
	m := r.meta
	created := m.Created.UTC().Format(time.RFC3339)
	switch {
	case f.MinGeneration > 0 && m.Generation < f.MinGeneration:
		return bad(r.path, "generation %d (made %s), older than generation %d already seen: stale or replayed", m.Generation, created, f.MinGeneration)
	case f.MaxAge > 0 && m.Created.After(now.Add(MaxSkew)):
		return bad(r.path, "made %s, in the future (now %s): a forged or wrong clock", created, now.UTC().Format(time.RFC3339))
	case f.MaxAge > 0 && now.Sub(m.Created) > f.MaxAge:
		return bad(r.path, "made %s, %s ago, older than the %s allowed: stale or replayed", created, FormatAge(now.Sub(m.Created)), FormatAge(f.MaxAge))
	}
	return nil
}

// FormatAge renders a duration, to the second, as days, hours, minutes and seconds
// ("3d4h", "90s" as "1m30s"), which ParseAge reads.
func FormatAge(d time.Duration) string {
	d = d.Round(time.Second)
	var s string
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			s += strconv.FormatInt(int64(n), 10) + u.name
			d -= n * u.d
		}
	}
	if s == "" {
		return "0s"
	}
	return s
}

// ParseAge reads a --max-age: a whole number of days ("7d"), a Go duration ("36h",
// "90m"), or days followed by one ("1d12h"). It must be positive.
func ParseAge(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil || i == 0 || s[0] == '+' {
			return 0, fmt.Errorf("age %q: want days (7d), hours (36h), minutes (90m), or days and a duration (1d12h)", s)
		}
		d, rest = time.Duration(days)*24*time.Hour, s[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || more < 0 || rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("age %q: want days (7d), hours (36h), minutes (90m), or days and a duration (1d12h)", s)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("age %q: must be more than zero", s)
	}
	return d, nil
}

// ReadGeneration returns the generation recorded in file by RecordGeneration, or 0 if
// there is no such file.
func ReadGeneration(file string) (uint64, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	s := strings.TrimSuffix(string(data), "\n")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%s: not a generation number (%q)", file, truncate(s, 40))
	}
	return n, nil
}

// RecordGeneration raises the generation recorded in file to gen; a file that holds
// a higher one is left as it is. The file is replaced atomically (a new file renamed
// over it), so a crash leaves the old number or the new one.
func RecordGeneration(file string, gen uint64) error {
	if old, err := ReadGeneration(file); err != nil || old >= gen {
		return err
	}
	err := atomicfile.Write(file, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, strconv.FormatUint(gen, 10)+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("record generation in %s: %w", file, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
