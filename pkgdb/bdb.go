package pkgdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The Berkeley DB hash file rpm's Packages is (rpm 4.15 and before, RHEL 8 and
// CentOS 7): a metadata page, then hash pages whose items are key/value pairs, a value
// either on the page or in a chain of overflow pages. Layouts from Berkeley DB's
// dbinc/db_page.h (DBMETA, HMETA, PAGE, HKEYDATA, HOFFPAGE).
const (
	bdbHashMagic     = 0x061561
	bdbPageHeader    = 26
	bdbHashUnsorted  = 2  // P_HASH_UNSORTED
	bdbOverflow      = 7  // P_OVERFLOW
	bdbHash          = 13 // P_HASH
	bdbItemKeyData   = 1  // H_KEYDATA
	bdbItemOffPage   = 3  // H_OFFPAGE
	bdbMaxPageNumber = 1 << 24
)

// readBDBHash returns the values of the Berkeley DB hash database r, in page order,
// leaving out rpm's record under key 0 (the next instance number). Duplicate items
// are not used by rpm and are an error, as is anything out of place.
func readBDBHash(r io.ReaderAt) ([][]byte, error) {
	meta := make([]byte, 72)
	if _, err := r.ReadAt(meta, 0); err != nil {
		return nil, fmt.Errorf("metadata page: %w", err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if bo.Uint32(meta[12:]) != bdbHashMagic {
		bo = binary.BigEndian
		if bo.Uint32(meta[12:]) != bdbHashMagic {
			return nil, errors.New("not a Berkeley DB hash database")
		}
	}
	pageSize := bo.Uint32(meta[20:])
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("page size %d", pageSize)
	}
	if meta[24] != 0 {
		return nil, errors.New("encrypted")
	}
	last := bo.Uint32(meta[32:])
	if last > bdbMaxPageNumber {
		return nil, fmt.Errorf("%d pages", last)
	}
	readPage := func(pgno uint32, buf []byte) error {
		if pgno == 0 || pgno > last {
			return fmt.Errorf("page %d out of 1..%d", pgno, last)
		}
		if _, err := r.ReadAt(buf, int64(pgno)*int64(pageSize)); err != nil {
			return fmt.Errorf("page %d: %w", pgno, err)
		}
		return nil
	}
	page := make([]byte, pageSize)
	ovf := make([]byte, pageSize)
	// value returns item i of the page: on the page, or gathered from its overflow chain.
	value := func(inp []uint16, i int) ([]byte, error) {
		end := uint32(pageSize)
		if i > 0 {
			end = uint32(inp[i-1])
		}
		off := uint32(inp[i])
		if off < bdbPageHeader+2*uint32(len(inp)) || off >= end || end > pageSize {
			return nil, fmt.Errorf("item %d at %d..%d", i, off, end)
		}
		item := page[off:end]
		switch item[0] {
		case bdbItemKeyData:
			return append([]byte(nil), item[1:]...), nil // the page buffer is reused
		case bdbItemOffPage:
			if len(item) < 12 {
				return nil, fmt.Errorf("item %d: short off-page item", i)
			}
			pgno, total := bo.Uint32(item[4:]), bo.Uint32(item[8:])
			if total > maxHeader {
				return nil, fmt.Errorf("item %d: %d bytes", i, total)
			}
			out := make([]byte, 0, min(total, 1<<20)) // grown as the chain is read
			for n := uint32(0); uint32(len(out)) < total; n++ {
				if n > last {
					return nil, fmt.Errorf("item %d: overflow pages in a loop", i)
				}
				if err := readPage(pgno, ovf); err != nil {
					return nil, err
				}
				if ovf[25] != bdbOverflow {
					return nil, fmt.Errorf("page %d: type %d, want overflow", pgno, ovf[25])
				}
				ln := uint32(bo.Uint16(ovf[22:]))
				if ln > pageSize-bdbPageHeader || uint32(len(out))+ln > total {
					return nil, fmt.Errorf("page %d: %d bytes of overflow", pgno, ln)
				}
				out = append(out, ovf[bdbPageHeader:bdbPageHeader+ln]...)
				pgno = bo.Uint32(ovf[16:])
				if ln == 0 && uint32(len(out)) < total {
					return nil, fmt.Errorf("page %d: empty overflow page", pgno)
				}
				if pgno == 0 && uint32(len(out)) < total {
					return nil, fmt.Errorf("item %d: overflow chain ends at %d of %d bytes", i, len(out), total)
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("item %d: type %d", i, item[0])
	}
	var out [][]byte
	for pgno := uint32(1); pgno <= last; pgno++ {
		if err := readPage(pgno, page); err != nil {
			return nil, err
		}
		if typ := page[25]; typ != bdbHash && typ != bdbHashUnsorted {
			continue
		}
		n := int(bo.Uint16(page[20:]))
		if n%2 != 0 || bdbPageHeader+2*n > int(pageSize) {
			return nil, fmt.Errorf("page %d: %d items", pgno, n)
		}
		inp := make([]uint16, n)
		for i := range inp {
			inp[i] = bo.Uint16(page[bdbPageHeader+2*i:])
		}
		for i := 0; i < n; i += 2 {
			key, err := value(inp, i)
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", pgno, err)
			}
			if len(key) == 4 && bo.Uint32(key) == 0 {
				continue // rpm's next instance number
			}
			v, err := value(inp, i+1)
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", pgno, err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}
