package baseline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fim/tree"
	"math"
	"strings"
	"testing"
)

// readBlock decodes every entry of the block val stored under key, as Next does.
func readBlock(key, val []byte) (keys [][]byte, entries []tree.Entry, err error) {
	var br blockReader
	if err := br.reset(key, val); err != nil {
		return nil, nil, err
	}
	for {
		ok, err := br.next()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return keys, entries, nil
		}
		var e tree.Entry
		if err := br.decode(&e); err != nil {
			return nil, nil, err
		}
		keys, entries = append(keys, bytes.Clone(br.key)), append(entries, e)
	}
}

// writeBlock encodes entries under keys as one block, and reports false if they do not
// fit in one.
func writeBlock(keys [][]byte, entries []tree.Entry) (key, val []byte, ok bool) {
	var bw blockWriter
	for i := range keys {
		if !bw.add(keys[i], &entries[i]) {
			return nil, nil, false
		}
	}
	return bw.key, bw.val, bw.n > 0
}

// testBlocks returns the blocks a baseline of n test entries is made of.
func testBlocks(n int) (keys, vals [][]byte) {
	var bw blockWriter
	for _, e := range testEntries(n) {
		key := tree.AppendKey(nil, e.Path)
		if !bw.add(key, e) {
			keys, vals = append(keys, bytes.Clone(bw.key)), append(vals, bytes.Clone(bw.val))
			bw = blockWriter{}
			bw.add(key, e)
		}
	}
	return append(keys, bw.key), append(vals, bw.val)
}

func TestBlockRoundTrip(t *testing.T) {
	keys, vals := testBlocks(500)
	if len(keys) < 5 {
		t.Fatalf("%d blocks, want several", len(keys))
	}
	var all []tree.Entry
	for i := range keys {
		if size := elementHeader + len(keys[i]) + len(vals[i]); size > blockLimit {
			t.Errorf("block %q takes %d bytes", keys[i], size)
		}
		ks, es, err := readBlock(keys[i], vals[i])
		if err != nil {
			t.Fatalf("block %q: %v", keys[i], err)
		}
		if !bytes.Equal(ks[0], keys[i]) {
			t.Errorf("block %q starts with %q", keys[i], ks[0])
		}
		all = append(all, es...)
	}
	want := testEntries(500)
	if len(all) != len(want) {
		t.Fatalf("%d entries read, want %d", len(all), len(want))
	}
	for i := range all {
		all[i].Path = want[i].Path
		if !equalEntries(&all[i], want[i]) {
			t.Fatalf("entry %d = %+v\nwant %+v", i, all[i], want[i])
		}
	}
}

func TestBlockDecodeErrors(t *testing.T) {
	es := testEntries(3)
	first := AppendRecord(nil, es[1], &tree.Entry{})
	later := AppendRecord(nil, es[2], es[1])
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	// block joins a block's parts: the version, then the first record, then each later
	// entry as shared, suffix, record.
	block := func(parts ...[]byte) []byte {
		b := []byte{recordVersion}
		b = append(append(b, uv(uint64(len(parts[0])))...), parts[0]...)
		for i := 1; i+2 < len(parts)+1; i += 3 {
			b = append(b, parts[i]...)
			b = append(append(b, uv(uint64(len(parts[i+1])))...), parts[i+1]...)
			b = append(append(b, uv(uint64(len(parts[i+2])))...), parts[i+2]...)
		}
		return b
	}
	valid := block(first, uv(2), []byte("c"), later)
	if _, _, err := readBlock([]byte("/ab"), valid); err != nil {
		t.Fatalf("the block the cases start from does not decode: %v", err)
	}
	tests := []struct {
		name string
		val  []byte
		want string
	}{
		{"empty", []byte{}, "empty block"},
		{"unknown version", append([]byte{recordVersion + 1}, valid[1:]...), "unknown record version 3"},
		{"no entry", []byte{recordVersion}, "holds no entry"},
		{"first record length past the end", []byte{recordVersion, 5, 1}, "record truncated"},
		{"first record length huge", append([]byte{recordVersion}, uv(math.MaxUint64)...), "record truncated"},
		{"first record bad", block([]byte{0}), "unknown type 0"},
		{"shared longer than the key before", block(first, uv(4), []byte("c"), later), "key shares 4 bytes of 3"},
		{"empty suffix", block(first, uv(3), nil, later), "out of order"},
		{"key equal to the one before", block(first, uv(2), []byte("b"), later), "out of order"},
		{"key before the one before", block(first, uv(2), []byte("a"), later), "out of order"},
		{"shared prefix not the longest", block(first, uv(1), []byte("ac"), later), "out of order"},
		{"suffix past the end", append(bytes.Clone(valid[:len(valid)-len(later)-3]), 9, 'c'), "key suffix truncated"},
		{"shared length cut", append(bytes.Clone(valid[:len(valid)-len(later)-4]), 0x80), "shared key length"},
		{"non-minimal shared length", block(first, []byte{0x82, 0x00}, []byte("c"), later), "shared key length"},
		{"later record bad", block(first, uv(2), []byte("c"), append(bytes.Clone(later), 0)), "1 trailing bytes"},
		{"trailing byte", append(bytes.Clone(valid), 0), "key suffix length"},
		{"more than one entry past the limit", block(first, uv(3), bytes.Repeat([]byte("x"), blockLimit), later),
			"holds more than one entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readBlock([]byte("/ab"), tt.val)
			if err == nil {
				t.Fatalf("block %x decodes", tt.val)
			}
			if !errors.Is(err, errRecord) {
				t.Errorf("error %v does not wrap errRecord", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// FuzzDecodeBlock checks that a block either fails to decode or is the one encoding of
// the entries it yields, and that looking a key up in it (as Get does) never panics and,
// in a block that decodes, finds exactly the keys it holds.
func FuzzDecodeBlock(f *testing.F) {
	keys, vals := testBlocks(300)
	for i := range keys {
		f.Add(keys[i], vals[i], keys[i])
		f.Add(keys[i], vals[i], append(bytes.Clone(keys[i]), 0))
	}
	f.Add([]byte("/ab"), []byte{recordVersion}, []byte("/ab"))
	f.Fuzz(func(t *testing.T, key, val, probe []byte) {
		var br blockReader
		found, findErr := false, br.reset(key, val)
		if findErr == nil {
			found, findErr = br.find(probe)
		}
		ks, es, err := readBlock(key, val)
		if err != nil {
			if !errors.Is(err, errRecord) {
				t.Fatalf("error %v does not wrap errRecord", err)
			}
			return
		}
		k2, v2, ok := writeBlock(ks, es)
		if !ok || !bytes.Equal(k2, key) || !bytes.Equal(v2, val) {
			t.Fatalf("not canonical:\n in %q %x\nout %q %x (fits: %v)", key, val, k2, v2, ok)
		}
		in := false
		for _, k := range ks {
			in = in || bytes.Equal(k, probe)
		}
		if findErr != nil || found != in {
			t.Fatalf("find(%q) = %v, %v in a block of %q", probe, found, findErr, ks)
		}
		if found {
			var e tree.Entry
			if err := br.decode(&e); err != nil || !bytes.Equal(br.key, probe) {
				t.Fatalf("find(%q) rests on %q: %v", probe, br.key, err)
			}
		}
	})
}
