package watch

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"fim/tree"
	"fim/walk"
)

// linkMax bounds the files with more than one link that are watched by their inode;
// linkNamesMax bounds the names in the roots kept for each. Past them, a change made
// through a name outside the roots is found by the periodic rescan.
const (
	linkMax      = 4096
	linkNamesMax = 16
)

// inodeWatcher is a backend that can watch one file by its inode, whatever name it is
// changed through: fanotify with an inode mark, inotify with a watch on the file.
type inodeWatcher interface {
	// watchInode watches the file open (O_PATH) at fd and returns what names it in
	// the backend's events.
	watchInode(fd int) (token string, err error)
	// unwatchInode stops watching the file token names, if it still exists.
	unwatchInode(token string)
}

type fileID struct{ dev, ino uint64 }

// linked is a file with more than one link watched by its inode, and its names in the
// roots (real paths).
type linked struct {
	names []string
	token string
	by    inodeWatcher
}

// links keeps the files of the roots that have more than one link watched by their
// inode, so that a change made through a name outside the roots (a hard link in /tmp,
// on the same filesystem) is reported under their names in the roots: the kernel names
// the path a file was changed through, and fim filters paths by name. The walks feed
// it (note); the backends ask it which names an event of theirs stands for (names).
type links struct {
	mu      sync.Mutex
	byID    map[fileID]*linked
	byName  map[string]fileID
	byToken map[string]*linked
	// backend picks the backend that watches a real path, nil for none.
	backend func(real string) inodeWatcher
	full    bool // linkMax was reached once: said once
	logf    func(string, ...any)
}

func newLinks(backend func(string) inodeWatcher, logf func(string, ...any)) *links {
	return &links{byID: map[fileID]*linked{}, byName: map[string]fileID{}, byToken: map[string]*linked{},
		backend: backend, logf: logf}
}

// note takes in what a walk found at the real path: cur, or nothing. A regular file
// with more than one link is watched by its inode from now on; a name that went, or
// whose file has one link left, is let go, and the file with its last name. It costs
// one map lookup for every other entry.
func (l *links) note(real string, cur *tree.Entry) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	id, known := l.byName[real]
	multi := cur != nil && cur.Type == tree.TypeFile && cur.Nlink > 1
	if known && (!multi || id != (fileID{cur.Device, cur.Inode})) {
		l.dropName(real, id)
		known = false
	}
	if !multi || known {
		return
	}
	id = fileID{cur.Device, cur.Inode}
	if f := l.byID[id]; f != nil {
		if len(f.names) < linkNamesMax {
			f.names = append(f.names, real)
			l.byName[real] = id
		}
		return
	}
	if len(l.byID) >= linkMax {
		if !l.full {
			l.full = true
			l.logf("%d files with more than one link are watched by their inode; for the others, a change made through a link outside the watched paths is found by the periodic rescan", linkMax)
		}
		return
	}
	by := l.backend(real)
	if by == nil {
		return
	}
	token, err := watchFile(by, real, id)
	if err != nil {
		return // gone or replaced meanwhile: the event that says so makes it looked at again
	}
	f := &linked{names: []string{real}, token: token, by: by}
	if old := l.byToken[token]; old != nil {
		// The backend reuses what names a file it no longer watched.
		for _, n := range old.names {
			delete(l.byName, n)
		}
		for oid, of := range l.byID {
			if of == old {
				delete(l.byID, oid)
			}
		}
	}
	l.byID[id], l.byName[real], l.byToken[token] = f, id, f
}

// watchFile has by watch the regular file at real, if it still is the file id.
func watchFile(by inodeWatcher, real string, id fileID) (string, error) {
	fd, err := walk.OpenLong(real, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev != id.dev || st.Ino != id.ino {
		return "", fmt.Errorf("%s: replaced", real)
	}
	return by.watchInode(fd)
}

// dropName lets go of one name of the file id, and of the file with its last name.
func (l *links) dropName(real string, id fileID) {
	delete(l.byName, real)
	f := l.byID[id]
	if f == nil {
		return
	}
	for i, n := range f.names {
		if n == real {
			f.names = append(f.names[:i], f.names[i+1:]...)
			break
		}
	}
	if len(f.names) > 0 {
		return
	}
	delete(l.byID, id)
	delete(l.byToken, f.token)
	f.by.unwatchInode(f.token)
}

// names returns the names in the roots of the file token names (nil: not one of
// them). The backends call it for each of their inode events.
func (l *links) names(token string) []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byToken[token]
	if f == nil {
		return nil
	}
	return append([]string(nil), f.names...)
}

// gone forgets the file token names: the backend no longer watches it (inotify
// removed its watch, the file having gone).
func (l *links) gone(token string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byToken[token]
	if f == nil {
		return
	}
	delete(l.byToken, token)
	for _, n := range f.names {
		if id, ok := l.byName[n]; ok {
			delete(l.byName, n)
			delete(l.byID, id)
		}
	}
}

// count returns how many files are watched by their inode.
func (l *links) count() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byID)
}
