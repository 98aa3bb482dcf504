// Package terminal owns what fim draws on a terminal: the progress line of a long
// walk, and whether a stream is a terminal that wants colour. It draws nothing on a
// stream that is not a terminal.
package terminal

import (
	"fim/tree"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Progress draws one line on a terminal while a long walk runs: entries, bytes hashed,
// rate and, when the number of entries to expect is known, the time left. It draws
// nothing unless its output is a terminal.
type Progress struct {
	w       io.Writer
	verb    string
	total   int64 // entries expected; 0: unknown
	start   time.Time
	entries atomic.Int64
	bytes   atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// StartProgress starts drawing on stderr when it is a terminal and quiet is false;
// otherwise the progress it returns only counts.
func StartProgress(verb string, total uint64, quiet bool) *Progress {
	p := &Progress{w: os.Stderr, verb: verb, total: int64(total), start: time.Now()}
	if quiet || !IsTerminal(os.Stderr) {
		return p
	}
	p.stop = make(chan struct{})
	p.done.Add(1)
	go p.run(250 * time.Millisecond)
	return p
}

// Add counts one entry; it is called as the walk yields it.
func (p *Progress) Add(e *tree.Entry) {
	p.entries.Add(1)
	if e.Hashed() {
		p.bytes.Add(e.Size)
	}
}

func (p *Progress) run(every time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\x1b[K") // leave the line clean for the report
			return
		case <-t.C:
			fmt.Fprint(p.w, "\r\x1b[K"+p.line(time.Since(p.start)))
		}
	}
}

// line renders the progress after elapsed time.
func (p *Progress) line(elapsed time.Duration) string {
	n, b := p.entries.Load(), p.bytes.Load()
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(b) / secs
	}
	s := fmt.Sprintf("fim: %s: %d", p.verb, n)
	if p.total > 0 {
		s += fmt.Sprintf("/%d", p.total)
	}
	s += fmt.Sprintf(" entries, %s hashed, %s/s", humanBytes(float64(b)), humanBytes(rate))
	if p.total > 0 && n > 0 && n < p.total {
		left := time.Duration(float64(elapsed) * float64(p.total-n) / float64(n))
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	return s
}

// Finish stops drawing and clears the line.
func (p *Progress) Finish() {
	if p.stop != nil {
		close(p.stop)
		p.done.Wait()
		p.stop = nil
	}
}

// humanBytes renders a byte count with a decimal unit: 512 B, 1.5 MB, 5.5 GB.
func humanBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for b >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// Colorful reports whether stdout is a terminal that wants colour: not with NO_COLOR
// set, nor with TERM=dumb.
func Colorful() bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(os.Stdout)
}
