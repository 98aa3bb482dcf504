package baseline

import (
	"bytes"
	"fmt"

	"fim/tree"
)

// The copies bucket keeps, beside the records, what a content_diff rule keeps of a
// regular file: under the file's key, one byte of tree.NoCopy, then, when it is
// tree.CopyNone, the copy itself (a zstd frame, opaque here). The meta counts the
// copies and the reasons (Meta.Copies, CopyBytes, NoCopies) and its Digest covers them:
// BLAKE3 over every (key, value) of the bucket in key order, sealed after the records'
// (seal), so that an altered, added or removed copy makes the baseline fail as an
// altered record does. The bucket is absent from a baseline that keeps none.
var bucketCopies = []byte("copies")

// addCopy stores what e carries of its content, if anything, under key.
func (w *Writer) addCopy(key []byte, e *tree.Entry) error {
	if e.Copy == nil && e.NoCopy == tree.CopyNone {
		return nil
	}
	if w.copies == nil {
		b, err := w.tx.CreateBucketIfNotExists(bucketCopies)
		if err != nil {
			return fmt.Errorf("write %s: %w", w.tmp, err)
		}
		b.FillPercent = 1.0
		w.copies, w.cdig = b, newDigest()
	}
	start := len(w.arena)
	w.arena = append(w.arena, key...)
	w.arena = append(w.arena, byte(e.NoCopy))
	if e.NoCopy == tree.CopyNone {
		w.arena = append(w.arena, e.Copy...)
		w.stats.Copies++
		w.stats.CopyBytes += uint64(len(e.Copy))
	} else {
		w.stats.NoCopies++
	}
	k := w.arena[start : start+len(key) : start+len(key)]
	v := w.arena[start+len(key) : len(w.arena) : len(w.arena)]
	if err := w.copies.Put(k, v); err != nil {
		return fmt.Errorf("write %s: %w", w.tmp, err)
	}
	w.cdig.add(k, v)
	return nil
}

// CopyStats counts what a baseline keeps of files' content.
type CopyStats struct {
	Copies    uint64 `json:"copies,omitempty"`     // files whose copy is kept
	CopyBytes uint64 `json:"copy_bytes,omitempty"` // their compressed size
	NoCopies  uint64 `json:"no_copies,omitempty"`  // files with a reason for none
}

// checkCopies digests the copies bucket and checks it against the meta: the part of
// the digest Iter seals after the records. It returns the copies' digest, nil when
// the meta counts none (and then the bucket must hold none).
func (r *Reader) checkCopies() ([]byte, error) {
	want := r.meta.CopyStats
	b := r.tx.Bucket(bucketCopies)
	if want == (CopyStats{}) {
		if b != nil && b.Stats().KeyN != 0 {
			return nil, fmt.Errorf("copies the meta does not count")
		}
		return nil, nil
	}
	if b == nil {
		return nil, fmt.Errorf("the copies the meta counts are missing")
	}
	d := newDigest()
	var got CopyStats
	var last []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if last != nil && bytes.Compare(k, last) <= 0 || len(v) == 0 || !tree.NoCopy(v[0]).Valid() {
			return nil, fmt.Errorf("copy of %q is malformed", pathOf(r.meta.KeyBase, k))
		}
		last = append(last[:0], k...)
		if tree.NoCopy(v[0]) == tree.CopyNone {
			got.Copies++
			got.CopyBytes += uint64(len(v) - 1)
		} else {
			got.NoCopies++
		}
		d.add(k, v)
	}
	if got != want {
		return nil, fmt.Errorf("copies do not match the counts in its meta")
	}
	return d.h.Sum(nil), nil
}

// Copy returns what the baseline keeps of the content of the file recorded at path:
// its copy (a zstd frame, see package textcopy) or why there is none; ok is false when
// it keeps nothing for the path. The copies are proved with the records, by a full
// Iter or Validate: a caller relies on Copy only after one.
func (r *Reader) Copy(path string) (frame []byte, why tree.NoCopy, ok bool, err error) {
	defer guard(r.path, &err, func() { frame, ok = nil, false })()
	b := r.tx.Bucket(bucketCopies)
	if b == nil {
		return nil, 0, false, nil
	}
	key, in := keyOf(r.meta.KeyBase, path)
	if !in {
		return nil, 0, false, nil
	}
	v := b.Get(key)
	if len(v) == 0 {
		return nil, 0, false, nil
	}
	if !tree.NoCopy(v[0]).Valid() {
		return nil, 0, false, bad(r.path, "copy of %q is malformed", path)
	}
	return bytes.Clone(v[1:]), tree.NoCopy(v[0]), true, nil
}

// attachCopy gives e, read from the records, what the baseline keeps of its content
// (tree.Entry.Copy, NoCopy), so that an entry read from a baseline and written to its
// successor (an accept's carried records, watch --update's state) keeps its copy.
// Iter, Get and Subtree call it on every entry they return; a baseline that keeps no
// copies costs one bucket lookup per entry. Like Copy, it is proved by a full Iter.
func (r *Reader) attachCopy(e *tree.Entry) error {
	if e.Type != tree.TypeFile || r.meta.CopyStats == (CopyStats{}) {
		return nil
	}
	frame, why, ok, err := r.Copy(e.Path)
	if ok {
		e.Copy, e.NoCopy = frame, why
		if why != tree.CopyNone {
			e.Copy = nil
		}
	}
	return err
}

// CopyStats returns what the baseline counts of its copies.
func (r *Reader) CopyStats() CopyStats { return r.meta.CopyStats }
