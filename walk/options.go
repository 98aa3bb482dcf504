package walk

import (
	"slices"

	"fim/textcopy"
	"fim/tree"
)

// Matcher decides whether a recorded path is excluded; *glob.Pattern satisfies it.
type Matcher interface {
	Match(path string) bool
}

// Options are the limits that apply below one root.
type Options struct {
	MaxDepth       int   // levels below the root to record; 0 means unlimited
	MaxFileSize    int64 // larger regular files are recorded but not hashed; 0 means unlimited
	NoHidden       bool  // skip names starting with '.' (and what is below them)
	FollowSymlinks bool  // record what a symlink points to, and descend into linked directories
	CrossMounts    bool  // descend into directories on other filesystems
	// Growing: regular files below are logs that only grow. With Walker.Prior, a file
	// where a regular file is recorded is marked tree.FlagGrowing and, when it is the
	// recorded inode, checked in the read that hashes it against its recorded size and
	// hash: tree.FlagGrown when it is longer and begins with what was recorded.
	Growing bool
	Exclude []Matcher
	// Copies, if set, asks for a copy of the content of every regular file below, taken
	// in the read that hashes it (tree.Entry.Copy, textcopy.Take), or the reason for
	// none (tree.Entry.NoCopy). A file that wants a copy is read even where Fast would
	// keep its recorded hash, and each of its names is read on its own.
	Copies *Copies
}

// Copies says which regular files a walk keeps a copy of.
type Copies struct {
	Max     int64     // larger files are too_large; at most textcopy.MaxSize
	Private bool      // keep the content of files that are not world-readable too
	NoDiff  []Matcher // secret: never kept (textcopy.Public lets .pub files through)
	// Key keys the digests of redacted secrets (textcopy.Redact), for each file with
	// its recorded path (textcopy.Key.For): the key of the baseline the copies are
	// kept in or compared with.
	Key textcopy.Key
}

// NoDiffMatch returns the no_diff pattern that keeps the content of the file at p out,
// nil when none does (or p is a public key, which they let through).
func (c *Copies) NoDiffMatch(p string) Matcher {
	if textcopy.Public(p) {
		return nil
	}
	if i := slices.IndexFunc(c.NoDiff, func(m Matcher) bool { return m.Match(p) }); i >= 0 {
		return c.NoDiff[i]
	}
	return nil
}

// reason returns why the content of e, a regular file, is not kept, or tree.CopyNone
// when it is to be read and kept if it proves to be text. Private lets in the files
// of the rule's tree, not a file a symlink (followed) leads to, which may be any file
// fim can read (/etc/shadow, a key under /root): that one must be world-readable.
func (c *Copies) reason(e *tree.Entry, followed bool) tree.NoCopy {
	switch {
	case textcopy.Never(e.Path):
		return tree.NoCopySecret
	case c.NoDiffMatch(e.Path) != nil:
		return tree.NoCopySecret
	case e.Mode&0o004 == 0 && (!c.Private || followed):
		return tree.NoCopyPrivate
	case e.Size > c.Max:
		return tree.NoCopyTooLarge
	}
	return tree.CopyNone
}

// Root is one configured path and the limits below it. A root nested inside another
// root governs its own subtree.
type Root struct {
	Path string // recorded absolute path, clean
	Options
}

// excluded reports whether a recorded path is excluded by the options.
func (o *Options) excluded(path string) bool { return o.exclusion(path) != nil }

// exclusion returns the first exclude pattern that matches a recorded path, or nil.
func (o *Options) exclusion(path string) Matcher {
	for _, m := range o.Exclude {
		if m.Match(path) {
			return m
		}
	}
	return nil
}
