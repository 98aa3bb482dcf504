package walk

import (
	"sync"
	"testing"
	"time"
)

// TestSchedLimit drives the scheduler as the walk does: jobs come out smallest key
// first; past the limit of unconsumed entries only the job the consumer waits for (or
// a smaller one) comes out, until the consumer catches up.
func TestSchedLimit(t *testing.T) {
	s := newSched(2, 0)
	defer s.close()
	for _, k := range []string{"d", "b", "a", "c"} {
		s.push(&job{key: []byte(k)})
	}
	next := func() <-chan string {
		ch := make(chan string, 1)
		go func() {
			if j := s.next(); j != nil {
				ch <- string(j.key)
			} else {
				ch <- "<closed>"
			}
		}()
		return ch
	}
	expect := func(ch <-chan string, want string) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("next = %q, want %q", got, want)
			}
		case <-time.After(walkTimeout):
			t.Fatalf("next blocked, want %q", want)
		}
	}
	blocked := func(ch <-chan string) {
		t.Helper()
		select {
		case got := <-ch:
			t.Fatalf("next = %q past the limit", got)
		case <-time.After(50 * time.Millisecond):
		}
	}

	expect(next(), "a")
	s.listed(2) // at the limit
	pending := next()
	blocked(pending)

	// The consumer waits for "c": "b", then "c", may run; "d" may not.
	need := make(chan struct{})
	waited := make(chan struct{})
	go func() {
		s.wait(need, []byte("c"))
		close(waited)
	}()
	expect(pending, "b")
	expect(next(), "c")
	close(need)
	<-waited
	pending = next()
	blocked(pending)

	s.consumed(1) // below the limit again
	expect(pending, "d")
	pending = next()
	blocked(pending) // nothing left
	s.close()
	expect(pending, "<closed>")
}

// TestSchedStarved: a listing hashes small files itself unless more workers wait for a
// job than there are workers beyond the CPUs.
func TestSchedStarved(t *testing.T) {
	for _, tc := range []struct {
		spare, idle int
		want        bool
	}{
		{0, 0, false}, {0, 1, true}, {2, 1, false}, {2, 2, false}, {2, 3, true}, {-1, 1, true},
	} {
		s := newSched(1<<16, tc.spare)
		var started, done sync.WaitGroup
		for range tc.idle {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				started.Done()
				s.next()
			}()
		}
		started.Wait()
		deadline := time.Now().Add(walkTimeout)
		for s.idle.Load() < int32(tc.idle) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := s.starved(); got != tc.want {
			t.Errorf("spare %d, %d idle: starved = %v, want %v", tc.spare, tc.idle, got, tc.want)
		}
		s.close()
		done.Wait()
	}
}
