package walk

import (
	"fim/tree"
	"fmt"
	"maps"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// OwnFiles are the files fim itself holds open while it walks: the baseline it reads,
// the baseline's lock, a baseline being written. They are the only entries a walk
// leaves out whatever their names, and they are told apart by device and inode, taken
// from the open file, never by name: anything else found under their names, or in
// their place, is recorded like any other entry. A file counts as fim's only while it
// is a regular file of fim's own user, with one link and no execute, setuid or setgid
// bit. The zero value holds none; it is safe for concurrent use.
type OwnFiles struct {
	mu    sync.Mutex                     // serializes Add and Remove
	files map[*os.File]devIno            // what Add counted, for Remove
	ids   atomic.Pointer[map[devIno]int] // how many of files are each inode; read without a lock
}

// Add counts the open file f as fim's own, until Remove(f). It returns an error, and
// counts nothing, when f is not a file fim could have made.
func (o *OwnFiles) Add(f *os.File) error {
	id, err := ownID(f)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.files[f]; ok {
		return nil
	}
	if o.files == nil {
		o.files = map[*os.File]devIno{}
	}
	o.files[f] = id
	o.update(id, 1)
	return nil
}

// Remove stops counting f, which may be closed by now, as fim's own.
func (o *OwnFiles) Remove(f *os.File) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id, ok := o.files[f]; ok {
		delete(o.files, f)
		o.update(id, -1)
	}
}

// update adds d to the count of id; the caller holds o.mu.
func (o *OwnFiles) update(id devIno, d int) {
	m := map[devIno]int{}
	if old := o.ids.Load(); old != nil {
		m = maps.Clone(*old)
	}
	if m[id] += d; m[id] <= 0 {
		delete(m, id)
	}
	o.ids.Store(&m)
}

// ownID returns the device and inode of f, if f is a file fim could have made.
func ownID(f *os.File) (devIno, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return devIno{}, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != euid || st.Nlink != 1 || st.Mode&0o7111 != 0 {
		return devIno{}, fmt.Errorf("%s: not a file of fim's (mode %o, owner %d, %d links): recorded like any other", f.Name(), st.Mode&0o7777, st.Uid, st.Nlink)
	}
	return devIno{st.Dev, st.Ino}, nil
}

// Has reports whether e is one of the files.
func (o *OwnFiles) Has(e *tree.Entry) bool {
	if o == nil || e.Type != tree.TypeFile {
		return false
	}
	m := o.ids.Load()
	return m != nil && (*m)[devIno{e.Device, e.Inode}] > 0
}
