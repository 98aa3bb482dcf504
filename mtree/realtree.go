package mtree

import (
	"errors"
	"fim/tree"
	"fmt"
	"hash"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// realTree is the real directory that recorded path "/" stands for, opened once.
// Paths are opened beneath it with openat2: no symlink is followed on the way, the last
// name included, and nothing outside it is reached.
type realTree struct {
	root string
	fd   int
	buf  []byte
	b3   *blake3.Hasher
}

func openTree(root string) (*realTree, error) {
	if root == "" {
		root = "/"
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open tree %s: %w", root, err)
	}
	return &realTree{root: root, fd: fd, buf: make([]byte, 256<<10), b3: blake3.New()}, nil
}

func (t *realTree) close() { unix.Close(t.fd) }

// name is the real path of recorded path p, encoded as a spec encodes names, for
// one-line messages.
func (t *realTree) name(p string) string {
	if t.root != "/" {
		p = t.root + p
	}
	return string(appendVis(nil, p))
}

// open opens recorded path p beneath the tree.
func (t *realTree) open(p string, flags int) (int, error) {
	rel := "."
	if p != "/" {
		rel = p[1:]
	}
	for {
		fd, err := unix.Openat2(t.fd, rel, &unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// stat returns the status of recorded path p itself (a symlink is not followed).
func (t *realTree) stat(p string) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := t.open(p, unix.O_PATH)
	if err != nil {
		return st, fmt.Errorf("%s: %w", t.name(p), err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return st, fmt.Errorf("%s: %w", t.name(p), err)
	}
	return st, nil
}

// hash reads the regular file at recorded path p, without blocking and without
// following a symlink, and returns its BLAKE3 digest and its length; other, if not
// nil, is reset and fed the same bytes.
func (t *realTree) hash(p string, other hash.Hash) ([32]byte, int64, error) {
	var sum [32]byte
	// Look before opening: opening a device can have effects of its own.
	before, err := t.stat(p)
	if err != nil {
		return sum, 0, err
	}
	if typ := tree.TypeFromMode(before.Mode); typ != tree.TypeFile {
		return sum, 0, fmt.Errorf("%s is a %s, not a regular file", t.name(p), typ)
	}
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY
	fd, err := t.open(p, flags|unix.O_NOATIME)
	if errors.Is(err, unix.EPERM) {
		fd, err = t.open(p, flags) // O_NOATIME needs ownership or CAP_FOWNER
	}
	if err != nil {
		return sum, 0, fmt.Errorf("%s: %w", t.name(p), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return sum, 0, fmt.Errorf("%s: %w", t.name(p), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != before.Ino || st.Dev != before.Dev {
		return sum, 0, fmt.Errorf("%s: replaced while being opened", t.name(p))
	}
	t.b3.Reset()
	if other != nil {
		other.Reset()
	}
	var total int64
	for {
		n, err := unix.Read(fd, t.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sum, 0, fmt.Errorf("read %s: %w", t.name(p), err)
		}
		if n == 0 {
			break
		}
		t.b3.Write(t.buf[:n])
		if other != nil {
			other.Write(t.buf[:n])
		}
		total += int64(n)
	}
	t.b3.Sum(sum[:0])
	return sum, total, nil
}
