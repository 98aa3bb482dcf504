package watch

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout of the records read from a fanotify group with FID reporting (fanotify(7)).
const (
	metadataLen = 24 // struct fanotify_event_metadata
	infoHdrLen  = 4  // struct fanotify_event_info_header
	fsidLen     = 8  // __kernel_fsid_t
	handleHdr   = 8  // struct file_handle: handle_bytes, handle_type
	metaVersion = 3  // FANOTIFY_METADATA_VERSION
)

// Info record types (FAN_EVENT_INFO_TYPE_*).
const (
	infoFID         = 1
	infoDFIDName    = 2
	infoDFID        = 3
	infoPIDFD       = 4
	infoError       = 5
	infoRange       = 6
	infoMnt         = 7
	infoOldDFIDName = 10
	infoNewDFIDName = 12
)

// FID is one file identifier record of an event: the object (or its parent directory)
// as a file handle, and for the DFID_NAME kinds the entry name inside that directory.
type FID struct {
	Kind       uint8  // infoFID, infoDFID, infoDFIDName, infoOldDFIDName or infoNewDFIDName
	Fsid       uint64 // filesystem id
	HandleType int32
	Handle     []byte // opaque handle bytes
	Name       string // entry name, for the DFID_NAME kinds ("." when the event is on the directory itself)
}

// RawEvent is one decoded fanotify event.
type RawEvent struct {
	Mask uint64
	PID  int32
	FD   int32 // FAN_NOFD (-1) with FID reporting
	FIDs []FID
}

var errShort = errors.New("short fanotify record")

// ParseEvents decodes a buffer read from a fanotify descriptor. It never panics: a
// malformed record is an error, and the events before it are returned.
func ParseEvents(buf []byte) ([]RawEvent, error) {
	var out []RawEvent
	for len(buf) > 0 {
		if len(buf) < metadataLen {
			return out, errShort
		}
		evLen := binary.NativeEndian.Uint32(buf[0:])
		vers := buf[4]
		metaLen := binary.NativeEndian.Uint16(buf[6:])
		if vers != metaVersion {
			return out, fmt.Errorf("fanotify metadata version %d, want %d", vers, metaVersion)
		}
		if evLen < metadataLen || uint64(evLen) > uint64(len(buf)) || metaLen < metadataLen || uint32(metaLen) > evLen {
			return out, fmt.Errorf("fanotify record: bad lengths (event %d, metadata %d, buffer %d)", evLen, metaLen, len(buf))
		}
		ev := RawEvent{
			Mask: binary.NativeEndian.Uint64(buf[8:]),
			FD:   int32(binary.NativeEndian.Uint32(buf[16:])),
			PID:  int32(binary.NativeEndian.Uint32(buf[20:])),
		}
		info := buf[metaLen:evLen]
		for len(info) > 0 {
			fid, n, err := parseInfo(info)
			if err != nil {
				return out, err
			}
			if fid != nil {
				ev.FIDs = append(ev.FIDs, *fid)
			}
			info = info[n:]
		}
		out = append(out, ev)
		buf = buf[evLen:]
	}
	return out, nil
}

// parseInfo decodes one info record; records fim does not use are skipped.
func parseInfo(b []byte) (*FID, int, error) {
	if len(b) < infoHdrLen {
		return nil, 0, errShort
	}
	typ := b[0]
	n := int(binary.NativeEndian.Uint16(b[2:]))
	if n < infoHdrLen || n > len(b) {
		return nil, 0, fmt.Errorf("fanotify info record: bad length %d of %d", n, len(b))
	}
	switch typ {
	case infoFID, infoDFID, infoDFIDName, infoOldDFIDName, infoNewDFIDName:
	default:
		return nil, n, nil // pidfd, error, range, mount: not used
	}
	rec := b[infoHdrLen:n]
	if len(rec) < fsidLen+handleHdr {
		return nil, 0, fmt.Errorf("fanotify info record type %d: %w", typ, errShort)
	}
	fid := &FID{Kind: typ, Fsid: binary.NativeEndian.Uint64(rec[0:])}
	hb := binary.NativeEndian.Uint32(rec[fsidLen:])
	fid.HandleType = int32(binary.NativeEndian.Uint32(rec[fsidLen+4:]))
	rest := rec[fsidLen+handleHdr:]
	if uint64(hb) > uint64(len(rest)) {
		return nil, 0, fmt.Errorf("fanotify file handle: %d bytes of %d", hb, len(rest))
	}
	fid.Handle = append([]byte(nil), rest[:hb]...)
	rest = rest[hb:]
	if typ == infoDFIDName || typ == infoOldDFIDName || typ == infoNewDFIDName {
		end := 0
		for end < len(rest) && rest[end] != 0 {
			end++
		}
		if end == len(rest) {
			return nil, 0, errors.New("fanotify name: no terminating NUL")
		}
		fid.Name = string(rest[:end])
	}
	return fid, n, nil
}
