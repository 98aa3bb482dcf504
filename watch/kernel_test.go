package watch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writerEnv makes the test binary a writer of the tests below: another process, as
// fanotify leaves out the watcher's own, that changes a file in one of the ways the
// kernel reports differently.
const writerEnv = "FIM_TEST_WRITER"

func TestMain(m *testing.M) {
	if how := os.Getenv(writerEnv); how != "" {
		if err := write(how, os.Args[1]); err != nil {
			fmt.Fprintf(os.Stderr, "%s %s: %v\n", how, os.Args[1], err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// write overwrites the file at p with as many 'x' as it has bytes.
func write(how, p string) error {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	data := make([]byte, st.Size)
	for i := range data {
		data[i] = 'x'
	}
	switch how {
	case "write": // write(2), then close: modify and close-write
		_, err = unix.Pwrite(fd, data, 0)
		return err
	case "mmap": // through a shared mapping: no modify event at all, close-write at the end
		m, err := unix.Mmap(fd, 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		copy(m, data)
		if err := unix.Msync(m, unix.MS_SYNC); err != nil {
			return err
		}
		return unix.Munmap(m)
	case "aio": // Linux AIO (io_submit): no modify event either
		return aioWrite(fd, data)
	}
	return fmt.Errorf("unknown writer %q", how)
}

// iocb is struct iocb of linux/aio_abi.h (little-endian layout).
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

// aioWrite writes data at offset 0 with io_submit and waits for it.
func aioWrite(fd int, data []byte) error {
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return fmt.Errorf("io_setup: %w", e)
	}
	defer unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0)
	cb := iocb{opcode: 1 /* IOCB_CMD_PWRITE */, fildes: uint32(fd),
		buf: uint64(uintptr(unsafe.Pointer(&data[0]))), nbytes: uint64(len(data))}
	cbs := []*iocb{&cb}
	if _, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, ctx, 1, uintptr(unsafe.Pointer(&cbs[0]))); e != 0 {
		return fmt.Errorf("io_submit: %w", e)
	}
	var ev [4]uint64 // struct io_event
	if _, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, ctx, 1, 1, uintptr(unsafe.Pointer(&ev[0])), 0, 0); e != 0 {
		return fmt.Errorf("io_getevents: %w", e)
	}
	if res := int64(ev[2]); res != int64(len(data)) {
		return fmt.Errorf("aio write: result %d, want %d", res, len(data))
	}
	return nil
}

// writeAs runs the test binary as a writer of p, and returns its pid.
func (r *watcherRig) writeAs(how, p string) int {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], p)
	cmd.Env = append(os.Environ(), writerEnv+"="+how)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("writer %s %s: %v\n%s", how, p, err, out)
	}
	return cmd.Process.Pid
}

// TestWatchContentWithoutModify changes a file's content in each way the kernel
// reports, under each backend: with write(2), through a shared mapping and with Linux
// AIO. The last two make no modify event; the close of the file does, and each change
// is reported with its writer when the backend names one.
func TestWatchContentWithoutModify(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			hows := []string{"write", "mmap", "aio"}
			for _, how := range hows {
				if err := os.WriteFile(filepath.Join(root, how), []byte("0123456789"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := startWatcher(t, backend, root)
			for _, how := range hows {
				pid := r.writeAs(how, filepath.Join(root, how))
				if backend != "fanotify" {
					pid = 0
				}
				r.expect(backend, pid, "change T/"+how+" [content,mtime,ctime]")
			}
		})
	}
}
