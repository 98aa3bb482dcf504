package walk

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
