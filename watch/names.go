package watch

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

// idNames resolves user and group ids to names with the passwd and group files of the
// monitored root, read by fim itself: never through NSS, which may ask the network. A
// file is read again when it changed (size, mtime, inode), looked at most once per
// idNamesCheck.
type idNames struct {
	mu     sync.Mutex
	passwd idFile
	group  idFile
}

const idNamesCheck = 2 * time.Second

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

func newIDNames(prefix string) *idNames {
	if prefix == "" {
		prefix = "/"
	}
	return &idNames{passwd: idFile{root: prefix, name: "etc/passwd"}, group: idFile{root: prefix, name: "etc/group"}}
}

// resolve fills in the user and group names of p's ids.
func (n *idNames) resolve(p *diff.Process) {
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
	if now.Sub(f.checked) >= idNamesCheck {
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
