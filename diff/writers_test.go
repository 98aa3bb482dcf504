package diff

import (
	"slices"
	"testing"
)

// TestAddWriter notes writers in turn: a repeat moves to the end, and past MaxWriters
// the first ones and the last are kept.
func TestAddWriter(t *testing.T) {
	p := func(pid int) *Process { return &Process{PID: pid, Name: "w"} }
	pids := func(ws []*Process) []int {
		var out []int
		for _, w := range ws {
			out = append(out, w.PID)
		}
		return out
	}
	var ws []*Process
	for _, pid := range []int{1, 2, 1, 3} {
		ws = AddWriter(ws, p(pid))
	}
	if got := pids(ws); !slices.Equal(got, []int{2, 1, 3}) {
		t.Errorf("writers %v, want [2 1 3]", got)
	}
	if AddWriter(ws, nil) == nil || len(Writers(ws[:1])) != 0 {
		t.Error("nil writer or single writer")
	}
	ws = nil
	for pid := 1; pid <= MaxWriters+5; pid++ {
		ws = AddWriter(ws, p(pid))
	}
	got := pids(ws)
	if len(got) != MaxWriters || got[0] != 1 || got[MaxWriters-2] != MaxWriters-1 || got[MaxWriters-1] != MaxWriters+5 {
		t.Errorf("writers %v: want the first %d and the last", got, MaxWriters-1)
	}
	// Another process with the same pid (reused) is another writer.
	ws = AddWriter([]*Process{{PID: 7, StartTime: 1}}, &Process{PID: 7, StartTime: 2})
	if len(ws) != 2 {
		t.Errorf("pid reused: %d writers, want 2", len(ws))
	}
}
