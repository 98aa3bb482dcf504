package baseline

import (
	"bytes"
	"encoding/binary"
	"fim/tree"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The entries bucket holds blocks of consecutive entries, each stored under the key of
// its first entry:
//
//	version  len(record) record  { shared len(suffix) suffix len(record) record }
//
// Every key after the first is stored as the length of the prefix it shares with the
// key before it (the longest: keys in a block strictly increase) and the rest; every
// record after the first relative to the first (AppendRecord). A block is closed
// before an entry would take its key, value and bbolt's element header past
// blockLimit, so that two blocks fill a 4 KiB page; an entry larger than that alone
// makes a block of its own.
const (
	blockLimit    = 2040
	elementHeader = 16 // bbolt's leaf element header
)

// blockWriter builds one block.
type blockWriter struct {
	key, val []byte     // the first entry's key; the block so far
	last     []byte     // the last key added
	ref      tree.Entry // the first entry (its scalar fields)
	n        int
	rec      []byte
}

// add appends e, under key, to the block and reports true, or reports false and adds
// nothing when the block holds entries and e would take it past blockLimit.
func (b *blockWriter) add(key []byte, e *tree.Entry) bool {
	if b.n == 0 {
		b.rec = AppendRecord(b.rec[:0], e, &tree.Entry{})
		b.key = append(b.key[:0], key...)
		b.val = append(b.val[:0], recordVersion)
		b.val = binary.AppendUvarint(b.val, uint64(len(b.rec)))
		b.val = append(b.val, b.rec...)
		b.ref = *e
		b.ref.Xattrs, b.ref.LinkTarget = nil, ""
	} else {
		b.rec = AppendRecord(b.rec[:0], e, &b.ref)
		shared := commonPrefix(key, b.last)
		suffix := key[shared:]
		size := uvarintLen(uint64(shared)) + uvarintLen(uint64(len(suffix))) + len(suffix) +
			uvarintLen(uint64(len(b.rec))) + len(b.rec)
		if elementHeader+len(b.key)+len(b.val)+size > blockLimit {
			return false
		}
		b.val = binary.AppendUvarint(b.val, uint64(shared))
		b.val = binary.AppendUvarint(b.val, uint64(len(suffix)))
		b.val = append(b.val, suffix...)
		b.val = binary.AppendUvarint(b.val, uint64(len(b.rec)))
		b.val = append(b.val, b.rec...)
	}
	b.last = append(b.last[:0], key...)
	b.n++
	return true
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// errKeyOrder is the error for a key not after the one before it, or not stored as the
// longest prefix it shares with it.
var errKeyOrder = fmt.Errorf("%w: key out of order or not sharing its longest prefix", errRecord)

// blockReader reads the entries of one block, in order. It accepts only what
// blockWriter writes.
type blockReader struct {
	blockKey, rest []byte
	size           int    // bytes of the block
	key            []byte // the current entry's key
	rec, first     []byte // the current entry's record, and the first entry's
	n              int    // entries read
	ref            tree.Entry
	refOK          bool // ref holds the first entry, decoded
}

// reset starts reading the block val stored under key: next moves to its first entry.
func (br *blockReader) reset(key, val []byte) error {
	br.blockKey, br.rest, br.size, br.n, br.refOK = key, val, len(val), 0, false
	br.key, br.rec, br.first = br.key[:0], nil, nil
	switch {
	case len(val) == 0:
		return fmt.Errorf("%w: empty block", errRecord)
	case val[0] != recordVersion:
		return fmt.Errorf("%w: unknown record version %d", errRecord, val[0])
	case len(val) == 1:
		return fmt.Errorf("%w: block holds no entry", errRecord)
	}
	br.rest = val[1:]
	return nil
}

// next moves to the next entry of the block, and reports false after the last.
func (br *blockReader) next() (bool, error) {
	if len(br.rest) == 0 {
		return false, nil
	}
	d := decoder{b: br.rest}
	if br.n == 0 {
		br.key = append(br.key[:0], br.blockKey...)
	} else {
		if br.n == 1 && elementHeader+len(br.blockKey)+br.size > blockLimit {
			return false, fmt.Errorf("%w: block of %d bytes holds more than one entry", errRecord, br.size)
		}
		shared := d.uvarint("shared key length")
		suffix := d.bytes(d.uvarint("key suffix length"), "key suffix")
		switch {
		case d.err != nil:
			return false, d.err
		case shared > uint64(len(br.key)):
			return false, fmt.Errorf("%w: key shares %d bytes of %d", errRecord, shared, len(br.key))
		case len(suffix) == 0 || shared < uint64(len(br.key)) && suffix[0] <= br.key[shared]:
			return false, errKeyOrder
		}
		br.key = append(br.key[:shared], suffix...)
	}
	rec := d.bytes(d.uvarint("record length"), "record")
	if d.err != nil {
		return false, d.err
	}
	if br.n == 0 {
		br.first = rec
	}
	br.rec, br.rest = rec, d.b
	br.n++
	return true, nil
}

// find reads the block from its first entry as far as key and reports whether key is
// there; if so that entry is current, for decode. It compares each key with key without
// rebuilding it, from the length of the prefix the two share: a key that shares more of
// the key before it than that is before key too, one that shares less is after it. It
// checks the bounds of all it reads, and the order of the keys only where that costs
// nothing: Iter.Entries checks the rest. After it reports false the reader is spent: next would
// rebuild the keys after it wrongly, and only reset starts it again.
func (br *blockReader) find(key []byte) (bool, error) {
	if ok, err := br.next(); !ok || err != nil {
		return ok, err
	}
	cur := br.blockKey
	m, n := commonPrefix(cur, key), len(cur) // the prefix the current key shares with key; its length
	var at byte                              // the current key's byte at m, if m < n
	if m < n {
		at = cur[m]
	}
	for {
		switch {
		case m == n && m == len(key):
			br.key = append(br.key[:0], key...)
			return true, nil
		case m < n && (m == len(key) || at > key[m]):
			return false, nil // the current key is after key
		}
		if len(br.rest) == 0 {
			return false, nil
		}
		if br.n == 1 && elementHeader+len(br.blockKey)+br.size > blockLimit {
			return false, fmt.Errorf("%w: block of %d bytes holds more than one entry", errRecord, br.size)
		}
		d := decoder{b: br.rest}
		shared := d.uvarint("shared key length")
		suffix := d.bytes(d.uvarint("key suffix length"), "key suffix")
		rec := d.bytes(d.uvarint("record length"), "record")
		switch {
		case d.err != nil:
			return false, d.err
		case shared > uint64(n):
			return false, fmt.Errorf("%w: key shares %d bytes of %d", errRecord, shared, n)
		case len(suffix) == 0:
			return false, errKeyOrder
		}
		br.rec, br.rest = rec, d.b
		br.n++
		s := int(shared)
		switch {
		case s > m: // the same prefix as the key before, and the same byte after it
		case s < m: // its byte at s follows the key before's, which is key's
			if suffix[0] <= key[s] {
				return false, errKeyOrder
			}
			return false, nil
		default:
			if m < n && suffix[0] <= at {
				return false, errKeyOrder
			}
			l := commonPrefix(suffix, key[m:])
			m += l
			if l < len(suffix) {
				at = suffix[l]
			}
		}
		n = s + len(suffix)
	}
}

// commonPrefix returns the length of the prefix a and b share.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// base returns the record the current one is relative to: nil for the first.
func (br *blockReader) base() []byte {
	if br.n == 1 {
		return nil
	}
	return br.first
}

// decode decodes the current entry into e, whose Path the caller sets.
func (br *blockReader) decode(e *tree.Entry) error {
	if br.n == 1 {
		return DecodeRecord(br.rec, &tree.Entry{}, e)
	}
	if !br.refOK {
		if err := decodeRecord(br.first, &tree.Entry{}, &br.ref, true); err != nil {
			return err
		}
		br.refOK = true
	}
	return DecodeRecord(br.rec, &br.ref, e)
}

// entryCursor walks the entries of the blocks of a bucket in key order.
type entryCursor struct {
	c *bolt.Cursor
	// copy, if set, makes the cursor read a copy of each block rather than the mapping,
	// and onBlock, if set, sees each block as it is loaded (before its entries).
	copy    bool
	onBlock func(k, v []byte) error
	k, v    []byte
	br      blockReader
}

// load starts reading block k, v; it reports false for none.
func (ec *entryCursor) load(k, v []byte) (bool, error) {
	if k == nil {
		return false, nil
	}
	if ec.copy {
		ec.k, ec.v = append(ec.k[:0], k...), append(ec.v[:0], v...)
		k, v = ec.k, ec.v
	}
	if ec.onBlock != nil {
		if err := ec.onBlock(k, v); err != nil {
			return false, err
		}
	}
	if err := ec.br.reset(k, v); err != nil {
		return false, err
	}
	return ec.step()
}

// step moves to the next entry of the loaded block.
func (ec *entryCursor) step() (bool, error) {
	return ec.br.next()
}

// first moves to the first entry, and reports false if there is none.
func (ec *entryCursor) first() (bool, error) { return ec.load(ec.c.First()) }

// next moves to the entry after the current one, and reports false after the last.
func (ec *entryCursor) next() (bool, error) {
	if ok, err := ec.step(); ok || err != nil {
		return ok, err
	}
	return ec.load(ec.c.Next())
}

// get moves to the entry recorded under key and reports true, or reports false.
func (ec *entryCursor) get(key []byte) (bool, error) {
	k, v := ec.c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		// The block that may hold key: the last whose first key is before it.
		if k == nil {
			k, v = ec.c.Last()
		} else {
			k, v = ec.c.Prev()
		}
		if k == nil {
			return false, nil // key comes before every block
		}
	}
	if err := ec.br.reset(k, v); err != nil {
		return false, err
	}
	return ec.br.find(key)
}

// seek moves to the first entry whose key is at or after key, and reports false if
// there is none.
func (ec *entryCursor) seek(key []byte) (bool, error) {
	// The block that holds key, if any: the last whose first key is at or before it.
	k, v := ec.c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		var pk, pv []byte
		if k == nil {
			pk, pv = ec.c.Last()
		} else {
			pk, pv = ec.c.Prev()
		}
		if pk == nil {
			pk, pv = ec.c.First() // key comes before every block
		}
		k, v = pk, pv
	}
	ok, err := ec.load(k, v)
	for ok && bytes.Compare(ec.br.key, key) < 0 {
		ok, err = ec.next()
	}
	return ok, err
}
