package report

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

func TestLookup(t *testing.T) {
	for _, f := range Formats {
		if r, err := Lookup(f.Name); err != nil || r == nil || r.Name != f.Name {
			t.Errorf("Lookup(%q) = %v, %v", f.Name, r, err)
		}
	}
	r, err := Lookup("xml")
	if err == nil || r != nil {
		t.Fatalf("Lookup(xml) = %v, %v; want an error", r, err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"xml"`) || !strings.Contains(msg, "ecs, github, json, junit, sarif, text") {
		t.Errorf("error %q does not name the format and the valid ones", msg)
	}
}

func TestLocalHost(t *testing.T) {
	h := LocalHost()
	if h.ID != strings.TrimSpace(h.ID) {
		t.Errorf("machine id %q is not trimmed", h.ID)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteError(t *testing.T) {
	for _, f := range Formats {
		if err := f.Render(failingWriter{}, sampleEvents(), checkInfo); err == nil {
			t.Errorf("%s: no error from a failing writer", f.Name)
		}
	}
}

// benchEvents returns n events of every kind, as a large check would produce.
func benchEvents(n int) []diff.Event {
	events := make([]diff.Event, 0, n)
	for i := 0; len(events) < n; i++ {
		path := fmt.Sprintf("/usr/lib/x86_64-linux-gnu/pkg%03d/lib%d.so.1", i/10, i)
		before := file(path, int64(1000+i), 0o644, byte(i), func(e *tree.Entry) {
			e.Xattrs = []tree.Xattr{{Name: "security.ima", Value: []byte{1, 2, 3}}}
		})
		after := fstest.Edit(before, func(e *tree.Entry) {
			e.Size++
			e.Hash = digest(byte(i + 1))
			e.Mtime += int64(time.Second + 1)
			e.Mode = 0o4755
		})
		switch diff.Kinds()[i%6] {
		case diff.Create:
			events = append(events, create(after))
		case diff.Remove:
			events = append(events, remove(before))
		case diff.Change:
			events = append(events, modify(diff.Change, before, after, diff.AttrContent, diff.AttrSize, diff.AttrMtime))
		case diff.Chmod:
			events = append(events, modify(diff.Chmod, before, after, diff.AttrMode))
		case diff.Rename:
			events = append(events, modify(diff.Rename, before, fstest.Edit(after, func(e *tree.Entry) { e.Path += ".new" })))
		case diff.Move:
			events = append(events, modify(diff.Move, before, fstest.Edit(after, func(e *tree.Entry) { e.Path = "/tmp" + e.Path }),
				diff.AttrCtime))
		}
	}
	return events
}

func benchmarkRenderer(b *testing.B, r Renderer) {
	events := benchEvents(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := r(io.Discard, events, checkInfo); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSON(b *testing.B) { benchmarkRenderer(b, JSON) }
func BenchmarkText(b *testing.B) { benchmarkRenderer(b, Text) }

func TestContentTypes(t *testing.T) {
	for _, f := range Formats {
		if f.ContentType == "" {
			t.Errorf("format %s has no content type", f.Name)
		}
	}
}

// TestHelp checks the --format help made from the registry: every name, in order,
// with its note.
func TestHelp(t *testing.T) {
	want := "text, json (one object per line), ecs (Elastic Common Schema, one per line), junit, sarif or github (Actions annotations)"
	if got := Help(); got != want {
		t.Errorf("Help() = %q, want %q", got, want)
	}
	if got := strings.Join(FormatNames(), ", "); got != "ecs, github, json, junit, sarif, text" {
		t.Errorf("FormatNames() = %q", got)
	}
}
