package check

import (
	"os"
	"path/filepath"
	"strings"

	"fim/baseline"
	"fim/provenance"
)

// Own names the files a command keeps for itself: what a file it writes for the user
// (a report, a metrics textfile, an export) must never be. A bad argument then cannot
// overwrite a baseline or append to it.
type Own struct {
	// DBs are the baselines the command reads or replaces; each brings its lock,
	// DB.packages, DB.journal and the spool directory DB.spool.
	DBs []string
	// Spool is a spool directory named apart from a baseline (fim watch --spool).
	Spool string
	// GenerationFile, SignKey and VerifyKey are --generation-file, --sign and --verify.
	GenerationFile, SignKey, VerifyKey string
}

// SpoolDir is where a watch of the baseline db keeps the batches not yet delivered,
// unless told otherwise (fim watch --spool): DB.spool; "" for no baseline.
func SpoolDir(db string) string {
	if db == "" {
		return ""
	}
	return db + ".spool"
}

// ownFile is one of the files of Own, with what it is for messages.
type ownFile struct{ what, path string }

// files lists o's files and, apart, its spool directories; empty names are left out.
func (o Own) files() (files []ownFile, dirs []ownFile) {
	add := func(list *[]ownFile, what, p string) {
		if p != "" {
			*list = append(*list, ownFile{what, p})
		}
	}
	for _, db := range o.DBs {
		if db == "" {
			continue
		}
		lock, _ := baseline.TempPattern(db)
		add(&files, "the baseline", db)
		add(&files, "the baseline's lock", lock)
		add(&files, "the baseline's package snapshot", provenance.SnapshotPath(db))
		add(&files, "the baseline's writer journal", provenance.JournalPath(db))
		add(&dirs, "the baseline's spool directory", SpoolDir(db))
	}
	add(&dirs, "the spool directory", o.Spool)
	add(&files, "the --generation-file", o.GenerationFile)
	add(&files, "the --sign key", o.SignKey)
	add(&files, "the --verify key", o.VerifyKey)
	return files, dirs
}

// Refuse returns a usage error (an *OptionError) naming flag and dest when dest, a
// file the command is to write, is one of o's files or lies in one of its spool
// directories. Names are compared cleaned and absolute, then with their symlinks
// resolved (the destination's directory too, when the destination does not exist
// yet), and existing files by device and inode, which catches a hard link.
func (o Own) Refuse(flag, dest string) error {
	if dest == "" {
		return nil
	}
	d := resolve(dest)
	files, dirs := o.files()
	for _, f := range files {
		if d == resolve(f.path) || samePath(dest, f.path) {
			return optionErr("--%s %s: that is %s (%s); choose another file", flag, dest, f.what, f.path)
		}
	}
	for _, s := range dirs {
		sd := resolve(s.path)
		if d == sd || strings.HasPrefix(d, sd+string(filepath.Separator)) || samePath(filepath.Dir(d), s.path) {
			return optionErr("--%s %s: that is in %s (%s); choose another file", flag, dest, s.what, s.path)
		}
	}
	return nil
}

// resolve returns p absolute and clean, with its symlinks resolved as far as they
// exist: the whole of p, or else its directory.
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// samePath reports whether a and b both exist and are the same file (symlinks
// followed): the same device and inode.
func samePath(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
