package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// The keys of an event and of an entry object, in output order.
var (
	eventKeys = []string{"fim", "type", "path", "path_b64", "old_path", "old_path_b64", "changed", "file", "before",
		"time", "host", "baseline", "source", "process", "writers", "count", "verdict", "verdict_reason", "package",
		"transaction", "severity", "reasons"}
	entryKeys = []string{"type", "size", "mode", "uid", "gid", "inode", "device", "nlink", "rdev", "mtime",
		"ctime", "hash", "link_target", "link_target_b64", "xattrs", "flags"}
)

// keysOf returns the keys of a JSON object in the order they appear.
func keysOf(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// assertOrder fails unless keys is a subsequence of order, with no unknown key.
func assertOrder(t *testing.T, what string, keys, order []string) {
	t.Helper()
	last := -1
	for _, k := range keys {
		i := slices.Index(order, k)
		if i < 0 {
			t.Errorf("%s: unexpected key %q", what, k)
			continue
		}
		if i <= last {
			t.Errorf("%s: keys %v out of order (want order %v)", what, keys, order)
			return
		}
		last = i
	}
}

// renderJSON renders events and decodes each line, checking the NDJSON framing, the
// key order and the fields every event has.
func renderJSON(t *testing.T, events []diff.Event) (lines []map[string]any, raw [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := JSON(&buf, events, checkInfo); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	if len(events) == 0 {
		if len(out) != 0 {
			t.Fatalf("output for no events: %q", out)
		}
		return nil, nil
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Fatal("output does not end in a newline")
	}
	raw = bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(raw) != len(events) {
		t.Fatalf("%d lines for %d events", len(raw), len(events))
	}
	for i, line := range raw {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		assertOrder(t, "event", keysOf(t, line), eventKeys)
		for _, side := range []string{"file", "before"} {
			var nested map[string]json.RawMessage
			_ = json.Unmarshal(line, &nested)
			if obj, ok := nested[side]; ok {
				assertOrder(t, side, keysOf(t, obj), entryKeys)
			}
		}

		if want := map[string]any{"format": float64(FormatVersion)}; !reflect.DeepEqual(m["fim"], want) {
			t.Errorf("line %d: fim = %v, want %v", i, m["fim"], want)
		}
		if m["type"] != events[i].Kind.String() {
			t.Errorf("line %d: type = %v, want %v", i, m["type"], events[i].Kind)
		}
		if _, ok := m["path"].(string); !ok {
			t.Errorf("line %d: path %v is not a string", i, m["path"])
		}
		if _, ok := m["changed"].([]any); !ok {
			t.Errorf("line %d: changed = %#v, want an array", i, m["changed"])
		}
		when, err := time.Parse(time.RFC3339Nano, m["time"].(string))
		if err != nil || !when.Equal(checkInfo.Time) || !strings.HasSuffix(m["time"].(string), "Z") {
			t.Errorf("line %d: time %v (%v), want %v in UTC", i, m["time"], err, checkInfo.Time)
		}
		wantHost := map[string]any{"name": "web1", "id": "0123456789abcdef0123456789abcdef"}
		if !reflect.DeepEqual(m["host"], wantHost) {
			t.Errorf("line %d: host = %v, want %v", i, m["host"], wantHost)
		}
		lines = append(lines, m)
	}
	return lines, raw
}

// byPath finds the decoded line of an event by its path.
func byPath(t *testing.T, lines []map[string]any, path string) map[string]any {
	t.Helper()
	for _, m := range lines {
		if m["path"] == path {
			return m
		}
	}
	t.Fatalf("no event for %q", path)
	return nil
}

func obj(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%s = %#v, want an object", key, m[key])
	}
	return o
}

func assertAbsent(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("%s: %s = %#v, want absent", what, k, v)
		}
	}
}

var hashRE = regexp.MustCompile(`^blake3:[0-9a-f]{64}$`)

func TestJSONEmpty(t *testing.T) {
	renderJSON(t, nil)
}

func TestJSONFields(t *testing.T) {
	events := sampleEvents()
	lines, raw := renderJSON(t, events)

	t.Run("create", func(t *testing.T) {
		m := byPath(t, lines, "/etc/cron.d/backdoor")
		if !bytes.Contains(raw[0], []byte(`"changed":[]`)) {
			t.Errorf("changed is not [] in %s", raw[0])
		}
		assertAbsent(t, "create", m, "before", "old_path", "old_path_b64", "path_b64")
		f := obj(t, m, "file")
		want := map[string]any{
			"type": "file", "size": 42.0, "mode": "0644", "uid": 0.0, "gid": 0.0, "inode": 1000.0,
			"device": float64(0x803), "nlink": 1.0,
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("file.%s = %#v, want %#v", k, f[k], v)
			}
		}
		if h, _ := f["hash"].(string); !hashRE.MatchString(h) || !strings.HasPrefix(h, "blake3:a0a1a2") {
			t.Errorf("file.hash = %q", h)
		}
		for _, k := range []string{"mtime", "ctime"} {
			s, _ := f[k].(string)
			got, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !got.Equal(base) || !strings.HasSuffix(s, "Z") {
				t.Errorf("file.%s = %q (%v), want %v", k, s, err, base)
			}
		}
		assertAbsent(t, "regular file", f, "rdev", "link_target", "link_target_b64", "xattrs", "flags")
	})

	t.Run("device", func(t *testing.T) {
		f := obj(t, byPath(t, lines, "/dev/mem2"), "file")
		if f["type"] != "chardev" || f["rdev"] != float64(0x101) || f["mode"] != "0660" {
			t.Errorf("device = %v", f)
		}
		assertAbsent(t, "device", f, "hash")
	})

	t.Run("directory", func(t *testing.T) {
		f := obj(t, byPath(t, lines, "/srv/www"), "file")
		if f["type"] != "dir" || f["mode"] != "2775" {
			t.Errorf("dir = %v", f)
		}
		assertAbsent(t, "dir", f, "hash", "rdev", "link_target")
	})

	t.Run("symlink", func(t *testing.T) {
		f := obj(t, byPath(t, lines, "/etc/motd"), "file")
		if f["type"] != "symlink" || f["link_target"] != escapeTarget {
			t.Errorf("symlink = %v", f)
		}
		assertAbsent(t, "symlink", f, "link_target_b64", "hash")
	})

	t.Run("change", func(t *testing.T) {
		m := byPath(t, lines, "/etc/passwd")
		want := []any{"content", "size", "mtime", "ctime"}
		if !reflect.DeepEqual(m["changed"], want) {
			t.Errorf("changed = %v, want %v", m["changed"], want)
		}
		f, b := obj(t, m, "file"), obj(t, m, "before")
		if f["size"] != 1070.0 || b["size"] != 1024.0 || f["hash"] == b["hash"] {
			t.Errorf("file = %v, before = %v", f, b)
		}
		if f["mtime"] != "2024-03-01T10:00:00.250000000Z" {
			t.Errorf("mtime = %v", f["mtime"])
		}
		assertAbsent(t, "change", m, "old_path")
	})

	t.Run("replaced by directory", func(t *testing.T) {
		m := byPath(t, lines, "/var/lib/thing")
		if obj(t, m, "before")["type"] != "file" || obj(t, m, "file")["type"] != "dir" {
			t.Errorf("thing = %v", m)
		}
	})

	t.Run("setuid", func(t *testing.T) {
		m := byPath(t, lines, "/usr/bin/passwd")
		if m["type"] != "chmod" || obj(t, m, "before")["mode"] != "0755" || obj(t, m, "file")["mode"] != "4755" {
			t.Errorf("setuid = %v", m)
		}
	})

	t.Run("owner", func(t *testing.T) {
		f := obj(t, byPath(t, lines, "/etc/shadow"), "file")
		if f["uid"] != 1000.0 || f["gid"] != 1000.0 || f["mode"] != "1666" {
			t.Errorf("owner = %v", f)
		}
	})

	t.Run("xattrs", func(t *testing.T) {
		m := byPath(t, lines, "/etc/secure")
		want := map[string]any{
			"security.selinux": "base64:" + base64.StdEncoding.EncodeToString([]byte("system_u:object_r:shadow_t:s0\x00")),
			"user.new":         "base64:/wA=",
			"user.same":        "x",
		}
		if got := obj(t, m, "file")["xattrs"]; !reflect.DeepEqual(got, want) {
			t.Errorf("xattrs = %v, want %v", got, want)
		}
		if !reflect.DeepEqual(m["changed"], []any{"xattrs"}) {
			t.Errorf("changed = %v", m["changed"])
		}
	})

	t.Run("rename and move", func(t *testing.T) {
		for path, old := range map[string]string{
			"/etc/app/b.conf":      "/etc/app/a.conf",
			"/root/.cache/payload": "/tmp/payload",
		} {
			m := byPath(t, lines, path)
			if m["old_path"] != old {
				t.Errorf("%s: old_path = %v, want %s", path, m["old_path"], old)
			}
			obj(t, m, "file")
			obj(t, m, "before")
		}
		if m := byPath(t, lines, "/etc/app/b.conf"); !reflect.DeepEqual(m["changed"], []any{}) {
			t.Errorf("rename: changed = %#v, want []", m["changed"])
		}
	})

	t.Run("remove", func(t *testing.T) {
		m := byPath(t, lines, "/var/log/huge.log")
		assertAbsent(t, "remove", m, "file", "old_path")
		b := obj(t, m, "before")
		if !reflect.DeepEqual(b["flags"], []any{"too_large"}) || b["size"] != float64(1<<40) {
			t.Errorf("before = %v", b)
		}
		assertAbsent(t, "unhashed", b, "hash")
	})

	t.Run("control characters", func(t *testing.T) {
		m := byPath(t, lines, forgedPath)
		assertAbsent(t, "valid UTF-8", m, "path_b64")
		for _, line := range raw {
			for _, c := range line {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("raw control byte %#02x in %s", c, line)
				}
			}
		}
	})
}

// TestJSONNonUTF8 checks that names that are not valid UTF-8 survive through the _b64
// fields, byte for byte.
func TestJSONNonUTF8(t *testing.T) {
	oldPath := "/srv/\xff\xfeold"
	target := "../\x80target"
	link := entry(oldPath, tree.TypeSymlink, 0o777, func(e *tree.Entry) {
		e.LinkTarget = target
		e.Xattrs = []tree.Xattr{{Name: "user.\xff", Value: []byte("base64:looks encoded")}}
	})
	moved := fstest.Edit(link, func(e *tree.Entry) { e.Path = nonUTF8Path })
	events := []diff.Event{
		create(file(nonUTF8Path, 7, 0o644, 0xc0)),
		modify(diff.Move, link, moved),
	}
	lines, _ := renderJSON(t, events)

	decode := func(what string, m map[string]any, key, want string) {
		t.Helper()
		s, ok := m[key+"_b64"].(string)
		if !ok {
			t.Fatalf("%s: no %s_b64 in %v", what, key, m)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || string(raw) != want {
			t.Errorf("%s: %s_b64 decodes to %q (%v), want %q", what, key, raw, err, want)
		}
		lossy, _ := m[key].(string)
		if !utf8.ValidString(lossy) || !strings.ContainsRune(lossy, utf8.RuneError) {
			t.Errorf("%s: %s = %q, want the lossy UTF-8 form", what, key, lossy)
		}
	}
	decode("create", lines[0], "path", nonUTF8Path)
	decode("move", lines[1], "path", nonUTF8Path)
	decode("move", lines[1], "old_path", oldPath)
	decode("move file", obj(t, lines[1], "file"), "link_target", target)
	decode("move before", obj(t, lines[1], "before"), "link_target", target)

	wantX := map[string]any{
		"base64:" + base64.StdEncoding.EncodeToString([]byte("user.\xff")): "base64:" +
			base64.StdEncoding.EncodeToString([]byte("base64:looks encoded")),
	}
	if got := obj(t, lines[1], "file")["xattrs"]; !reflect.DeepEqual(got, wantX) {
		t.Errorf("xattrs = %v, want %v", got, wantX)
	}
}

func TestXattrValue(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("plain text"), "plain text"},
		{[]byte("ünïcödé"), "ünïcödé"},
		{[]byte(""), ""},
		{[]byte("with NUL\x00"), "base64:d2l0aCBOVUwA"},
		{[]byte("tab\t"), "base64:dGFiCQ=="},
		{[]byte{0xff}, "base64:/w=="},
		{[]byte("base64:x"), "base64:YmFzZTY0Ong="},
	}
	for _, tt := range tests {
		if got := xattrValue(tt.in); got != tt.want {
			t.Errorf("xattrValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOctalMode(t *testing.T) {
	for mode, want := range map[uint32]string{0: "0000", 0o644: "0644", 0o4755: "4755", 0o7777: "7777", 0o104755: "4755"} {
		if got := octalMode(mode); got != want {
			t.Errorf("octalMode(%o) = %q, want %q", mode, got, want)
		}
	}
}

// TestJSONBaseline: each event names the baseline compared with, when there is one.
func TestJSONBaseline(t *testing.T) {
	info := checkInfo
	info.Baseline = Baseline{Created: time.Date(2024, 4, 30, 8, 0, 0, 5, time.FixedZone("CEST", 2*60*60)), Generation: 7}
	var buf bytes.Buffer
	if err := JSON(&buf, sampleEvents()[:2], info); err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
		if !bytes.Contains(line, []byte(`"baseline":{"created":"2024-04-30T06:00:00.000000005Z","generation":7}`)) {
			t.Errorf("no baseline in %s", line)
		}
	}
	_, raw := renderJSON(t, sampleEvents()[:1]) // no baseline: no field
	if bytes.Contains(raw[0], []byte(`"baseline"`)) {
		t.Errorf("baseline without one: %s", raw[0])
	}
}

// TestJSONProcess renders watched events: the process with every field /proc gave, the
// writers when more than one process made the change, and for a process that had
// exited its pid alone, with no unknown id shown as a number.
func TestJSONProcess(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, watchedEvents(), checkInfo); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var edited, gone map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &edited); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &gone); err != nil {
		t.Fatal(err)
	}
	p := edited["process"].(map[string]any)
	want := map[string]any{"pid": 4242.0, "start_time": 987654.0, "name": "vi", "exe": "/usr/bin/vi", "cwd": "/home/ann",
		"ppid": 4200.0, "parent": "sudo", "uid": 1000.0, "user": "ann", "euid": 0.0, "euser": "root", "gid": 1000.0,
		"egid": 0.0, "auid": 1000.0, "sessionid": 3.0, "tty": "pts/1"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("process.%s = %v, want %v", k, p[k], v)
		}
	}
	if c := p["container"].(map[string]any); c["pod_uid"] != "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901" || c["qos"] != "burstable" || c["runtime"] != "containerd" {
		t.Errorf("container %v", c)
	}
	ws, _ := edited["writers"].([]any)
	if len(ws) != 2 || ws[0].(map[string]any)["name"] != "cp" || ws[1].(map[string]any)["pid"] != 4242.0 {
		t.Errorf("writers %v, want cp then vi", ws)
	}
	if ws[0].(map[string]any)["auid"] != nil {
		t.Errorf("unset login uid shown: %v", ws[0])
	}
	if g := gone["process"].(map[string]any); len(g) != 2 || g["pid"] != 77.0 || g["gone"] != true {
		t.Errorf("gone process %v, want pid and gone only", g)
	}
	if gone["writers"] != nil {
		t.Errorf("one writer listed as writers: %v", gone["writers"])
	}
}

// TestJSONSharedProcess: events that share one process (a watch names one for all the
// events of a writer) render as events with a copy each would, its arguments unescaped
// as every other string of the format.
func TestJSONSharedProcess(t *testing.T) {
	shared := &diff.Process{PID: 9, Name: "sh", Exe: "/bin/sh", Args: []string{"sh", "-c", "a <b && c >d"}, UID: 0, EUID: 0, GID: -1, EGID: -1, AUID: -1, SessionID: -1, PPID: 1}
	events := benchEvents(12)
	copies := slices.Clone(events)
	for i := range events {
		events[i].Process = shared
		c := *shared
		copies[i].Process = &c
	}
	var a, b bytes.Buffer
	if err := JSON(&a, events, checkInfo); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&b, copies, checkInfo); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("shared process:\n%s\ncopies:\n%s", a.String(), b.String())
	}
	if n := strings.Count(a.String(), `"args":["sh","-c","a <b && c >d"]`); n != len(events) {
		t.Errorf("%d lines hold the arguments as given, want %d:\n%s", n, len(events), a.String())
	}
}

// BenchmarkJSONProcess renders a burst of events of one writer, as a watch does.
func BenchmarkJSONProcess(b *testing.B) {
	events := benchEvents(1000)
	p := watchedEvents()[0].Process
	for i := range events {
		events[i].Process = p
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := JSON(io.Discard, events, checkInfo); err != nil {
			b.Fatal(err)
		}
	}
}
