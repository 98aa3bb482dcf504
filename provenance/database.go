package provenance

import (
	"cmp"
	"strings"
	"syscall"

	"fim/diff"
	"fim/pkgdb"
	"fim/tree"
)

// dpkgDir is where dpkg keeps its own database.
const dpkgDir = "/var/lib/dpkg"

// dpkgShared are the files and directories of dpkg's database, under dpkgDir, that any
// transaction writes (""): the directory itself).
var dpkgShared = map[string]tree.Type{
	"": tree.TypeDir, "info": tree.TypeDir, "triggers": tree.TypeDir, "updates": tree.TypeDir,
	"status": tree.TypeFile, "status-old": tree.TypeFile, "available": tree.TypeFile, "available-old": tree.TypeFile,
	"lock": tree.TypeFile, "lock-frontend": tree.TypeFile, "diversions": tree.TypeFile, "diversions-old": tree.TypeFile,
	"statoverride": tree.TypeFile, "statoverride-old": tree.TypeFile, "arch": tree.TypeFile,
}

// dpkgOwn says what the path p is in dpkg's own database: a file of package pkg's
// (info/PKG[:ARCH].EXT: its list, digests, conffiles, maintainer scripts), or one any
// transaction writes (shared, pkg ""); typ is the type it has. ok is false for any
// other path.
func dpkgOwn(p string) (pkg string, typ tree.Type, ok bool) {
	rest, found := strings.CutPrefix(p, dpkgDir)
	if !found || rest != "" && rest[0] != '/' {
		return "", 0, false
	}
	rest = strings.TrimPrefix(rest, "/")
	if t, ok := dpkgShared[rest]; ok {
		return "", t, true
	}
	dir, name, _ := strings.Cut(rest, "/")
	if name == "" || strings.Contains(name, "/") {
		return "", 0, false
	}
	switch dir {
	case "triggers", "updates":
		return "", tree.TypeFile, true
	case "info":
		if i := strings.LastIndexByte(name, '.'); i > 0 && i < len(name)-1 {
			pkg, _, _ = strings.Cut(name[:i], ":")
			if pkg != "" {
				return pkg, tree.TypeFile, true
			}
		}
	}
	return "", 0, false
}

// database gives the database verdict to the events of dpkg's own database files that
// the package log accounts for (log: the last transaction of each package since the
// baseline): a file of package PKG's, created or changed in a transaction of PKG, or
// removed in its removal, purge or upgrade; a file every transaction writes, in any
// transaction. The file must still be of its type, with its mode and owner unchanged
// and no setuid or setgid bit, no package may vouch for it otherwise (unowned, or a
// directory a package lists without a digest), and dpkg's database must be undamaged.
// The tampered rule runs after and overrides it.
func (a *Annotator) database(events []diff.Event, log map[string]pkgdb.Transaction) {
	if len(log) == 0 || a.db.Damaged(pkgdb.Dpkg) != nil {
		return
	}
	for i := range events {
		ev := &events[i]
		pkg, typ, ok := dpkgOwn(ev.Path)
		if !ok || ev.Verdict != diff.VerdictUnowned && ev.Verdict != diff.VerdictUnknown {
			continue
		}
		e := cmp.Or(ev.After, ev.Before)
		switch {
		case ev.Kind == diff.Rename || ev.Kind == diff.Move || e == nil || e.Type != typ:
			continue
		case ev.Kind != diff.Remove && (ev.Changed&modeAttrs != 0 || e.Mode&(syscall.S_ISUID|syscall.S_ISGID) != 0):
			continue
		case ev.Verdict == diff.VerdictUnknown && (typ != tree.TypeDir || ev.Package == nil):
			continue
		}
		if pkg == "" {
			ev.Verdict, ev.Reason = diff.VerdictDatabase, ""
			continue
		}
		t, ok := log[pkg]
		if !ok || ev.Kind == diff.Remove && t.Action == "install" {
			continue
		}
		ev.Verdict, ev.Reason = diff.VerdictDatabase, ""
		ev.Package = &diff.Package{Manager: string(pkgdb.Dpkg), Name: t.Package, Version: cmp.Or(t.New, t.Old), Arch: t.Arch}
		ev.Transaction = newTransaction(t)
	}
}
