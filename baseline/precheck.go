package baseline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"os"

	"fim/walk"
)

// bbolt's on-disk meta page, as far as the checks below need it.
const (
	boltMagic      = 0xED0CDAED
	pageHeaderSize = 16
	metaSize       = 56 // magic .. txid, followed by the checksum
)

// precheck looks at the file before bbolt maps it, to tell a missing, empty, truncated or
// foreign file apart with a clear message, and so that bbolt never maps a file shorter
// than its own meta says. It returns the file, open, when it passes.
func precheck(path string) (_ *os.File, err error) {
	f, err := walk.OpenInput(path, false) // never blocks on a FIFO
	if errors.Is(err, os.ErrNotExist) {
		return nil, bad(path, "no baseline (run 'fim baseline' first)")
	}
	if errors.Is(err, walk.ErrNotRegular) {
		return nil, bad(path, "not a regular file")
	}
	if err != nil {
		return nil, bad(path, "%v", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, bad(path, "%v", err)
	}
	if st.Size() == 0 {
		return nil, bad(path, "empty file")
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if kind := foreign(head); kind != "" {
		return nil, bad(path, "not a fim database (%s)", kind)
	}
	best, ok := boltMeta(head)
	if !ok {
		// The first meta page may be damaged: bbolt falls back to the second.
		if n == 4096 {
			if pageSize := binary.LittleEndian.Uint32(head[pageHeaderSize+8:]); pageSize >= 512 && pageSize <= 1<<16 {
				second := make([]byte, pageSize)
				if _, err := f.ReadAt(second, int64(pageSize)); err == nil {
					best, ok = boltMeta(second)
				}
			}
		}
		if !ok {
			return nil, bad(path, "not a fim database (no valid bbolt header)")
		}
	}
	if need := int64(best.pgid) * int64(best.pageSize); st.Size() < need {
		return nil, bad(path, "truncated: %d bytes, its header says %d", st.Size(), need)
	}
	return f, nil
}

type boltHeader struct {
	pageSize uint32
	pgid     uint64
}

// boltMeta decodes and checksums the bbolt meta at the start of a page.
func boltMeta(page []byte) (boltHeader, bool) {
	if len(page) < pageHeaderSize+metaSize+8 {
		return boltHeader{}, false
	}
	m := page[pageHeaderSize:]
	if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
		return boltHeader{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaSize])
	if h.Sum64() != binary.LittleEndian.Uint64(m[metaSize:]) {
		return boltHeader{}, false
	}
	return boltHeader{pageSize: binary.LittleEndian.Uint32(m[8:]), pgid: binary.LittleEndian.Uint64(m[40:])}, true
}

// foreign names well-known formats that people point fim at by mistake.
func foreign(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip data; an AIDE database is usually gzip-compressed"
	case bytes.HasPrefix(head, []byte("@@begin_db")), bytes.Contains(head[:min(len(head), 512)], []byte("\n@@begin_db")):
		return "an AIDE database"
	case bytes.HasPrefix(head, []byte("SQLite format 3\x00")):
		return "an SQLite database"
	case bytes.HasPrefix(head, []byte("#mtree")), bytes.HasPrefix(head, []byte("#\t   user:")):
		return "an mtree specification"
	case bytes.HasPrefix(head, []byte("#")):
		return "a text file"
	}
	return ""
}
