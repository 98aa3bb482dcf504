package pkgdb

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"slices"
	"sync"
	"syscall"
)

// Kind is the answer a package database gives about a file.
type Kind string

// The verdicts.
const (
	Match    Kind = "match"    // the content has the digest its package recorded
	Mismatch Kind = "mismatch" // owned by a package, the content differs from what it shipped
	Conffile Kind = "conffile" // a config file (dpkg conffile, rpm %config) edited since it was installed
	Unowned  Kind = "unowned"  // no package owns the path
	Unknown  Kind = "unknown"  // no usable database, or no digest recorded (Reason says which)
	Missing  Kind = "missing"  // a package lists the path and it is not there
	// Tampered: drawn from an rpm header whose signature does not verify (Reason says
	// why): the database's record of the file was altered since rpm wrote it.
	Tampered Kind = "tampered"
)

// Explained says whether the verdict is the package manager's doing.
func (k Kind) Explained() bool { return k == Match }

// Verdict is the answer for one path.
type Verdict struct {
	Kind   Kind
	File   *File  // the owner's record; nil for unowned, and for unknown without an owner
	Reason string // why, for unknown and mismatch
}

// Opener opens the current content of a file to be read. It returns an error that
// wraps fs.ErrNotExist for a file that is not there, and walk.ErrNotRegular (or any
// error) for one that cannot be read as a regular file.
type Opener func() (io.ReadCloser, error)

// Opener returns the opener of path p under the database's root: p is resolved in the
// root, its last element is not followed (a symlink where the package shipped a file
// is a mismatch), and only a regular file is read.
func (db *DB) Opener(p string) Opener {
	return func() (io.ReadCloser, error) { return db.root.open(p, false) }
}

// Verdict says what the package databases make of the file at path p (absolute,
// under the root) whose content open gives. The content is read, and its digest
// computed in the package's own algorithm, only here and only when the owner recorded
// a digest; nothing is cached.
//
//   - no owner: unowned, or unknown when a database is damaged or none was found;
//   - an owner's rpm header is signed and the signature does not verify (Signature):
//     tampered, whatever the file holds;
//   - the file is not there: missing (for an rpm %ghost or missingok file: unknown);
//   - no digest recorded (a directory, a symlink, a ghost, a conffile without MD5):
//     unknown;
//   - the content has the recorded digest: match; otherwise conffile for a config
//     file, mismatch for any other (also when it is no longer a regular file).
//
// When several packages own p (dpkg's Multi-Arch: same), a match with any is a match.
// A match drawn from an rpm header signed by a key the database does not hold says so
// in its Reason.
func (db *DB) Verdict(p string, open Opener) Verdict {
	owners := db.Owners(p)
	if len(owners) == 0 {
		for _, m := range db.present {
			if d := db.damaged[m]; d != nil {
				return Verdict{Kind: Unknown, Reason: d.Error()}
			}
		}
		if len(db.present) == 0 {
			return Verdict{Kind: Unknown, Reason: "no package database under " + db.root.Path()}
		}
		return Verdict{Kind: Unowned}
	}
	if v, ok := db.forged(owners); ok {
		return v
	}
	f := owners[0]
	rc, err := open()
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if f.Flags&(FlagGhost|FlagMissingOK) != 0 {
				return Verdict{Kind: Unknown, File: f, Reason: "the package allows it to be missing"}
			}
			return Verdict{Kind: Missing, File: f}
		case f.Digest == nil:
			return Verdict{Kind: Unknown, File: f, Reason: "no digest recorded"}
		case f.Package.Manager == APK && errors.Is(err, syscall.ELOOP):
			// apk records a symlink's digest over its target, which is not compared
			return Verdict{Kind: Unknown, File: f, Reason: "a symlink: apk's digest of its target is not compared"}
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EIO):
			return Verdict{Kind: Unknown, File: f, Reason: err.Error()}
		default: // a symlink, directory or other file where the package shipped a file
			return verdictDiffers(f, err.Error())
		}
	}
	defer rc.Close()
	var digested []*File
	for _, o := range owners {
		if o.Digest != nil && o.Flags&FlagGhost == 0 {
			digested = append(digested, o)
		}
	}
	if len(digested) == 0 {
		return Verdict{Kind: Unknown, File: f, Reason: "no digest recorded"}
	}
	sums, err := digests(rc, digested)
	if err != nil {
		return Verdict{Kind: Unknown, File: f, Reason: err.Error()}
	}
	return db.compare(digested, sums, func(o *File) string { return db.metaDiffers(o, rc) })
}

// compare is the verdict of content whose digests are sums, for the owners that
// recorded a digest; differs says what of a matching owner's mode and owner differs.
func (db *DB) compare(digested []*File, sums map[Algorithm][]byte, differs func(*File) string) Verdict {
	for _, o := range digested {
		if bytes.Equal(sums[o.Algorithm], o.Digest) {
			if why := differs(o); why != "" {
				return Verdict{Kind: Mismatch, File: o, Reason: why}
			}
			return Verdict{Kind: Match, File: o, Reason: db.Signature(o.Package).Reason}
		}
	}
	return verdictDiffers(digested[0], fmt.Sprintf("%s differs from the package's", digested[0].Algorithm))
}

// forged returns the tampered verdict of a path one of whose owners (files) is drawn
// from an rpm header whose signature does not verify.
func (db *DB) forged(files []*File) (Verdict, bool) {
	for _, f := range files {
		if s := db.Signature(f.Package); s.State == SigBad {
			return Verdict{Kind: Tampered, File: f, Reason: s.Reason}, true
		}
	}
	return Verdict{}, false
}

// digested are the owners of p that recorded a digest, and the algorithms they use
// (nil when one is not known).
func (db *DB) digested(p string) (files []*File, algs []Algorithm) {
	for _, o := range db.Owners(p) {
		if o.Digest == nil || o.Flags&FlagGhost != 0 {
			continue
		}
		files = append(files, o)
		if !slices.Contains(algs, o.Algorithm) {
			if newHash(o.Algorithm) == nil {
				return files, nil
			}
			algs = append(algs, o.Algorithm)
		}
	}
	return files, algs
}

// Sums are a regular file's digests in the algorithms of the packages that own it,
// taken as the file is read elsewhere (fim's walk reads each file once): the content
// is written to them.
type Sums struct {
	hs map[Algorithm]hash.Hash
	// Mode, UID and GID are the file's permission bits and owner when it was read,
	// compared with those rpm and apk record.
	Mode, UID, GID uint32
}

// NewSums returns the sums to take of the file at path p (absolute, under the root),
// or nil when no package that owns it recorded a digest in an algorithm fim knows.
func (db *DB) NewSums(p string) *Sums {
	files, algs := db.digested(p)
	if len(files) == 0 || algs == nil {
		return nil
	}
	return newSums(algs)
}

// NewSumsAny returns the sums to take of a file whose every name is not known yet (a
// file with several), in every digest algorithm the packages record; nil when none
// records a digest fim knows.
func (db *DB) NewSumsAny() *Sums {
	db.algsOnce.Do(func() {
		if db.indexing {
			db.mu.Lock()
			defer db.mu.Unlock()
		}
		if len(db.pending) > 0 {
			db.algs = append(db.algs, MD5) // dpkg's .md5sums, parsed when needed
		}
		for _, pk := range db.packages {
			if db.pending[pk] != nil {
				continue // its digests may be being parsed: MD5, as above
			}
			for _, f := range db.files[pk] {
				if f.Digest != nil && !slices.Contains(db.algs, f.Algorithm) && newHash(f.Algorithm) != nil {
					db.algs = append(db.algs, f.Algorithm)
				}
			}
		}
	})
	if len(db.algs) == 0 {
		return nil
	}
	return newSums(db.algs)
}

func newSums(algs []Algorithm) *Sums {
	s := &Sums{hs: make(map[Algorithm]hash.Hash, len(algs))}
	for _, a := range algs {
		s.hs[a] = newHash(a)
	}
	return s
}

// Write feeds content to every digest.
func (s *Sums) Write(b []byte) (int, error) {
	for _, h := range s.hs {
		h.Write(b)
	}
	return len(b), nil
}

// VerdictOf is Verdict for the regular file at p whose whole content was written to
// s, as it was when read: match, conffile or mismatch. ok is false when s does not
// hold a digest every owner of p needs (the databases were read again since), and
// then only Verdict can tell.
func (db *DB) VerdictOf(p string, s *Sums) (v Verdict, ok bool) {
	files, algs := db.digested(p)
	if len(files) == 0 || algs == nil {
		return Verdict{}, false
	}
	if v, ok := db.forged(files); ok {
		return v, true
	}
	sums := make(map[Algorithm][]byte, len(algs))
	for _, a := range algs {
		h := s.hs[a]
		if h == nil {
			return Verdict{}, false
		}
		sums[a] = h.Sum(nil)
	}
	return db.compare(files, sums, func(o *File) string { return db.idsDiffer(o, s.Mode, s.UID, s.GID) }), true
}

// metaDiffers compares the permissions and owner rpm and apk record for f with those
// of the open file rc, when rc can say them (an *os.File can), and says what differs.
func (db *DB) metaDiffers(f *File, rc io.ReadCloser) string {
	sf, ok := rc.(interface{ Stat() (fs.FileInfo, error) })
	if f.Meta == nil || !ok {
		return ""
	}
	fi, err := sf.Stat()
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return db.idsDiffer(f, st.Mode, st.Uid, st.Gid)
}

// idsDiffer compares the permissions and owner rpm and apk record for f with mode,
// uid and gid, and says what differs.
func (db *DB) idsDiffer(f *File, mode, uid, gid uint32) string {
	m := f.Meta
	if m == nil {
		return ""
	}
	if mode&0o7777 != m.Mode&0o7777 {
		return fmt.Sprintf("mode %04o, the package's is %04o", mode&0o7777, m.Mode&0o7777)
	}
	if id, ok := db.ids().user(m.Owner); ok && id != uid {
		return fmt.Sprintf("owner %d, the package's is %s (%d)", uid, m.Owner, id)
	}
	if id, ok := db.ids().group(m.Group); ok && id != gid {
		return fmt.Sprintf("group %d, the package's is %s (%d)", gid, m.Group, id)
	}
	return ""
}

func verdictDiffers(f *File, reason string) Verdict {
	if f.IsConfig() {
		return Verdict{Kind: Conffile, File: f, Reason: reason}
	}
	return Verdict{Kind: Mismatch, File: f, Reason: reason}
}

// newHash returns the hash of algorithm a, or nil for one fim does not know.
func newHash(a Algorithm) hash.Hash {
	switch a {
	case MD5:
		return md5.New()
	case SHA1:
		return sha1.New()
	case SHA224:
		return sha256.New224()
	case SHA256:
		return sha256.New()
	case SHA384:
		return sha512.New384()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// readBufs are the buffers files are read through to be hashed.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// digests reads r once and returns its digest in every algorithm the files use.
func digests(r io.Reader, files []*File) (map[Algorithm][]byte, error) {
	hs := make(map[Algorithm]hash.Hash)
	var ws []io.Writer
	for _, f := range files {
		if hs[f.Algorithm] != nil {
			continue
		}
		h := newHash(f.Algorithm)
		if h == nil {
			return nil, fmt.Errorf("digest algorithm %q is not known", f.Algorithm)
		}
		hs[f.Algorithm] = h
		ws = append(ws, h)
	}
	buf := readBufs.Get().(*[]byte)
	defer readBufs.Put(buf)
	var w io.Writer = ws[0]
	if len(ws) > 1 {
		w = io.MultiWriter(ws...)
	}
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{r}, *buf); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	out := make(map[Algorithm][]byte, len(hs))
	for a, h := range hs {
		out[a] = h.Sum(nil)
	}
	return out, nil
}
