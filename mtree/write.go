package mtree

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fim/tree"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteOptions say how Write renders entries.
type WriteOptions struct {
	// SHA256 writes sha256digest, which stock mtree checks, in place of fim's own
	// blake3digest, which stock mtree refuses as an unknown keyword. Each regular file
	// is read again under Root and its BLAKE3 checked against the recorded one first:
	// a file that changed since the baseline fails the export rather than have its new
	// content written as golden.
	SHA256 bool
	// Root is the real directory that recorded path "/" stands for ("" means "/").
	Root string
	// Warn, with SHA256, receives the regular files written without a digest because
	// the baseline holds no hash of them (too large, unreadable, changing). It may be nil.
	Warn func(path string, err error)
}

// errNoHash is what Warn is given for a file the baseline holds no hash of.
var errNoHash = errors.New("no hash in the baseline: written without a digest")

// Write writes entries, which are in key order, as an mtree spec: "#mtree" and comment
// lines, then one full-path line per entry ("." for "/", "./etc/passwd"), names and link targets vis-encoded, with the
// keywords type, mode (octal), uid, gid, nlink (when not 1), size, time
// (seconds.nanoseconds), link (symlinks), device (native,major,minor for devices) and a
// digest (regular files with a hash). With SHA256 only regular files have a size, as
// mtree -c writes: stock mtree compares the size of directories, which changes with
// what they hold. The directories that lead to recorded paths without being recorded
// themselves (the root, "/usr" above a recorded "/usr/bin") are written with type=dir
// only, after a comment line "# fim-unrecorded", as mtree wants every parent named;
// Entries skips them. Recorded entries are written under "/set nlink=1" and
// unrecorded directories under "/unset nlink", so that no tool compares the link
// count of a directory the baseline did not record. The spec holds only keywords NetBSD mtree, libarchive and
// go-mtree all know (blake3digest aside, which the SHA256 form does not write).
// The output depends on the entries alone. On an error the output stops short: write
// to a temporary file and rename it when Write succeeds.
//
// Stock mtree verifies a tree against a spec written with SHA256:
// mtree -e -f SPEC -p ROOT (-e: the baseline may have excluded paths). It exits 2 on a
// difference, but 0 when files are only missing or extra: read what it prints.
func Write(w io.Writer, entries tree.Seq, opt WriteOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	sw := specWriter{w: bw, opt: opt}
	if opt.SHA256 {
		tr, err := openTree(opt.Root)
		if err != nil {
			return err
		}
		defer tr.close()
		sw.tree, sw.sha = tr, sha256.New()
	}
	bw.WriteString(header)
	if opt.SHA256 {
		bw.WriteString("# Content: sha256digest, checked against the baseline's BLAKE3 when written.\n")
	} else {
		bw.WriteString("# Content: blake3digest, fim's own keyword; stock mtree needs an export with sha256digest.\n")
	}
	var prev string // path of the previous entry
	var prevType tree.Type
	for e, err := range entries {
		if err != nil {
			return err
		}
		if !strings.HasPrefix(e.Path, "/") {
			return fmt.Errorf("entry %s: not an absolute path", appendVis(nil, e.Path))
		}
		if prev != "" {
			if tree.ComparePaths(prev, e.Path) >= 0 {
				return fmt.Errorf("entry %s after %s: not in key order", specPath(e.Path), specPath(prev))
			}
			if prevType != tree.TypeDir && tree.IsWithin(e.Path, prev) {
				return fmt.Errorf("entry %s: inside %s, a %s", specPath(e.Path), specPath(prev), prevType)
			}
		}
		if err := sw.entry(e); err != nil {
			return err
		}
		prev, prevType = e.Path, e.Type
	}
	if prev == "" {
		if err := sw.leading("/"); err != nil {
			return err
		}
	}
	return bw.Flush()
}

const header = "#mtree\n" +
	"# fim baseline: one line per recorded path, in fim's key order.\n" +
	"# A directory after \"" + unrecordedMarker + "\" only leads to recorded paths.\n"

type specWriter struct {
	w    *bufio.Writer
	opt  WriteOptions
	tree *realTree
	sha  hash.Hash
	open []string // the directories written that enclose the last entry, outermost first
	buf  []byte
	// nlinkSet says "/set nlink=1" is in force: recorded entries need it, unrecorded
	// directories must not have it.
	nlinkSet bool
}

// entry writes e, after the unrecorded directories that lead to it.
func (sw *specWriter) entry(e *tree.Entry) error {
	for len(sw.open) > 0 && !tree.IsWithin(e.Path, sw.open[len(sw.open)-1]) {
		sw.open = sw.open[:len(sw.open)-1]
	}
	// Every directory from the root down to e's parent must be named before e.
	for i := 0; i < len(e.Path); i++ {
		if e.Path[i] != '/' {
			continue
		}
		dir := e.Path[:max(i, 1)]
		if dir == e.Path {
			break
		}
		if !sw.isOpen(dir) {
			if err := sw.leading(dir); err != nil {
				return err
			}
		}
	}
	b := sw.buf[:0]
	if !sw.nlinkSet {
		b = append(b, "/set nlink=1\n"...)
		sw.nlinkSet = true
	}
	b = appendSpecPath(b, e.Path)
	if int(e.Type) >= len(typeNames) || typeNames[e.Type] == "" {
		return fmt.Errorf("entry %s: type %s has no mtree name", specPath(e.Path), e.Type)
	}
	b = append(b, " type="...)
	b = append(b, typeNames[e.Type]...)
	b = append(b, " mode="...)
	b = strconv.AppendUint(append(b, '0'), uint64(e.Mode), 8)
	b = strconv.AppendUint(append(b, " uid="...), uint64(e.UID), 10)
	b = strconv.AppendUint(append(b, " gid="...), uint64(e.GID), 10)
	if e.Nlink != 1 {
		b = strconv.AppendUint(append(b, " nlink="...), e.Nlink, 10)
	}
	if e.Type == tree.TypeFile || !sw.opt.SHA256 {
		b = strconv.AppendInt(append(b, " size="...), e.Size, 10)
	}
	b = appendTime(append(b, " time="...), e.Mtime)
	switch e.Type {
	case tree.TypeSymlink:
		if e.LinkTarget != "" {
			b = appendVis(append(b, " link="...), e.LinkTarget)
		}
	case tree.TypeCharDev, tree.TypeBlockDev:
		b = strconv.AppendUint(append(b, " device=native,"...), uint64(unix.Major(e.Rdev)), 10)
		b = strconv.AppendUint(append(b, ','), uint64(unix.Minor(e.Rdev)), 10)
	case tree.TypeFile:
		var err error
		if b, err = sw.appendDigest(b, e); err != nil {
			return err
		}
	}
	sw.buf = append(b, '\n')
	if _, err := sw.w.Write(sw.buf); err != nil {
		return err
	}
	if e.Type == tree.TypeDir {
		sw.open = append(sw.open, e.Path)
	}
	return nil
}

// appendDigest appends the digest keyword of regular file e, if the baseline hashed it.
func (sw *specWriter) appendDigest(b []byte, e *tree.Entry) ([]byte, error) {
	if !e.Hashed() {
		if sw.tree != nil && sw.opt.Warn != nil {
			sw.opt.Warn(e.Path, errNoHash)
		}
		return b, nil
	}
	if sw.tree == nil {
		return hex.AppendEncode(append(b, " blake3digest="...), e.Hash[:]), nil
	}
	sum, _, err := sw.tree.hash(e.Path, sw.sha)
	if err != nil {
		return nil, err
	}
	if sum != e.Hash {
		return nil, fmt.Errorf("%s: content differs from the baseline: the tree changed since it was recorded", sw.tree.name(e.Path))
	}
	var digest [sha256.Size]byte
	return hex.AppendEncode(append(b, " sha256digest="...), sw.sha.Sum(digest[:0])), nil
}

// leading writes directory dir, which is not recorded but leads to what is.
func (sw *specWriter) leading(dir string) error {
	sw.buf = sw.buf[:0]
	if sw.nlinkSet {
		sw.buf = append(sw.buf, "/unset nlink\n"...)
		sw.nlinkSet = false
	}
	sw.buf = appendSpecPath(append(sw.buf, unrecordedMarker+"\n"...), dir)
	sw.buf = append(sw.buf, " type=dir\n"...)
	sw.open = append(sw.open, dir)
	_, err := sw.w.Write(sw.buf)
	return err
}

func (sw *specWriter) isOpen(dir string) bool {
	for _, d := range sw.open {
		if d == dir {
			return true
		}
	}
	return false
}

// appendTime appends nanoseconds since the epoch as mtree writes a time: seconds, a
// point and nine digits of nanoseconds (before 1970 the seconds are floored).
func appendTime(b []byte, ns int64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	for d := int64(1e8); d > 0; d /= 10 {
		b = append(b, byte('0'+nsec/d%10))
	}
	return b
}
