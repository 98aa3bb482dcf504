package provenance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"fim/diff"
	"fim/tree"
)

// The writer journal is fim watch's record, kept beside the baseline, of who wrote each
// path it saw change: one JSON line per event, with the entry as it was after the write
// and each writer's lineage (diff.Lineage). It does not change what the baseline
// records. fim check reads it to tell a maintainer script's change from another: a
// change whose last journal record names only package-manager descendants, and whose
// current state is the state that record saw, is a script verdict (Annotator); a later
// edit by anyone else, seen by the watch or not, leaves the path unexplained.
//
// The journal is append-only, bounded by JournalMax: when an append would pass it, the
// oldest half of the records is dropped, in place (the file keeps its inode: it stays
// one of fim's own files, walk.OwnFiles). A record cut by a crash or read while it is
// written (a last line with no newline) is left out; any other damage is a warning of
// one line, and then no change is explained by the journal. The journal is not synced
// after each append: what a crash loses falls back to the package digests.

// JournalMax bounds the journal's size.
const JournalMax = 4 << 20

// JournalPath is where the journal of the baseline db is kept ("" for none).
func JournalPath(db string) string {
	if db == "" {
		return ""
	}
	return db + ".journal"
}

// journalRecord is one line of the journal.
type journalRecord struct {
	Path    []byte          `json:"path"`
	Time    time.Time       `json:"time"`
	State   *journalState   `json:"state"` // after the write; nil: removed
	Writers []journalWriter `json:"writers"`
}

// journalState is what a record says of the entry after the write: what a later
// change of content, owner, mode or times would show.
type journalState struct {
	Type   string `json:"type"`
	Mode   uint32 `json:"mode"`
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime"`
	Hash   string `json:"hash,omitempty"` // hex of tree.Entry.Hash; "" when not hashed
	Target []byte `json:"target,omitempty"`
}

// journalWriter is a writer's lineage summary.
type journalWriter struct {
	PID     int    `json:"pid"`
	Name    string `json:"name,omitempty"`
	Manager string `json:"manager,omitempty"`
	Package string `json:"package,omitempty"`
	Script  string `json:"script,omitempty"`
}

func journalStateOf(e *tree.Entry) *journalState {
	if e == nil {
		return nil
	}
	s := &journalState{Type: e.Type.String(), Mode: e.Mode, UID: e.UID, GID: e.GID, Size: e.Size, Mtime: e.Mtime,
		Target: []byte(e.LinkTarget)}
	if e.Hashed() {
		s.Hash = hex.EncodeToString(e.Hash[:])
	}
	return s
}

// sameJournalState says whether a and b are one state of an entry. A directory's size
// and mtime are left out: they move whenever an entry is made or removed in it, as a
// maintainer script does in the directory it has just made, and each such entry has
// an event of its own (a check does not report a directory for them either).
func sameJournalState(a, b *journalState) bool {
	if a == nil || b == nil {
		return a == b
	}
	dir := a.Type == "dir" && b.Type == "dir"
	return a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && (dir || a.Size == b.Size &&
		a.Mtime == b.Mtime) && a.Hash == b.Hash && bytes.Equal(a.Target, b.Target)
}

// explains returns the lineage summary that explains r ("" for none): every writer
// descends from a package manager.
func (r *journalRecord) explains() string {
	if len(r.Writers) == 0 {
		return ""
	}
	var l *diff.Lineage
	for _, w := range r.Writers {
		if w.Manager == "" {
			return ""
		}
		l = &diff.Lineage{Manager: w.Manager, Package: w.Package, Script: w.Script}
	}
	return l.String()
}

// Journal appends to the journal of a baseline; it is not safe for concurrent use.
type Journal struct {
	f    *os.File
	size int64
}

// OpenJournal opens (creating it) the journal of the baseline db for appending. A
// record cut short by a crash is dropped.
func OpenJournal(db string) (*Journal, error) {
	p := JournalPath(db)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case !st.Mode().IsRegular():
		err = fmt.Errorf("not a regular file")
	case st.Size() > 2*JournalMax:
		err = fmt.Errorf("%d bytes, more than fim writes", st.Size())
	}
	j := &Journal{f: f}
	if err == nil {
		data := make([]byte, st.Size())
		if _, err = f.ReadAt(data, 0); err == nil {
			j.size = int64(bytes.LastIndexByte(data, '\n') + 1)
			err = f.Truncate(j.size)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", p, err)
	}
	return j, nil
}

// File is the journal's file, one of fim's own.
func (j *Journal) File() *os.File { return j.f }

// Close closes the journal.
func (j *Journal) Close() error { return j.f.Close() }

// Append records the events, seen at, with the state of each path after the event and
// the lineage of its writers (none: an unknown writer, which explains nothing).
func (j *Journal) Append(events []diff.Event, at time.Time) error {
	var buf []byte
	for i := range events {
		ev := &events[i]
		r := journalRecord{Path: []byte(ev.Path), Time: at.UTC(), State: journalStateOf(ev.After), Writers: []journalWriter{}}
		ws := ev.Writers
		if ws == nil && ev.Process != nil {
			ws = []*diff.Process{ev.Process}
		}
		for _, p := range ws {
			w := journalWriter{PID: p.PID, Name: p.Name}
			if l := p.Lineage; l != nil {
				w.Manager, w.Package, w.Script = l.Manager, l.Package, l.Script
			}
			r.Writers = append(r.Writers, w)
		}
		line, err := json.Marshal(&r)
		if err != nil {
			return fmt.Errorf("journal %s: %w", j.f.Name(), err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if j.size+int64(len(buf)) > JournalMax {
		if err := j.compact(JournalMax/2 - int64(len(buf))); err != nil {
			return err
		}
	}
	if _, err := j.f.WriteAt(buf, j.size); err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	j.size += int64(len(buf))
	return nil
}

// compact keeps the newest whole records within keep bytes (none when keep <= 0).
func (j *Journal) compact(keep int64) error {
	data := make([]byte, j.size)
	if _, err := j.f.ReadAt(data, 0); err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	if keep < 0 {
		keep = 0
	}
	cut := int64(len(data)) - keep
	if cut < int64(len(data)) {
		if i := bytes.IndexByte(data[max(cut-1, 0):], '\n'); i >= 0 {
			cut = max(cut-1, 0) + int64(i) + 1
		}
	}
	cut = min(cut, int64(len(data)))
	if cut == 0 { // keep everything: nothing to drop
		return nil
	}
	kept := data[cut:]
	if _, err := j.f.WriteAt(kept, 0); err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	if err := j.f.Truncate(int64(len(kept))); err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	j.size = int64(len(kept))
	return nil
}

// parseJournal returns the last record of each path in a journal at or after since.
// A last line without its newline is one being written, left out; any other line that
// is not a record is an error naming it.
func parseJournal(data []byte, since time.Time) (map[string]*journalRecord, error) {
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	out := map[string]*journalRecord{}
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		line := data[:i]
		data = data[i+1:]
		var r journalRecord
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if d.More() || len(r.Path) == 0 || r.Path[0] != '/' || r.Time.IsZero() || r.Writers == nil {
			return nil, fmt.Errorf("line %d: not a journal record", n)
		}
		if !r.Time.Before(since) {
			out[string(r.Path)] = &r
		}
	}
	return out, nil
}

// readJournal reads the journal at p: nil and no error when there is none.
func readJournal(p string, since time.Time) (map[string]*journalRecord, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file")
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(f, 2*JournalMax+1))
	}
	if err == nil && len(data) > 2*JournalMax {
		err = fmt.Errorf("more than %d bytes, more than fim writes", 2*JournalMax)
	}
	var recs map[string]*journalRecord
	if err == nil {
		recs, err = parseJournal(data, since)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w; no change is explained by it", p, err)
	}
	return recs, nil
}
