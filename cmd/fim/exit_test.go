package main

import (
	"testing"

	"fim/diff"
)

func TestExitCode(t *testing.T) {
	ev := func(kinds ...diff.Kind) []diff.Event {
		var out []diff.Event
		for _, k := range kinds {
			out = append(out, diff.Event{Kind: k, Path: "/x"})
		}
		return out
	}
	tests := []struct {
		name   string
		events []diff.Event
		want   int
	}{
		{"none", nil, exitOK},
		{"create", ev(diff.Create), exitCreated},
		{"remove", ev(diff.Remove), exitRemoved},
		{"change", ev(diff.Change), exitChanged},
		{"chmod", ev(diff.Chmod), exitChanged},
		{"rename", ev(diff.Rename), exitChanged},
		{"move", ev(diff.Move), exitChanged},
		{"create and remove", ev(diff.Create, diff.Remove, diff.Create), 3},
		{"remove and chmod", ev(diff.Remove, diff.Chmod), 6},
		{"all", ev(diff.Kinds()...), 7},
	}
	for _, tt := range tests {
		if got := eventsCode(tt.events); got != tt.want {
			t.Errorf("%s: eventsCode = %d, want %d", tt.name, got, tt.want)
		}
	}
	// Failures stay above every combination of differences.
	for _, c := range []int{exitUsage, exitBaseline, exitRuntime} {
		if c&7 == c {
			t.Errorf("failure code %d overlaps the difference bits", c)
		}
	}
}
