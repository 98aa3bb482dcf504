package walk

import (
	"bytes"
	"container/heap"
	"fim/tree"
	"sync"
	"sync/atomic"
)

// A job is one unit of work for the pool: list a directory (i < 0) or hash entry i of it.
type job struct {
	key []byte // ordering key of the directory or file: smaller keys are needed sooner
	n   *node
	i   int
	// e and a are entry i of n and what is known of it, taken when the job is made: the
	// listing goes on appending to n.entries while the entry is hashed.
	e *tree.Entry
	a *aux
	// maxSize is the MaxFileSize of the entry's root, which may be another than n's.
	maxSize int64
}

type jobHeap []*job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return bytes.Compare(h[i].key, h[j].key) < 0 }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// sched hands jobs to the workers smallest key first, which is the order in which the
// consumer needs their results. So that memory stays bounded when the consumer waits
// (on a large file, say), workers stop taking jobs once more than limit listed entries
// wait to be consumed, except the job the consumer itself waits for.
type sched struct {
	mu         sync.Mutex
	cond       sync.Cond
	q          jobHeap
	unconsumed int
	limit      int
	waitKey    []byte // key the consumer is blocked on, nil when it is not
	closed     bool
	idle       atomic.Int32 // workers waiting for a job
	spare      int32        // workers beyond the CPUs: that many may wait without a CPU idling
}

func newSched(limit, spare int) *sched {
	s := &sched{limit: limit, spare: int32(max(spare, 0))}
	s.cond.L = &s.mu
	return s
}

func (s *sched) push(j *job) {
	s.mu.Lock()
	heap.Push(&s.q, j)
	s.mu.Unlock()
	s.cond.Signal()
}

// next blocks until a job may run, or returns nil once the scheduler is closed.
func (s *sched) next() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil
		}
		if len(s.q) > 0 && (s.unconsumed < s.limit ||
			s.waitKey != nil && bytes.Compare(s.q[0].key, s.waitKey) <= 0) {
			return heap.Pop(&s.q).(*job)
		}
		s.idle.Add(1)
		s.cond.Wait()
		s.idle.Add(-1)
	}
}

// starved reports whether more workers wait for a job than there are workers beyond
// the CPUs: a CPU may then idle, and work done in place of a new job keeps it waiting.
func (s *sched) starved() bool { return s.idle.Load() > s.spare }

// listed accounts for n entries produced by a listing.
func (s *sched) listed(n int) {
	s.mu.Lock()
	s.unconsumed += n
	s.mu.Unlock()
}

// consumed accounts for n entries handed to the consumer.
func (s *sched) consumed(n int) {
	s.mu.Lock()
	wake := s.unconsumed >= s.limit && s.unconsumed-n < s.limit
	s.unconsumed -= n
	s.mu.Unlock()
	if wake {
		s.cond.Broadcast()
	}
}

// wait blocks the consumer on ch, telling the workers which key it needs.
func (s *sched) wait(ch <-chan struct{}, key []byte) {
	select {
	case <-ch:
		return
	default:
	}
	s.mu.Lock()
	s.waitKey = key
	s.mu.Unlock()
	s.cond.Broadcast()
	<-ch
	s.mu.Lock()
	s.waitKey = nil
	s.mu.Unlock()
}

func (s *sched) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Broadcast()
}
