package tree

import "iter"

// Seq is how entries flow between packages: in key order (ComparePaths), each entry
// once, as a walk delivers them (walk.Walker.Walk), a baseline holds them
// (baseline.Reader.Entries), an image is read (check.ReadImage) or a slice is
// (Entries). An error is yielded once, with a nil entry, and ends the sequence; a
// consumer that stops early (break) stops the producer with it.
type Seq = iter.Seq2[*Entry, error]

// Entries is the Seq of es, which are in key order.
func Entries(es []*Entry) Seq {
	return func(yield func(*Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Pair is one path of a Merge: the entry of each side there, nil on the side that has
// none.
type Pair struct{ A, B *Entry }

// Merge is the one ordered merge of two entry sequences, each in key order: every path
// of either once, in key order, with the entries of a and b there. It ranges over b and
// pulls a as b goes, a run of entries at a time (see runs): a is read ahead of b by at
// most the entries up to and including the next directory of a, never below a
// directory b has not come to (a walk looks its entries up in a baseline when it
// lists the directory, before it yields it). An entry of a is yielded alone only once b
// has passed its path (or ended). The first error of either side is yielded and ends
// the merge.
func Merge(a, b Seq) iter.Seq2[Pair, error] {
	return func(yield func(Pair, error) bool) {
		nextRun, stop := iter.Pull2(runs(a))
		defer stop()
		var run []*Entry // what is left of the run of a being merged
		// next returns the next entry of a (more false at its end), pulling the next run
		// when this one is done: one switch to a's goroutine per run, not per entry.
		next := func() (x *Entry, err error, more bool) {
			if len(run) == 0 {
				if run, err, more = nextRun(); err != nil || !more {
					return nil, err, more
				}
			}
			x, run = run[0], run[1:]
			return x, nil, true
		}
		var pending *Entry // the next entry of a; nil once a has ended
		primed := false
		// upTo yields the entries of a that sort before e (all of them when e is nil)
		// alone, and returns the one at e's path, if any. ok false: the merge stops.
		upTo := func(e *Entry) (at *Entry, ok bool) {
			for {
				if !primed {
					x, err, more := next()
					if err != nil {
						yield(Pair{}, err)
						return nil, false
					}
					if !more {
						x = nil
					}
					pending, primed = x, true
				}
				if pending == nil {
					return nil, true
				}
				c := -1
				if e != nil {
					c = ComparePaths(pending.Path, e.Path)
				}
				if c > 0 {
					return nil, true
				}
				x := pending
				primed = false
				if c == 0 {
					return x, true
				}
				if !yield(Pair{A: x}, nil) {
					return nil, false
				}
			}
		}
		for e, err := range b {
			if err != nil {
				yield(Pair{}, err)
				return
			}
			at, ok := upTo(e)
			if !ok || !yield(Pair{A: at, B: e}, nil) {
				return
			}
		}
		upTo(nil)
	}
}

// runMax bounds a run of Merge's first side.
const runMax = 64

// runs is a in runs of at most runMax entries, each ending at the first directory in it:
// what Merge reads of a at once. A run is handed over in a buffer that is used again
// for the next run, once the consumer asks for that.
func runs(a Seq) iter.Seq2[[]*Entry, error] {
	return func(yield func([]*Entry, error) bool) {
		run := make([]*Entry, 0, runMax)
		for e, err := range a {
			if err != nil {
				if len(run) > 0 && !yield(run, nil) {
					return
				}
				yield(nil, err)
				return
			}
			if run = append(run, e); e.Type == TypeDir || len(run) == runMax {
				if !yield(run, nil) {
					return
				}
				run = run[:0]
			}
		}
		if len(run) > 0 {
			yield(run, nil)
		}
	}
}
