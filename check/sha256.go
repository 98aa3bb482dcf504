package check

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/tree"
)

// AddSHA256 sets the SHA-256 of each event's file (Event.SHA256), for a report format
// whose consumers match files by SHA-256 (ecs: file.hash.sha256), after the walk and
// only for the files that have an event: the walk itself computes BLAKE3 alone.
//
// The file is the event's After entry under root ("": /): a regular file that was
// hashed. It is found without following a symbolic link anywhere in its path
// (RESOLVE_NO_SYMLINKS, within the root), first with O_PATH, which opens nothing, and
// read only if it is still a regular file with After's device, inode and size, then
// read once computing BLAKE3 and SHA-256 together. The SHA-256 is set only when the
// BLAKE3 equals After's hash: it is then the digest of the content fim reported, and
// a file changed or swapped since the walk is left without one. A file that cannot
// be read is left without one too; AddSHA256 reports only a root it cannot open.
func AddSHA256(root string, events []diff.Event) error {
	if root == "" {
		root = "/"
	}
	rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(rootfd)
	for i := range events {
		ev := &events[i]
		if e := ev.After; e != nil && e.Type == tree.TypeFile && e.Hashed() {
			ev.SHA256 = fileSHA256(rootfd, ev.Path, e)
		}
	}
	return nil
}

// fileSHA256 returns the SHA-256 in hex of the file at p under rootfd when it is still
// the entry e (same identity, size and BLAKE3), else "".
func fileSHA256(rootfd int, p string, e *tree.Entry) string {
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		return ""
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	pfd, err := unix.Openat2(rootfd, rel, how)
	if err != nil {
		return ""
	}
	defer unix.Close(pfd)
	if !sameFile(pfd, e) {
		return ""
	}
	// The O_PATH descriptor is the checked file: open it for reading through its
	// /proc/self/fd link, which reaches that very inode.
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return ""
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if !sameFile(fd, e) {
		return ""
	}
	b3, s2 := blake3.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(b3, s2), io.LimitReader(f, e.Size+1))
	if err != nil || n != e.Size {
		return ""
	}
	var sum [32]byte
	b3.Sum(sum[:0])
	if sum != e.Hash {
		return ""
	}
	return hex.EncodeToString(s2.Sum(nil))
}

// sameFile reports whether fd is a regular file with e's device, inode and size.
func sameFile(fd int, e *tree.Entry) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && uint64(st.Dev) == e.Device && st.Ino == e.Inode && st.Size == e.Size
}
