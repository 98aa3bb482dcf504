package watch

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// inotifyHdrLen is the length of struct inotify_event before its name.
const inotifyHdrLen = 16

// InotifyEvent is one decoded inotify record: the watch it came from, what happened
// and, for an event on an entry of a watched directory, the entry's name.
type InotifyEvent struct {
	WD     int32
	Mask   uint32
	Cookie uint32
	Name   string
}

// ParseInotify decodes a buffer read from an inotify descriptor. It never panics: a
// malformed record is an error, and the events before it are returned.
func ParseInotify(buf []byte) ([]InotifyEvent, error) {
	var out []InotifyEvent
	for len(buf) > 0 {
		if len(buf) < inotifyHdrLen {
			return out, fmt.Errorf("inotify record: %d bytes, want at least %d", len(buf), inotifyHdrLen)
		}
		ev := InotifyEvent{
			WD:     int32(binary.NativeEndian.Uint32(buf[0:])),
			Mask:   binary.NativeEndian.Uint32(buf[4:]),
			Cookie: binary.NativeEndian.Uint32(buf[8:]),
		}
		n := binary.NativeEndian.Uint32(buf[12:])
		if uint64(n) > uint64(len(buf)-inotifyHdrLen) {
			return out, fmt.Errorf("inotify record: name of %d bytes in %d", n, len(buf)-inotifyHdrLen)
		}
		name := buf[inotifyHdrLen : inotifyHdrLen+n]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i] // the kernel pads the name with NULs
		}
		ev.Name = string(name)
		out = append(out, ev)
		buf = buf[inotifyHdrLen+n:]
	}
	return out, nil
}
