package mtree

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/tree"
)

// ImportOptions say how Entries turns a spec into entries.
type ImportOptions struct {
	// Root is the real directory the spec describes ("" when there is none). With a
	// Root, every regular file is read there (never through a symlink, never blocking)
	// and checked against the strongest digest the spec gives it; its BLAKE3 is
	// recorded only when the digest matches, and a mismatch fails the import. A
	// directory, whose size no mtree records, takes its size from there too, and an
	// entry marked optional that is missing there is left out.
	Root string
	// LookupNames resolves uname and gname through the user database when the spec
	// gives no uid or gid. Without it such owners are left out (and reported uncarried).
	LookupNames bool
	// Warn receives, once each, what the import leaves out without failing: files whose
	// content will not be compared. It may be nil.
	Warn func(msg string)
}

// digests are the content digests Entries can check, strongest first; BLAKE3 leads as
// the one fim records.
var digests = []struct {
	keyword string
	size    int
	new     func() hash.Hash
}{
	{"blake3digest", 32, nil},
	{"sha512digest", 64, sha512.New},
	{"sha384digest", 48, sha512.New384},
	{"sha256digest", 32, sha256.New},
	{"sha1digest", 20, sha1.New},
	{"md5digest", 16, md5.New},
}

// typeNames are the mtree names of fim's entry types, indexed by walk.Type.
var typeNames = [...]string{
	tree.TypeFile: "file", tree.TypeDir: "dir", tree.TypeSymlink: "link", tree.TypeFIFO: "fifo",
	tree.TypeSocket: "socket", tree.TypeCharDev: "char", tree.TypeBlockDev: "block",
}

// Entries turns a spec into entries in key order, with Path "/" plus the spec's path
// ("." is "/"), and returns the attributes the spec does not carry (diff.ParseAttrs
// names, in report order), which a baseline made from it must not compare. These are
// always xattrs, ctime, inode and device, which mtree does not record as golden, and
// any of mode, uid, gid, size, mtime, nlink, link_target (symlinks) and rdev (devices)
// that some entry lacks, and content when no file could be given a hash.
//
// Some values follow from others: a symlink's size is its target's length and its mode
// 0777, a FIFO's, a socket's and a device's size is 0, and with a Root a file's size is
// the length of the content its digest matched. Unrecorded entries (the
// directories Write adds on the way to recorded paths) are skipped, and so are
// entries marked optional that are missing from Root; a spec left with no entry is an
// error. Without a Root only a
// blake3digest gives a file its hash; Warn says once how many files will not have their
// content compared.
func Entries(spec *Spec, opt ImportOptions) ([]*tree.Entry, []string, error) {
	var tr *realTree
	if opt.Root != "" {
		var err error
		if tr, err = openTree(opt.Root); err != nil {
			return nil, nil, err
		}
		defer tr.close()
	}
	im := importer{spec: spec, opt: opt, tree: tr, users: map[string]uint32{}, groups: map[string]uint32{}}
	out := make([]tree.Entry, 0, len(spec.Entries))
	var lacking diff.AttrSet
	var files, hashed, undigested, unverified int
	for i := range spec.Entries {
		se := &spec.Entries[i]
		if se.Unrecorded {
			continue
		}
		if _, optional := se.Keyword("optional"); optional && tr != nil {
			if _, err := tr.stat(se.Path); errors.Is(err, unix.ENOENT) {
				continue
			}
		}
		e, has, err := im.entry(se)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %s: %w", spec.Name, se.Line, specPath(se.Path), err)
		}
		if e.Type == tree.TypeFile {
			files++
			switch {
			case e.Hashed():
				hashed++
			case has.Has(diff.AttrContent):
				unverified++ // a digest, but no tree to check it against
			default:
				undigested++
			}
		}
		lacking |= applicable(e.Type) &^ has
		out = append(out, e)
	}
	if opt.Warn != nil {
		if unverified > 0 {
			opt.Warn(fmt.Sprintf("%s: no tree given to check digests against: the content of %s will not be compared", spec.Name, count(unverified, "file", "files")))
		}
		if undigested > 0 {
			opt.Warn(fmt.Sprintf("%s: %s no digest fim can check (blake3, sha512, sha384, sha256, sha1 or md5): their content will not be compared",
				spec.Name, count(undigested, "file carries", "files carry")))
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s: no entries to record: every entry is marked %s, or optional and missing", spec.Name, unrecordedTag)
	}
	uncarried := lacking | never
	if files > 0 && hashed == 0 {
		uncarried = uncarried.With(diff.AttrContent)
	}
	ptrs := make([]*tree.Entry, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	slices.SortFunc(ptrs, func(a, b *tree.Entry) int { return tree.ComparePaths(a.Path, b.Path) })
	return ptrs, uncarried.Strings(), nil
}

// count says how many of something there are: "1 file", "2 files".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// applicable are the attributes an entry of type t must carry for them to be compared:
// those it has, but its type (every entry has one), its content (a digest, counted
// apart, and the growing-file prefix that goes with it) and those no specification
// carries (never).
func applicable(t tree.Type) diff.AttrSet {
	return diff.AttrsOf(t) &^ (never | diff.AttrSet(0).With(diff.AttrType).With(diff.AttrContent).With(diff.AttrPrefix))
}

// never are the attributes no mtree specification carries.
const never = diff.AttrSet(1<<diff.AttrXattrs | 1<<diff.AttrCtime | 1<<diff.AttrInode | 1<<diff.AttrDevice)

type importer struct {
	spec          *Spec
	opt           ImportOptions
	tree          *realTree
	users, groups map[string]uint32
}

// entry converts one spec entry and says which attributes it set; AttrContent in the
// set means the spec gave the file a digest fim can check.
func (im *importer) entry(se *Entry) (tree.Entry, diff.AttrSet, error) {
	e := tree.Entry{Path: se.Path}
	var has diff.AttrSet
	typ, ok := se.Keyword("type")
	if !ok {
		return e, 0, errors.New("no type")
	}
	for t, n := range typeNames {
		if n == typ && n != "" {
			e.Type = tree.Type(t)
		}
	}
	if e.Type == tree.TypeUnknown {
		return e, 0, fmt.Errorf("unknown type %q", typ)
	}
	for _, k := range se.Keywords {
		var err error
		switch k.Name {
		case "mode":
			v, perr := strconv.ParseUint(k.Value, 8, 32)
			if perr != nil || v > 0o7777 {
				err = errors.New("not an octal mode (symbolic modes are not read)")
			}
			e.Mode, has = uint32(v), has.With(diff.AttrMode)
		case "uid":
			e.UID, err = parseID(k.Value)
			has = has.With(diff.AttrUID)
		case "gid":
			e.GID, err = parseID(k.Value)
			has = has.With(diff.AttrGID)
		case "size":
			if e.Size, err = strconv.ParseInt(k.Value, 10, 64); err != nil || e.Size < 0 {
				err = errors.New("not a byte count")
			}
			has = has.With(diff.AttrSize)
		case "time":
			e.Mtime, err = parseTime(k.Value)
			has = has.With(diff.AttrMtime)
		case "nlink":
			if e.Nlink, err = strconv.ParseUint(k.Value, 10, 64); err != nil {
				err = errors.New("not a link count")
			}
			has = has.With(diff.AttrNlink)
		case "link":
			if e.Type == tree.TypeSymlink {
				e.LinkTarget, err = unvis(k.Value)
				has = has.With(diff.AttrLinkTarget)
			}
		case "device":
			if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
				e.Rdev, err = parseDevice(k.Value)
				has = has.With(diff.AttrRdev)
			}
		}
		if err != nil {
			return e, 0, fmt.Errorf("%s=%s: %w", k.Name, shown(k.Value), err)
		}
	}
	if err := im.owners(se, &e, &has); err != nil {
		return e, 0, err
	}
	switch e.Type {
	case tree.TypeSymlink:
		if !has.Has(diff.AttrMode) {
			e.Mode, has = 0o777, has.With(diff.AttrMode) // Linux gives every symlink 0777
		}
		if !has.Has(diff.AttrSize) && has.Has(diff.AttrLinkTarget) {
			e.Size, has = int64(len(e.LinkTarget)), has.With(diff.AttrSize)
		}
	case tree.TypeFIFO, tree.TypeSocket, tree.TypeCharDev, tree.TypeBlockDev:
		if !has.Has(diff.AttrSize) {
			e.Size, has = 0, has.With(diff.AttrSize)
		}
	case tree.TypeDir:
		if !has.Has(diff.AttrSize) && im.tree != nil {
			st, err := im.tree.stat(se.Path)
			if err != nil {
				return e, 0, err
			}
			if got := tree.TypeFromMode(st.Mode); got != tree.TypeDir {
				return e, 0, fmt.Errorf("%s is a %s, not a directory", im.tree.name(se.Path), got)
			}
			e.Size, has = st.Size, has.With(diff.AttrSize)
		}
	case tree.TypeFile:
		if err := im.content(se, &e, &has); err != nil {
			return e, 0, err
		}
	}
	return e, has, nil
}

// owners resolves uname and gname where uid and gid are missing, if asked to.
func (im *importer) owners(se *Entry, e *tree.Entry, has *diff.AttrSet) error {
	if !im.opt.LookupNames {
		return nil
	}
	if v, ok := se.Keyword("uname"); ok && !has.Has(diff.AttrUID) {
		id, err := lookup(v, im.users, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return fmt.Errorf("uname %s: %w", shown(v), err)
		}
		e.UID, *has = id, has.With(diff.AttrUID)
	}
	if v, ok := se.Keyword("gname"); ok && !has.Has(diff.AttrGID) {
		id, err := lookup(v, im.groups, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return fmt.Errorf("gname %s: %w", shown(v), err)
		}
		e.GID, *has = id, has.With(diff.AttrGID)
	}
	return nil
}

// lookup resolves a vis-encoded user or group name, remembering the answers.
func lookup(encoded string, cache map[string]uint32, find func(string) (string, error)) (uint32, error) {
	if id, ok := cache[encoded]; ok {
		return id, nil
	}
	name, err := unvis(encoded)
	if err != nil {
		return 0, err
	}
	s, err := find(name)
	if err != nil {
		return 0, err
	}
	id, err := parseID(s)
	if err != nil {
		return 0, err
	}
	cache[encoded] = id
	return id, nil
}

// content gives a regular file its hash: with a tree, the file's BLAKE3 once the
// strongest digest of the spec matches it; without one, a blake3digest as written.
func (im *importer) content(se *Entry, e *tree.Entry, has *diff.AttrSet) error {
	for _, d := range digests {
		v, ok := se.Keyword(d.keyword)
		if !ok {
			continue
		}
		want, err := hex.DecodeString(v)
		if err != nil || len(want) != d.size {
			return fmt.Errorf("%s %q is not %d hex digits", d.keyword, v, 2*d.size)
		}
		*has = has.With(diff.AttrContent)
		if im.tree == nil {
			if d.new == nil {
				copy(e.Hash[:], want)
				e.Flags |= tree.FlagHashed
			}
			return nil
		}
		var other hash.Hash
		if d.new != nil {
			other = d.new()
		}
		sum, size, err := im.tree.hash(se.Path, other)
		if err != nil {
			return err
		}
		got := sum[:]
		if other != nil {
			got = other.Sum(nil)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s differs: %s is %x; the tree does not match the spec, refusing to record it", d.keyword, im.tree.name(se.Path), got)
		}
		e.Hash, e.Flags = sum, e.Flags|tree.FlagHashed
		if !has.Has(diff.AttrSize) {
			e.Size, *has = size, has.With(diff.AttrSize)
		}
		return nil
	}
	return nil
}

// parseID parses a numeric user or group id.
func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("not a numeric id")
	}
	return uint32(v), nil
}

// parseTime parses seconds[.nanoseconds] into nanoseconds since the epoch. As in the
// mtree and libarchive readers, the digits after the point count nanoseconds
// ("1.5" is 1 s and 5 ns); mtree writes nine of them.
func parseTime(s string) (int64, error) {
	secs, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return 0, errors.New("not seconds[.nanoseconds]")
	}
	var nsec int64
	if hasFrac {
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 || nsec >= 1e9 || frac[0] == '+' {
			return 0, errors.New("nanoseconds not within 0 and 999999999")
		}
	}
	const limit = (1<<63 - 1) / 1_000_000_000
	if sec > limit-1 || sec < -limit+1 {
		return 0, errors.New("out of range")
	}
	return sec*1e9 + nsec, nil
}

// parseDevice parses a device number: a number as stored (0x103), or
// format,major,minor for the native and linux formats.
func parseDevice(s string) (uint64, error) {
	parts := strings.Split(s, ",")
	switch len(parts) {
	case 1:
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return 0, errors.New("not a device number")
		}
		return v, nil
	case 3:
		if parts[0] != "native" && parts[0] != "linux" {
			return 0, fmt.Errorf("device format %q not read (want native or linux)", parts[0])
		}
		major, err1 := strconv.ParseUint(parts[1], 0, 32)
		minor, err2 := strconv.ParseUint(parts[2], 0, 32)
		if err1 != nil || err2 != nil {
			return 0, errors.New("major and minor must be numbers")
		}
		return unix.Mkdev(uint32(major), uint32(minor)), nil
	}
	return 0, errors.New("want a number or format,major,minor")
}
