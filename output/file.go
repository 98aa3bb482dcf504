package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// fileSink appends batches to a regular file and fsyncs after each one, so a report
// that Write accepted survives a crash.
type fileSink struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// openFile opens path for appending, creating it 0600. It follows no symlink in the last
// component, never blocks (a FIFO without a reader fails at once), and refuses anything
// but a regular file: a report belongs in a file that can be fsync'd and read back.
func openFile(path string) (*fileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("output file %s: is a symbolic link, which fim does not follow", path)
		}
		return nil, fmt.Errorf("output file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("output file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("output file %s: not a regular file (%s)", path, typeName(fi.Mode()))
	}
	return &fileSink{f: f, path: path}, nil
}

// typeName names the type of a file that is not regular.
func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "of an unknown type"
}

// Write appends batch and fsyncs the file.
func (s *fileSink) Write(batch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("output file %s: %w", s.path, os.ErrClosed)
	}
	if len(batch) == 0 {
		return nil
	}
	if _, err := s.f.Write(batch); err != nil {
		return err // *fs.PathError: names the file
	}
	return s.f.Sync()
}

// Close closes the file.
func (s *fileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
