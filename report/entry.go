package report

import (
	"bufio"
	"encoding/json"
	"fim/tree"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EntryFormats are the formats of an EntryWriter.
var EntryFormats = []string{"text", "json"}

// EntryWriter writes recorded entries, one per line, as fim list shows them. It
// buffers: call Flush at the end.
//
// The text format reads like ls -l: mode (as in the text report), uid, gid, size (for a
// device, its "major:minor"), mtime in RFC 3339 UTC, the first 16 hex digits of the
// content hash (or why there is none, as "(too_large)", or "-" for an entry without
// content), and the escaped path, with "-> target" for a symlink.
//
// The json format is one object per line: "path" (and "path_b64" when the path is not
// valid UTF-8) followed by the fields of the "file" object of the json report, with the
// same lossless encodings.
type EntryWriter struct {
	bw   *bufio.Writer
	enc  *json.Encoder // nil: text
	line []byte
}

// NewEntryWriter returns a writer of entries to w in format, one of EntryFormats.
func NewEntryWriter(w io.Writer, format string) (*EntryWriter, error) {
	ew := &EntryWriter{bw: bufio.NewWriter(w)}
	switch format {
	case "text":
	case "json":
		ew.enc = json.NewEncoder(ew.bw)
		ew.enc.SetEscapeHTML(false)
	default:
		return nil, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(EntryFormats, ", "))
	}
	return ew, nil
}

// jsonRecord is one line of the json format of an EntryWriter.
type jsonRecord struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"`
	jsonEntry
}

// Write writes one entry. Write errors are reported by Flush.
func (ew *EntryWriter) Write(e *tree.Entry) error {
	if ew.enc != nil {
		if err := ew.enc.Encode(&jsonRecord{Path: e.Path, PathB64: rawIfInvalid(e.Path), jsonEntry: *newJSONEntry(e)}); err != nil {
			return fmt.Errorf("write entry %s: %w", EscapeText(e.Path), err)
		}
		return nil
	}
	ew.line = AppendEntry(ew.line[:0], e)
	ew.line = append(ew.line, '\n')
	_, _ = ew.bw.Write(ew.line) // sticky in bufio.Writer, reported by Flush
	return nil
}

// Flush writes what is buffered.
func (ew *EntryWriter) Flush() error {
	if err := ew.bw.Flush(); err != nil {
		return fmt.Errorf("write entries: %w", err)
	}
	return nil
}

// AppendEntry appends the text line of e, as an EntryWriter writes it, without the
// newline.
func AppendEntry(b []byte, e *tree.Entry) []byte {
	b = appendMode(b, e)
	b = appendRight(b, strconv.AppendUint(nil, uint64(e.UID), 10), 6)
	b = appendRight(b, strconv.AppendUint(nil, uint64(e.GID), 10), 6)
	var size []byte
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		size = appendDev(nil, e.Rdev)
	} else {
		size = strconv.AppendInt(nil, e.Size, 10)
	}
	b = appendRight(b, size, 12)
	b = append(b, ' ')
	b = time.Unix(0, e.Mtime).UTC().AppendFormat(b, time.RFC3339)
	b = append(b, "  "...)
	start := len(b)
	if e.Type == tree.TypeFile || e.Flags&(tree.FlagUnreadable|tree.FlagUnstable|tree.FlagTooLarge) != 0 {
		b = appendHash(b, e)
	} else {
		b = append(b, '-')
	}
	for len(b)-start < 16 {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = appendEscaped(b, e.Path)
	if e.Type == tree.TypeSymlink {
		b = append(b, " -> "...)
		b = appendEscaped(b, e.LinkTarget)
	}
	return b
}

// appendRight appends a space and then v right-aligned in width columns.
func appendRight(b, v []byte, width int) []byte {
	b = append(b, ' ')
	for n := len(v); n < width; n++ {
		b = append(b, ' ')
	}
	return append(b, v...)
}
