package report

import (
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// base is the time most test entries were last modified.
var base = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

// checkInfo is the Info of the test reports: a check run in a zone other than UTC, to
// show that reports convert to UTC.
var checkInfo = Info{
	Time:    time.Date(2024, 5, 1, 14, 30, 0, 123456789, time.FixedZone("CEST", 2*60*60)),
	Host:    Host{Name: "web1", ID: "0123456789abcdef0123456789abcdef"},
	Version: "1.4.2",
}

// at returns base plus d, in nanoseconds since the epoch, as Entry times are.
func at(d time.Duration) int64 { return base.Add(d).UnixNano() }

// digest returns a recognisable fake content hash: 32 bytes counting up from seed.
func digest(seed byte) [32]byte {
	var h [32]byte
	for i := range h {
		h[i] = seed + byte(i)
	}
	return h
}

// entry builds an entry of a type with common defaults, then applies edits.
func entry(path string, t tree.Type, mode uint32, edits ...func(*tree.Entry)) *tree.Entry {
	e := &tree.Entry{
		Path: path, Type: t, Mode: mode, Nlink: 1,
		Inode: 1000, Device: 0x803, // 8:3
		Mtime: at(0), Ctime: at(0),
	}
	if t == tree.TypeDir {
		e.Nlink = 2
		e.Size = 4096
	}
	for _, edit := range edits {
		edit(e)
	}
	return e
}

// file builds a regular file with a content hash.
func file(path string, size int64, mode uint32, seed byte, edits ...func(*tree.Entry)) *tree.Entry {
	e := entry(path, tree.TypeFile, mode, func(e *tree.Entry) {
		e.Size = size
		e.Hash = digest(seed)
		e.Flags |= tree.FlagHashed
	})
	for _, edit := range edits {
		edit(e)
	}
	return e
}

func changed(attrs ...diff.Attr) diff.AttrSet {
	var s diff.AttrSet
	for _, a := range attrs {
		s = s.With(a)
	}
	return s
}

func create(e *tree.Entry) diff.Event {
	return diff.Event{Kind: diff.Create, Path: e.Path, After: e}
}

func remove(e *tree.Entry) diff.Event {
	return diff.Event{Kind: diff.Remove, Path: e.Path, Before: e}
}

func modify(kind diff.Kind, before, after *tree.Entry, attrs ...diff.Attr) diff.Event {
	ev := diff.Event{Kind: kind, Path: after.Path, Changed: changed(attrs...), Before: before, After: after}
	if kind == diff.Rename || kind == diff.Move {
		ev.OldPath = before.Path
	}
	return ev
}

// Paths that try to forge report lines or talk to the terminal.
const (
	nonUTF8Path  = "/srv/caf\xe9/men\xfc.txt"                         // Latin-1 names
	forgedPath   = "/tmp/x\nchmod   /etc/shadow\x1b[2J\x1b]0;pwn\x07" // newline, ESC, BEL
	bidiPath     = "/home/eve/\u202eexe.pdf\u0085"                    // RLO and NEL (a C1 control)
	escapeTarget = "/tmp/\x1b[31mred\\"
)

// sampleEvents covers every kind and the attribute renderings worth a look.
func sampleEvents() []diff.Event {
	passwd := file("/etc/passwd", 1024, 0o644, 0x10)
	hosts := file("/etc/hosts", 220, 0o644, 0x20, func(e *tree.Entry) { e.Mtime = at(500 * time.Millisecond) })
	thing := file("/var/lib/thing", 10, 0o600, 0x30)
	editor := entry("/etc/alternatives/editor", tree.TypeSymlink, 0o777, func(e *tree.Entry) {
		e.LinkTarget = "/usr/bin/vim.basic"
		e.Size = int64(len(e.LinkTarget))
	})
	su := file("/usr/bin/passwd", 59976, 0o755, 0x40)
	shadow := file("/etc/shadow", 900, 0o640, 0x50, func(e *tree.Entry) { e.GID = 42 })
	secure := file("/etc/secure", 5, 0o600, 0x60, func(e *tree.Entry) {
		e.Xattrs = []tree.Xattr{
			{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")},
			{Name: "user.old", Value: []byte("1")},
			{Name: "user.same", Value: []byte("x")},
		}
	})
	conf := file("/etc/app/a.conf", 33, 0o644, 0x70)
	moved := file("/tmp/payload", 4096, 0o755, 0x80, func(e *tree.Entry) { e.UID, e.GID = 1000, 1000 })

	return []diff.Event{
		create(file("/etc/cron.d/backdoor", 42, 0o644, 0xa0)),
		create(entry("/dev/mem2", tree.TypeCharDev, 0o660, func(e *tree.Entry) { e.Rdev = 0x101 })),
		create(entry("/etc/motd", tree.TypeSymlink, 0o777, func(e *tree.Entry) {
			e.LinkTarget = escapeTarget
			e.Size = int64(len(e.LinkTarget))
		})),
		create(entry("/srv/www", tree.TypeDir, 0o2775)),
		modify(diff.Change, passwd, fstest.Edit(passwd, func(e *tree.Entry) {
			e.Size, e.Hash = 1070, digest(0x11)
			e.Mtime, e.Ctime = at(time.Hour+250*time.Millisecond), at(time.Hour+250*time.Millisecond)
		}), diff.AttrContent, diff.AttrSize, diff.AttrMtime, diff.AttrCtime),
		modify(diff.Change, hosts, fstest.Edit(hosts, func(e *tree.Entry) { e.Mtime = at(2*time.Hour + 500*time.Millisecond) }),
			diff.AttrMtime),
		modify(diff.Change, thing, entry("/var/lib/thing", tree.TypeDir, 0o755, func(e *tree.Entry) {
			e.Inode, e.Mtime, e.Ctime = 2000, at(time.Minute), at(time.Minute)
		}), diff.AttrType, diff.AttrContent, diff.AttrSize, diff.AttrMtime, diff.AttrMode, diff.AttrCtime,
			diff.AttrInode, diff.AttrNlink),
		modify(diff.Change, editor, fstest.Edit(editor, func(e *tree.Entry) {
			e.LinkTarget = "/usr/bin/nano"
			e.Size = int64(len(e.LinkTarget))
		}), diff.AttrSize, diff.AttrLinkTarget),
		modify(diff.Chmod, su, fstest.Edit(su, func(e *tree.Entry) { e.Mode, e.Ctime = 0o4755, at(time.Second) }),
			diff.AttrMode, diff.AttrCtime),
		modify(diff.Chmod, shadow, fstest.Edit(shadow, func(e *tree.Entry) { e.UID, e.GID, e.Mode = 1000, 1000, 0o1666 }),
			diff.AttrMode, diff.AttrUID, diff.AttrGID),
		modify(diff.Chmod, secure, fstest.Edit(secure, func(e *tree.Entry) {
			e.Xattrs = []tree.Xattr{
				{Name: "security.selinux", Value: []byte("system_u:object_r:shadow_t:s0\x00")},
				{Name: "user.new", Value: []byte{0xff, 0x00}},
				{Name: "user.same", Value: []byte("x")},
			}
		}), diff.AttrXattrs),
		modify(diff.Rename, conf, fstest.Edit(conf, func(e *tree.Entry) { e.Path = "/etc/app/b.conf" })),
		modify(diff.Move, moved, fstest.Edit(moved, func(e *tree.Entry) { e.Path, e.Ctime = "/root/.cache/payload", at(3*time.Second) }),
			diff.AttrCtime),
		remove(file("/etc/old.conf", 12, 0o644, 0xb0)),
		remove(entry("/var/log/huge.log", tree.TypeFile, 0o640, func(e *tree.Entry) {
			e.Size, e.Flags = 1<<40, tree.FlagTooLarge
		})),
		create(file(nonUTF8Path, 7, 0o644, 0xc0)),
		create(file(forgedPath, 0, 0o644, 0xd0)),
		create(file(bidiPath, 1, 0o644, 0xe0)),
	}
}
