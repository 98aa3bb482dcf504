package pkgdb

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
)

// rpm header tags fim reads (rpm's rpmtag.h).
const (
	tagName           = 1000
	tagInstallTime    = 1008
	tagVersion        = 1001
	tagRelease        = 1002
	tagEpoch          = 1003
	tagArch           = 1022
	tagOldFilenames   = 1027
	tagFileSizes      = 1028
	tagFileModes      = 1030
	tagFileMtimes     = 1034
	tagFileDigests    = 1035
	tagFileLinkTos    = 1036
	tagFileFlags      = 1037
	tagFileUserName   = 1039
	tagFileGroupName  = 1040
	tagDirIndexes     = 1116
	tagBaseNames      = 1117
	tagDirNames       = 1118
	tagLongFileSizes  = 5008
	tagFileDigestAlgo = 5011
)

// rpm header value types.
const (
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeStringArray = 8
	typeI18NString  = 9
)

// rpm file flags (RPMFILE_*).
const (
	rpmConfig    = 1 << 0
	rpmDoc       = 1 << 1
	rpmMissingOK = 1 << 3
	rpmGhost     = 1 << 6
)

// rpmAlgorithms maps rpm's digest algorithm numbers (PGPHASHALGO_*) to names.
var rpmAlgorithms = map[int64]Algorithm{1: MD5, 2: SHA1, 8: SHA256, 9: SHA384, 10: SHA512, 11: SHA224}

// maxHeader bounds one header blob, far above real ones (a large package's is a few MiB).
const maxHeader = 256 << 20

// rpmHeader is the index of a header blob as the rpm database stores it: the entry
// count and data length, the entries, then the data.
type rpmHeader struct {
	entries map[int32]rpmEntry // a tag that appears twice: the later entry, as rpm reads it
	data    []byte
	// ril and rdl are the entries and data bytes of the immutable region (the header as
	// the package shipped it, which its signature covers): 0 when there is none.
	ril, rdl int
	// overridden are the tags of the region that an entry after it replaces.
	overridden []int32
}

type rpmEntry struct {
	typ, offset, count int32
	end                int32 // where the data the entry may be read from ends: the region's, or all
}

// The region tags: the first entry of a header that has an immutable region
// (HEADERIMMUTABLE; HEADERSIGNATURES and HEADERIMAGE in older ones), pointing to a
// trailer that gives the region's size.
const (
	tagHeaderImage      = 61
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63
	typeBin             = 7
)

// parseRPMHeader parses a header blob (without the 8-byte magic a package file has).
func parseRPMHeader(b []byte) (*rpmHeader, error) {
	if len(b) < 8 {
		return nil, errors.New("header shorter than 8 bytes")
	}
	il, dl := int64(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint32(b[4:]))
	if il > int64(len(b))/16 || 8+il*16+dl != int64(len(b)) {
		return nil, fmt.Errorf("header of %d entries and %d data bytes in a blob of %d bytes", il, dl, len(b))
	}
	h := &rpmHeader{entries: make(map[int32]rpmEntry, il), data: b[8+il*16:]}
	entry := func(i int64) (int32, rpmEntry) {
		e := b[8+i*16:]
		return int32(binary.BigEndian.Uint32(e)), rpmEntry{int32(binary.BigEndian.Uint32(e[4:])), int32(binary.BigEndian.Uint32(e[8:])),
			int32(binary.BigEndian.Uint32(e[12:])), int32(dl)}
	}
	if il > 0 {
		if tag, ent := entry(0); (tag == tagHeaderImmutable || tag == tagHeaderSignatures || tag == tagHeaderImage) &&
			ent.typ == typeBin && ent.count == 16 && ent.offset >= 0 && int64(ent.offset)+16 <= dl {
			trailer := int32(binary.BigEndian.Uint32(h.data[ent.offset+8:]))
			if trailer < 0 && -int64(trailer)%16 == 0 && -int64(trailer)/16 <= il {
				h.ril, h.rdl = int(-trailer/16), int(ent.offset)+16
			}
		}
	}
	region := map[int32]bool{}
	for i := int64(0); i < il; i++ {
		tag, ent := entry(i)
		if ent.offset < 0 || int64(ent.offset) > dl || ent.count < 0 {
			return nil, fmt.Errorf("tag %d: offset %d outside the data", tag, ent.offset)
		}
		if i < int64(h.ril) {
			if int(ent.offset) > h.rdl {
				return nil, fmt.Errorf("tag %d of the immutable region: offset %d outside it", tag, ent.offset)
			}
			ent.end = int32(h.rdl)
			region[tag] = true
		} else if region[tag] {
			h.overridden = append(h.overridden, tag)
		}
		h.entries[tag] = ent
	}
	return h, nil
}

// str returns a STRING tag's value ("" when absent).
func (h *rpmHeader) str(tag int32) (string, error) {
	ss, err := h.strings(tag)
	if err != nil || len(ss) == 0 {
		return "", err
	}
	return ss[0], nil
}

// strings returns a STRING, STRING_ARRAY or I18NSTRING tag's values (nil when absent).
func (h *rpmHeader) strings(tag int32) ([]string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	n := int(e.count)
	switch e.typ {
	case typeString:
		n = 1
	case typeStringArray, typeI18NString:
	default:
		return nil, fmt.Errorf("tag %d: type %d, want strings", tag, e.typ)
	}
	if n > len(h.data) {
		return nil, fmt.Errorf("tag %d: %d strings in %d bytes", tag, n, len(h.data))
	}
	out := make([]string, 0, n)
	d := h.data[e.offset:e.end]
	for i := 0; i < n; i++ {
		end := -1
		for j, c := range d {
			if c == 0 {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("tag %d: string %d not terminated", tag, i)
		}
		out = append(out, string(d[:end]))
		d = d[end+1:]
	}
	return out, nil
}

// ints returns an INT16, INT32 or INT64 tag's values (nil when absent); INT16 is read
// unsigned (file modes).
func (h *rpmHeader) ints(tag int32) ([]int64, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	size := map[int32]int{typeInt16: 2, typeInt32: 4, typeInt64: 8}[e.typ]
	if size == 0 {
		return nil, fmt.Errorf("tag %d: type %d, want integers", tag, e.typ)
	}
	if int64(e.offset)+int64(e.count)*int64(size) > int64(e.end) {
		return nil, fmt.Errorf("tag %d: %d integers past the data", tag, e.count)
	}
	d := h.data[e.offset:]
	out := make([]int64, e.count)
	for i := range out {
		switch size {
		case 2:
			out[i] = int64(binary.BigEndian.Uint16(d[i*2:]))
		case 4:
			out[i] = int64(int32(binary.BigEndian.Uint32(d[i*4:])))
		case 8:
			out[i] = int64(binary.BigEndian.Uint64(d[i*8:]))
		}
	}
	return out, nil
}

// rpmPackage reads a package and its files from a header blob.
func rpmPackage(blob []byte) (*Package, []*File, error) {
	h, err := parseRPMHeader(blob)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	str := func(tag int32) string {
		s, err := h.str(tag)
		errs = append(errs, err)
		return s
	}
	strs := func(tag int32) []string {
		s, err := h.strings(tag)
		errs = append(errs, err)
		return s
	}
	ints := func(tag int32) []int64 {
		s, err := h.ints(tag)
		errs = append(errs, err)
		return s
	}
	pkg := &Package{Manager: RPM, Name: str(tagName), Arch: str(tagArch)}
	pkg.Version = str(tagVersion) + "-" + str(tagRelease)
	if ep := ints(tagEpoch); len(ep) > 0 {
		pkg.Version = strconv.FormatInt(ep[0], 10) + ":" + pkg.Version
	}
	if t := ints(tagInstallTime); len(t) > 0 {
		pkg.Installed = int64(uint32(t[0]))
	}
	names := strs(tagOldFilenames)
	if base := strs(tagBaseNames); len(base) > 0 {
		dirs, idx := strs(tagDirNames), ints(tagDirIndexes)
		if len(idx) != len(base) {
			return nil, nil, fmt.Errorf("package %s: %d dir indexes for %d files", pkg.Name, len(idx), len(base))
		}
		names = make([]string, len(base))
		for i, b := range base {
			if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
				return nil, nil, fmt.Errorf("package %s: dir index %d of %d", pkg.Name, idx[i], len(dirs))
			}
			names[i] = dirs[idx[i]] + b
		}
	}
	digests, links := strs(tagFileDigests), strs(tagFileLinkTos)
	users, groups := strs(tagFileUserName), strs(tagFileGroupName)
	modes, mtimes, flags := ints(tagFileModes), ints(tagFileMtimes), ints(tagFileFlags)
	sizes := ints(tagLongFileSizes)
	if sizes == nil {
		sizes = ints(tagFileSizes)
	}
	algo := MD5 // rpm before 4.6 recorded only MD5, without saying so
	if a := ints(tagFileDigestAlgo); len(a) > 0 {
		if algo = rpmAlgorithms[a[0]]; algo == "" {
			return nil, nil, fmt.Errorf("package %s: digest algorithm %d is not known", pkg.Name, a[0])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("package %s: %w", pkg.Name, err)
	}
	if pkg.Name == "" {
		return nil, nil, errors.New("header without a name")
	}
	if pkg.rpm, err = rpmTrustOf(h, blob, pkg.Name == rpmPubkeyName); err != nil {
		return nil, nil, fmt.Errorf("package %s: %w", pkg.Name, err)
	}
	n := len(names)
	for _, l := range []int{len(digests), len(links), len(users), len(groups), len(modes), len(mtimes), len(flags), len(sizes)} {
		if l != n && l != 0 {
			return nil, nil, fmt.Errorf("package %s: file tags of %d values for %d files", pkg.Name, l, n)
		}
	}
	files := make([]*File, 0, n)
	for i, name := range names {
		if !path.IsAbs(name) {
			return nil, nil, fmt.Errorf("package %s: file %.60q is not absolute", pkg.Name, name)
		}
		f := &File{Path: path.Clean(name), Package: pkg}
		if len(modes) > 0 {
			f.Meta = &FileMeta{Mode: uint32(modes[i]), Owner: at(users, i), Group: at(groups, i), LinkTo: at(links, i)}
			if len(sizes) > 0 {
				f.Meta.Size = sizes[i]
			}
			if len(mtimes) > 0 {
				f.Meta.Mtime = int64(uint32(mtimes[i]))
			}
		}
		if len(flags) > 0 {
			fl := flags[i]
			for bit, ff := range map[int64]FileFlags{rpmConfig: FlagConfig, rpmDoc: FlagDoc, rpmMissingOK: FlagMissingOK, rpmGhost: FlagGhost} {
				if fl&bit != 0 {
					f.Flags |= ff
				}
			}
		}
		if d := at(digests, i); d != "" {
			b, err := hex.DecodeString(d)
			if err != nil || len(b) != newHash(algo).Size() {
				return nil, nil, fmt.Errorf("package %s: file %s: digest %.40q is not %s", pkg.Name, name, d, algo)
			}
			f.Algorithm, f.Digest = algo, b
		}
		files = append(files, f)
	}
	return pkg, files, nil
}

func at(ss []string, i int) string {
	if i < len(ss) {
		return ss[i]
	}
	return ""
}
