package buildinfo

import (
	"testing"
	"time"
)

func TestSetWins(t *testing.T) {
	if got := Version("1.4.2"); got != "1.4.2" {
		t.Errorf("Version = %q", got)
	}
	if got := Commit("0123abcd"); got != "0123abcd" {
		t.Errorf("Commit = %q", got)
	}
	if got := ReleaseDate("2026-01-31"); got != "2026-01-31" {
		t.Errorf("ReleaseDate = %q", got)
	}
}

func TestUnset(t *testing.T) {
	// A test binary carries no module version and no VCS settings.
	if got := Version(""); got != "devel" {
		t.Errorf("Version = %q, want devel", got)
	}
	if got := Commit(""); got != "unknown" {
		t.Errorf("Commit = %q, want unknown", got)
	}
	if _, err := time.Parse(time.DateOnly, ReleaseDate("")); err != nil {
		t.Errorf("ReleaseDate: %v", err)
	}
}
