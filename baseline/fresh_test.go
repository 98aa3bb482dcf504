package baseline

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"7d", 7 * 24 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"0d1s", time.Second},
	} {
		if got, err := ParseAge(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "d", "7", "-1d", "+1d", "1d-1h", "0d", "0s", "1w", "1d1d", "7 d", "1dx"} {
		if got, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseAge: no input panics, and what is accepted is positive and prints back as
// an age that reads the same (to the second).
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"7d", "1d12h", "90m", "-1d", "1d-1h", "d", "300ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseAge(%q) = %v", s, d)
		}
		if d >= time.Second && d < 1<<62 {
			if again, err := ParseAge(FormatAge(d)); err != nil || again != d.Round(time.Second) {
				t.Fatalf("%q: %v prints as %q, which reads %v, %v", s, d, FormatAge(d), again, err)
			}
		}
	})
}

func TestFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	writeBaseline(t, path, testEntries(3)) // created 2024-02-29T12:00:00Z, generation 1
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	made := r.Meta().Created
	for _, tc := range []struct {
		name string
		f    Freshness
		now  time.Time
		want string // "": fresh
	}{
		{"nothing demanded", Freshness{}, made.Add(1000 * time.Hour), ""},
		{"young enough", Freshness{MaxAge: 48 * time.Hour}, made.Add(47 * time.Hour), ""},
		{"too old", Freshness{MaxAge: 48 * time.Hour}, made.Add(49 * time.Hour), "2d1h ago, older than the 2d allowed"},
		{"clock a little behind", Freshness{MaxAge: time.Hour}, made.Add(-MaxSkew / 2), ""},
		{"from the future", Freshness{MaxAge: time.Hour}, made.Add(-MaxSkew - time.Minute), "in the future"},
		{"generation seen", Freshness{MinGeneration: 1}, made, ""},
		{"generation older than seen", Freshness{MinGeneration: 2}, made, "generation 1 (made 2024-02-29T12:00:00Z), older than generation 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Fresh(tc.f, tc.now)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrBadBaseline) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want ErrBadBaseline saying %q", err, tc.want)
			}
		})
	}
}
