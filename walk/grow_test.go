package walk

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"fim/internal/fstest"
)

// TestHashPrefix checks that the one read that hashes a file also gives the digest of
// its first prefix bytes, wherever they end: in the first buffer, on a buffer's
// boundary, in a later one, at the end of the file, or past it.
func TestHashPrefix(t *testing.T) {
	const buf = 256 << 10 // newHashBuf's
	dir := t.TempDir()
	for _, c := range []struct{ size, prefix int64 }{
		{0, 0}, {10, 0}, {10, 4}, {10, 10}, {10, 11},
		{buf, buf - 1}, {buf, buf}, {buf + 1, buf}, {buf + 1, buf + 1},
		{3*buf + 17, 1}, {3*buf + 17, 2*buf + 5}, {3*buf + 17, 2 * buf}, {3*buf + 17, 3*buf + 17},
	} {
		data := []byte(fstest.BlobData(int(c.size), 7))
		name := filepath.Join(dir, "f")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(name, unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		sum, prefixSum, n, err := newHashBuf().hashFD(fd, 0, c.size, c.prefix, nil, nil)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("size %d prefix %d: %v", c.size, c.prefix, err)
		}
		if n != c.size || sum != blake3.Sum256(data) {
			t.Errorf("size %d prefix %d: read %d, digest %x, want the file's", c.size, c.prefix, n, sum[:4])
		}
		want := [32]byte{}
		if c.prefix <= c.size {
			want = blake3.Sum256(data[:c.prefix])
		}
		if prefixSum != want {
			t.Errorf("size %d prefix %d: prefix digest %x, want %x", c.size, c.prefix, prefixSum[:4], want[:4])
		}
	}
}
