package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
	"fim/walk"
)

// Names that try to break out of a report line, an XML attribute or a workflow command.
const (
	percentPath  = "/srv/data/50%,done:yes&<x>\"'"
	injectedPath = "/tmp/a\n::error::x"
)

// watchedEvents are events as fim watch reports them: with a source, a process and a
// count of folded occurrences.
func watchedEvents() []diff.Event {
	resolv := file("/etc/resolv.conf", 220, 0o644, 0x20)
	edited := modify(diff.Change, resolv, fstest.Edit(resolv, func(e *tree.Entry) {
		e.Size, e.Hash, e.Mtime, e.Ctime = 230, digest(0x21), at(time.Hour), at(time.Hour)
	}), diff.AttrContent, diff.AttrSize, diff.AttrMtime, diff.AttrCtime)
	edited.Source, edited.Count = "fanotify", 3
	edited.Process = &diff.Process{PID: 4242, StartTime: 987654, Name: "vi", Exe: "/usr/bin/vi",
		Args: []string{"vi", "/etc/resolv.conf"}, Cwd: "/home/ann", PPID: 4200, Parent: "sudo",
		UID: 1000, EUID: 0, GID: 1000, EGID: 0, User: "ann", EUser: "root", Group: "ann", EGroup: "root",
		AUID: 1000, SessionID: 3, TTY: "pts/1",
		Container: &diff.Container{ID: strings.Repeat("ab", 32), Runtime: "containerd",
			PodUID: "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901", QoS: "burstable"}}
	// Two programs changed the file before fim looked at it.
	edited.Writers = []*diff.Process{{PID: 4100, Name: "cp", PPID: -1, UID: 0, EUID: 0, GID: 0, EGID: 0, AUID: -1, SessionID: -1,
		Args: []string{"cp", "/tmp/r", "/etc/resolv.conf"}, Cwd: "/tmp"}, edited.Process}
	gone := remove(file("/etc/cron.daily/job", 99, 0o755, 0x90))
	gone.Source = "fsnotify"
	gone.Process = &diff.Process{PID: 77, PPID: -1, UID: -1, EUID: -1, GID: -1, EGID: -1, AUID: -1, SessionID: -1, Gone: true}
	// A maintainer script's write, explained by its lineage.
	script := create(file("/etc/hello.conf", 12, 0o644, 0x31))
	script.Source = "fanotify"
	script.Process = &diff.Process{PID: 4321, StartTime: 99, Name: "sh", Exe: "/usr/bin/dash", PPID: 4300, Parent: "dpkg",
		UID: 0, EUID: 0, GID: 0, EGID: 0, AUID: -1, SessionID: -1,
		Lineage: &diff.Lineage{Manager: "dpkg", ManagerPID: 4300, Package: "hello", Script: "postinst", Chain: []string{"dpkg"}}}
	script.Verdict, script.Reason = diff.VerdictScript, "written by hello's postinst under dpkg"
	return []diff.Event{edited, gone, script}
}

// noticeEvents are fim watch's notices, after a change: events held back past
// --max-events-per-minute, and a heartbeat.
func noticeEvents() []diff.Event {
	limited := diff.Event{Kind: diff.RateLimited, Source: "rescan", Notice: &diff.Notice{HeldBack: 1200,
		Paths: []string{"/etc/cron.d/x", "/home/u/\x1b[2Jforged"}, MorePaths: 3}}
	beat := diff.Event{Kind: diff.Heartbeat, Notice: &diff.Notice{Digest: "blake3:" + strings.Repeat("5e", 32), Entries: 4321,
		Marks: map[string]int{"fsnotify": 2, "fanotify": 1}}}
	return []diff.Event{watchedEvents()[0], limited, beat}
}

// formatEvents is the fixed set the format tests render: every kind, every attribute,
// names that are not UTF-8 or that carry a newline, escape sequences, "%", "," and ":",
// and events with a process.
func formatEvents() []diff.Event {
	events := sampleEvents()
	events = append(events, create(file(percentPath, 3, 0o600, 0xf0)))
	return append(events, watchedEvents()...)
}

// formatRenderers are the formats this file covers, by name.
var formatRenderers = []struct {
	name   string
	render Renderer
}{
	{"json", JSON},
	{"junit", JUnit},
	{"sarif", SARIF},
	{"github", GitHub},
	{"ecs", ECS},
}

func render(t *testing.T, r Renderer, events []diff.Event, info Info) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r(&buf, events, info); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFormatsGolden renders the fixed events and no events in each format, compares
// with the golden files, and renders again to show the output is deterministic.
func TestFormatsGolden(t *testing.T) {
	warned := checkInfo
	warned.Warnings = 2
	withBaseline := checkInfo // the header names the baseline, its time in UTC
	withBaseline.Baseline = Baseline{Created: time.Date(2024, 4, 30, 8, 0, 0, 0, time.FixedZone("CEST", 2*60*60)), Generation: 7}
	cases := []struct {
		name   string
		events []diff.Event
		info   Info
	}{
		{"empty", nil, checkInfo},
		{"sample", formatEvents(), warned},
		{"baseline", formatEvents()[:1], withBaseline},
		{"notices", noticeEvents(), checkInfo},
	}
	for _, f := range formatRenderers {
		for _, c := range cases {
			name := f.name + "_" + c.name
			t.Run(name, func(t *testing.T) {
				out := render(t, f.render, c.events, c.info)
				golden(t, name, out)
				if again := render(t, f.render, c.events, c.info); !bytes.Equal(out, again) {
					t.Error("two renderings differ")
				}
				if !utf8.Valid(out) {
					t.Error("output is not valid UTF-8")
				}
				for i, b := range out {
					if b < 0x20 && b != '\n' || b == 0x7f {
						t.Fatalf("raw control byte %#02x at offset %d", b, i)
					}
				}
			})
		}
	}
}

// TestFormatsRegistered checks that every format is reachable by its --format name.
func TestFormatsRegistered(t *testing.T) {
	for _, f := range formatRenderers {
		r, err := Lookup(f.name)
		if err != nil {
			t.Fatal(err)
		}
		// Same function: same output.
		events := formatEvents()
		if !bytes.Equal(render(t, r.Render, events, checkInfo), render(t, f.render, events, checkInfo)) {
			t.Errorf("Formats[%q] is not %s's renderer", f.name, f.name)
		}
	}
}

// TestFormatsKeepInput checks that no renderer changes the events it is given.
func TestFormatsKeepInput(t *testing.T) {
	for _, f := range formatRenderers {
		events := formatEvents()
		render(t, f.render, events, checkInfo)
		if want := formatEvents(); !eventsEqual(events, want) {
			t.Errorf("%s modified its input", f.name)
		}
	}
}

// eventsEqual compares events deeply, entries and processes by value.
func eventsEqual(a, b []diff.Event) bool { return reflect.DeepEqual(a, b) }

// hostileNames are file names that a real directory can hold and that each try to
// break one of the formats.
var hostileNames = []string{
	"plain.txt",
	"new\nline",
	"cr\rname",
	"esc\x1b[31mred",
	"caf\xe9",
	"\xff\xfe",
	"::error::injected",
	"a,title=x::y",
	"50%0A::warning::z",
	"]]><x>&amp;\"'",
	"tab\there",
	"\u202eexe.pdf",
	"\ufffe\uffff",
	"back\\slash",
	"space name.tar.gz",
}

// walkTree creates files named by names in a new temporary directory, plus a symlink
// to each, and returns the directory and the create events of a check against an
// empty baseline, as fim check reports them for a real tree.
func walkTree(t *testing.T, names []string) (string, []diff.Event) {
	t.Helper()
	dir := t.TempDir()
	for i, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name, filepath.Join(dir, "link"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	w := &walk.Walker{Roots: []walk.Root{{Path: dir}}}
	d := &diff.Differ{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, e := range fstest.Collect(t, w.Walk(ctx)) {
		d.Created(e)
	}
	events := d.Events()
	if want := 2*len(names) + 1; len(events) != want { // with the directory itself
		t.Fatalf("%d events from the walk, want %d", len(events), want)
	}
	return dir, events
}

// TestFormatsRealTree renders what a walk of a real tree of hostile names gives and
// checks, from what each format's own consumer would parse, that every event is there
// once, in order, with its name intact (exact where the format is lossless, escaped as
// the text format escapes where it is not).
func TestFormatsRealTree(t *testing.T) {
	dir, events := walkTree(t, hostileNames)

	t.Run("junit", func(t *testing.T) {
		suite := parseJUnit(t, render(t, JUnit, events, checkInfo))
		if len(suite.Cases) != len(events) {
			t.Fatalf("%d test cases for %d events", len(suite.Cases), len(events))
		}
		for i, c := range suite.Cases {
			if want := EscapeText(events[i].Path); c.Name != want {
				t.Errorf("case %d: name %q, want %q", i, c.Name, want)
			}
		}
	})

	t.Run("sarif", func(t *testing.T) {
		log := parseSARIF(t, render(t, SARIF, events, checkInfo))
		for i, got := range sarifPaths(t, log, "") {
			if got != events[i].Path {
				t.Errorf("result %d: uri gives %q, want %q", i, got, events[i].Path)
			}
		}
	})

	t.Run("github", func(t *testing.T) {
		cmds := parseCommands(t, render(t, GitHub, events, checkInfo))
		if len(cmds) != len(events)+1 {
			t.Fatalf("%d commands for %d events", len(cmds), len(events))
		}
		for i, ev := range events {
			if want := EscapeText(ev.Path); cmds[i].props["file"] != want {
				t.Errorf("command %d: file %q, want %q", i, cmds[i].props["file"], want)
			}
		}
	})

	t.Run("ecs", func(t *testing.T) {
		docs := parseECS(t, render(t, ECS, events, checkInfo))
		for i, ev := range events {
			if got := ecsPath(t, docs[i]); got != ev.Path {
				t.Errorf("document %d: path %q, want %q", i, got, ev.Path)
			}
			if ev.After.Type == tree.TypeSymlink {
				if got := ecsTarget(t, docs[i]); got != ev.After.LinkTarget {
					t.Errorf("document %d: target %q, want %q", i, got, ev.After.LinkTarget)
				}
			}
		}
	})

	t.Run("redacted", func(t *testing.T) {
		red := Redact(events, []string{dir})
		for _, f := range formatRenderers {
			out := render(t, f.render, red, checkInfo)
			for _, name := range hostileNames {
				// Every name is long enough, once escaped, not to occur by chance.
				for _, form := range []string{name, EscapeText(name), string(appendFileURI(nil, name))[len("file://"):]} {
					if len(form) > 4 && bytes.Contains(out, []byte(form)) {
						t.Errorf("%s: redacted report holds %q", f.name, form)
					}
				}
			}
		}
	})
}

// uriPath decodes the path of a file:// URI.
func uriPath(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || u.Host != "" {
		t.Fatalf("uri %q: %v", uri, err)
	}
	return u.Path
}

// decodeB64 returns the exact name behind a lossy field and its _b64 companion.
func decodeB64(t *testing.T, lossy any, b64 any) string {
	t.Helper()
	s, _ := lossy.(string)
	if b64 == nil {
		if !utf8.ValidString(s) {
			t.Fatalf("%q is not UTF-8", s)
		}
		return s
	}
	raw, err := base64.StdEncoding.DecodeString(b64.(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// FuzzFormats renders events about arbitrary names in every format and checks what the
// formats promise: well-formed XML with the escaped name, a URI that resolves against
// its root to the exact path, exactly one workflow command per event, JSON with the exact
// path, lines valid against their schema.
func FuzzFormats(f *testing.F) {
	schemas := map[string]*fstest.Schema{}
	for _, format := range SchemaFormats {
		schemas[format] = schemaOf(f, format)
	}
	for _, name := range hostileNames {
		f.Add(name, "target")
	}
	f.Add("x", "\x00\xc3")
	f.Add("", "")
	f.Add("a\r\n::notice::b%", "::error::c\n")
	f.Fuzz(func(t *testing.T, name, target string) {
		if strings.Contains(name, "/") {
			return // a file name: no entry's name holds a slash
		}
		p := "/" + name
		link := entry(p+".lnk", tree.TypeSymlink, 0o777, func(e *tree.Entry) { e.LinkTarget = target })
		moved := fstest.Edit(link, func(e *tree.Entry) { e.Path = "/moved/" + name })
		events := []diff.Event{
			create(file(p, 1, 0o644, 1)),
			create(link),
			modify(diff.Move, link, moved),
		}
		events[0].Process = &diff.Process{PID: 1, Name: name, Args: []string{target}, UID: 0}

		suite := parseJUnit(t, render(t, JUnit, events, checkInfo))
		for i, c := range suite.Cases {
			if c.Name != EscapeText(events[i].Path) {
				t.Fatalf("junit name %q, want %q", c.Name, EscapeText(events[i].Path))
			}
		}
		// Under a root of its own, as fim check --root reports: the URIs are relative
		// to it.
		rooted := checkInfo
		rooted.Root = "/srv/image " + name
		log := parseSARIF(t, render(t, SARIF, events, rooted))
		for i, got := range sarifPaths(t, log, rooted.Root) {
			if got != events[i].Path {
				t.Fatalf("sarif uri gives %q, want %q", got, events[i].Path)
			}
		}
		cmds := parseCommands(t, render(t, GitHub, events, checkInfo))
		if len(cmds) != len(events)+1 {
			t.Fatalf("%d workflow commands for %d events", len(cmds), len(events))
		}
		docs := parseECS(t, render(t, ECS, events, checkInfo))
		for i, ev := range events {
			if got := ecsPath(t, docs[i]); got != ev.Path {
				t.Fatalf("ecs path %q, want %q", got, ev.Path)
			}
		}
		if got := ecsTarget(t, docs[1]); got != target {
			t.Fatalf("ecs target %q, want %q", got, target)
		}
		for format, s := range schemas {
			if err := s.Lines(render(t, renderer(t, format), events, checkInfo)); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
		want := "/" + Redacted
		if p == "/" {
			want = p // a root itself stays
		}
		if red := Redact(events, []string{"/"}); red[0].Path != want {
			t.Fatalf("redacted path %q, want %q", red[0].Path, want)
		}
	})
}

// eachGolden calls check with the name and content of every golden file of a format
// (testdata/FORMAT_*.golden), and fails if there is none.
func eachGolden(t *testing.T, format string, check func(t *testing.T, name string, out []byte)) {
	t.Helper()
	goldens, err := filepath.Glob(filepath.Join("testdata", format+"_*.golden"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden %s reports: %v", format, err)
	}
	for _, g := range goldens {
		out, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		check(t, g, out)
	}
}

// parseJSONDoc decodes one JSON document strictly.
func parseJSONDoc(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
}

// assertXMLChars fails if out holds a character XML 1.0 does not allow.
func assertXMLChars(t *testing.T, out []byte) {
	t.Helper()
	for i, r := range string(out) {
		ok := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xd7ff ||
			r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
		if !ok || r == utf8.RuneError && !strings.HasPrefix(string(out[i:]), "\ufffd") {
			t.Fatalf("character %U at offset %d is not allowed in XML 1.0", r, i)
		}
	}
	var v struct{ XMLName xml.Name }
	if err := xml.Unmarshal(out, &v); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
}

func BenchmarkJUnit(b *testing.B)  { benchmarkRenderer(b, JUnit) }
func BenchmarkSARIF(b *testing.B)  { benchmarkRenderer(b, SARIF) }
func BenchmarkGitHub(b *testing.B) { benchmarkRenderer(b, GitHub) }
func BenchmarkECS(b *testing.B)    { benchmarkRenderer(b, ECS) }

func BenchmarkRedact(b *testing.B) {
	events := benchEvents(1000)
	roots := []string{"/usr/lib", "/etc", "/home"}
	b.ReportAllocs()
	for b.Loop() {
		Redact(events, roots)
	}
}
