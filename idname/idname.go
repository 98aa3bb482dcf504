// Package idname resolves user and group ids to names with the passwd and group files
// of a monitored root, read by fim itself: never through NSS, which may ask the
// network, and never the host's files for an image's ids. fim watch names the users
// of the processes it reports with it, and the ecs format the owners of files.
package idname

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"fim/diff"
)

// Names resolves user and group ids to names with the passwd and group files of one
// root. A file is read again when it changed (size, mtime, inode), looked at most once
// per checkEvery. It is safe for concurrent use.
type Names struct {
	mu     sync.Mutex
	passwd idFile
	group  idFile
}

const checkEvery = 2 * time.Second

// idFileMax bounds what is read of a passwd or group file.
const idFileMax = 4 << 20

type idFile struct {
	root    string // the monitored root
	name    string // relative to it
	names   map[int]string
	checked time.Time
	size    int64
	mtime   time.Time
	ino     uint64
}

// New returns the names of the passwd and group files under root ("": the host's /).
func New(root string) *Names {
	if root == "" {
		root = "/"
	}
	return &Names{passwd: idFile{root: root, name: "etc/passwd"}, group: idFile{root: root, name: "etc/group"}}
}

// User returns the name of a user id, "" when the passwd file names none.
func (n *Names) User(uid int) string {
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.passwd.lookup(uid, time.Now())
}

// Group returns the name of a group id, "" when the group file names none.
func (n *Names) Group(gid int) string {
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.group.lookup(gid, time.Now())
}

// Resolve fills in the user and group names of p's ids.
func (n *Names) Resolve(p *diff.Process) {
	if n == nil || p.Gone {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	p.User, p.EUser = n.passwd.lookup(p.UID, now), n.passwd.lookup(p.EUID, now)
	p.Group, p.EGroup = n.group.lookup(p.GID, now), n.group.lookup(p.EGID, now)
}

func (f *idFile) lookup(id int, now time.Time) string {
	if id < 0 {
		return ""
	}
	if now.Sub(f.checked) >= checkEvery {
		f.checked = now
		f.load()
	}
	return f.names[id]
}

// load reads the file again if it changed; a file that cannot be read names nothing.
// It is opened within the root: a symbolic link in a monitored image cannot make fim
// read the host's files.
func (f *idFile) load() {
	file, err := os.OpenInRoot(f.root, f.name)
	if err != nil {
		f.names = nil
		return
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		f.names = nil
		return
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	if f.names != nil && fi.Size() == f.size && fi.ModTime().Equal(f.mtime) && ino == f.ino {
		return
	}
	data, err := io.ReadAll(io.LimitReader(file, idFileMax))
	if err != nil {
		f.names = nil
		return
	}
	f.names, f.size, f.mtime, f.ino = parseIDFile(data), fi.Size(), fi.ModTime(), ino
}

// parseIDFile parses the lines "name:x:id:..." of a passwd or group file; the first
// name of an id wins, as with getpwuid. Comments, blank and malformed lines are
// skipped, and so are NIS lines ("+", "-"): fim does not ask NIS.
func parseIDFile(data []byte) map[int]string {
	names := map[int]string{}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		f := bytes.SplitN(line, []byte(":"), 4)
		if len(f) < 3 || len(f[0]) == 0 || f[0][0] == '#' || f[0][0] == '+' || f[0][0] == '-' {
			continue
		}
		id, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			continue
		}
		if _, ok := names[int(id)]; !ok {
			names[int(id)] = string(f[0])
		}
	}
	return names
}
