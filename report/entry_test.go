package report

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"fim/diff"
	"fim/tree"
)

// sampleEntries are the entries of the sample events, and a few more kinds.
func sampleEntries() []*tree.Entry {
	var es []*tree.Entry
	for _, ev := range sampleEvents() {
		if ev.After != nil {
			es = append(es, ev.After)
		} else {
			es = append(es, ev.Before)
		}
	}
	return append(es,
		entry("/run/fifo", tree.TypeFIFO, 0o600),
		entry("/run/sock", tree.TypeSocket, 0o777),
		entry("/dev/sda", tree.TypeBlockDev, 0o660, func(e *tree.Entry) { e.Rdev = 0x800 }),
		entry("/root/locked", tree.TypeDir, 0o700, func(e *tree.Entry) { e.Flags = tree.FlagUnreadable }),
		file("/var/log/busy.log", 77, 0o644, 0, func(e *tree.Entry) { e.Flags = tree.FlagUnstable }),
		entry("/before/1970", tree.TypeFile, 0o644, func(e *tree.Entry) { e.Mtime = -1e9; e.Flags = tree.FlagUnreadable }),
	)
}

func TestEntryText(t *testing.T) {
	var buf bytes.Buffer
	ew, err := NewEntryWriter(&buf, "text")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sampleEntries() {
		if err := ew.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := ew.Flush(); err != nil {
		t.Fatal(err)
	}
	assertNoControl(t, buf.Bytes())
	golden(t, "entries", buf.Bytes())
	if n := strings.Count(buf.String(), "\n"); n != len(sampleEntries()) {
		t.Errorf("%d lines for %d entries", n, len(sampleEntries()))
	}
	if got := string(AppendEntry(nil, sampleEntries()[0])); got+"\n" != strings.SplitAfter(buf.String(), "\n")[0] {
		t.Errorf("AppendEntry %q is not the first line", got)
	}
}

// TestEntryJSON reads every line back: the path's exact bytes, and the fields of the
// json report's "file" object for the same entry.
func TestEntryJSON(t *testing.T) {
	var buf bytes.Buffer
	ew, err := NewEntryWriter(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	entries := sampleEntries()
	for _, e := range entries {
		if err := ew.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := ew.Flush(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	i := 0
	for ; sc.Scan(); i++ {
		e := entries[i]
		var got map[string]any
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Bytes())
		}
		path := got["path"].(string)
		if b64, ok := got["path_b64"].(string); ok {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			path = string(raw)
		}
		if path != e.Path {
			t.Errorf("line %d: path %q, want %q", i, path, e.Path)
		}
		delete(got, "path")
		delete(got, "path_b64")

		var report bytes.Buffer
		if err := JSON(&report, []diff.Event{{Kind: diff.Create, Path: e.Path, After: e}}, checkInfo); err != nil {
			t.Fatal(err)
		}
		var ev struct{ File map[string]any }
		if err := json.Unmarshal(report.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ev.File) {
			t.Errorf("line %d: %v\nwant the report's file object %v", i, got, ev.File)
		}
	}
	if i != len(entries) {
		t.Errorf("%d lines for %d entries", i, len(entries))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEntryWriterErrors(t *testing.T) {
	if _, err := NewEntryWriter(&bytes.Buffer{}, "xml"); err == nil || !strings.Contains(err.Error(), `unknown format "xml" (want one of text, json)`) {
		t.Errorf("unknown format: %v", err)
	}
	for _, format := range EntryFormats {
		ew, err := NewEntryWriter(failWriter{}, format)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for range 1000 { // more than the buffer holds
			if werr = ew.Write(sampleEntries()[0]); werr != nil {
				break
			}
		}
		if err := ew.Flush(); werr == nil && err == nil || err != nil && !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: write error %v, flush error %v", format, werr, err)
		}
	}
}
