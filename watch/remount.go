package watch

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// rootID is what a root is: the directory at its path, on the mount that shows it.
// The mount is named by its unique id where the kernel has one (Linux 6.8 and later):
// the ordinary mount id, like the device number, is handed out again as soon as it is
// free, so a filesystem unmounted and mounted again at once can look the same as the
// one before it.
type rootID struct {
	mnt, dev, ino uint64
	ok            bool
}

func idOf(real string) rootID {
	var stx unix.Statx_t
	// A kernel without unique ids fills in the ordinary one.
	if unix.Statx(unix.AT_FDCWD, real, unix.AT_STATX_SYNC_AS_STAT|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_MNT_ID_UNIQUE, &stx) != nil {
		return rootID{}
	}
	return rootID{mnt: stx.Mnt_id, dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), ino: stx.Ino, ok: true}
}

// rootAt is a root and what it was when it was first watched.
type rootAt struct {
	real string
	id   rootID
}

// watchMounts calls again with each root whose directory is another one than it was
// (see roots) after the mount table changed: its filesystem was unmounted, or one was
// mounted there. A root removed and made again is no concern of it (the backends see
// that as a change in its parent). It returns when ctx ends.
func watchMounts(ctx context.Context, roots []rootAt, again func(real string)) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return // no /proc: the periodic rescan is all there is
	}
	defer f.Close()
	ids := make([]rootID, len(roots))
	for i, r := range roots {
		ids[i] = r.id
	}
	check := func() (changed bool) {
		for i, r := range roots {
			id := idOf(r.real)
			if id.ok && (!ids[i].ok || id.mnt != ids[i].mnt || id.dev != ids[i].dev) {
				again(r.real)
				changed = true
			}
			ids[i] = id
		}
		return changed
	}
	// The kernel raises the notification while it still changes the mount table, so
	// a look at once may see the old state; and it wakes no poller for a mount made a
	// few milliseconds after an unmount at the same place (Linux 6.18 misses one 5ms
	// after), so that the new filesystem would be marked only at the next look, after
	// the rescan that followed the unmount had seen it: what was made on it meanwhile
	// came without its process. The roots are looked at every second, and every
	// settleEvery for settleFor after each change.
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
	var settling time.Time
	for ctx.Err() == nil {
		if check() {
			settling = time.Now().Add(settleFor)
		}
		wait := time.Second
		if time.Now().Before(settling) {
			wait = settleEvery
		}
		if _, err := unix.Poll(fds, int(wait/time.Millisecond)); err != nil && err != unix.EINTR {
			return
		}
	}
}

// settleEvery and settleFor are how often and how long the roots are looked at after
// the mount table changed (see watchMounts).
const (
	settleEvery = 5 * time.Millisecond
	settleFor   = 500 * time.Millisecond
)
