package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/idname"
	"fim/internal/fstest"
	"fim/tree"

	"go.yaml.in/yaml/v3"
)

// parseECS decodes NDJSON, one document per line, and checks that each document has
// the fields every ECS event needs and no dotted key outside extended attribute names.
func parseECS(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	if len(out) == 0 {
		return nil
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Fatal("output does not end in a newline")
	}
	var docs []map[string]any
	for i, line := range bytes.Split(out[:len(out)-1], []byte("\n")) {
		var doc map[string]any
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		assertNested(t, "", doc)
		if keys := keysOf(t, line); keys[0] != "@timestamp" {
			t.Errorf("line %d: first key %q, want @timestamp", i, keys[0])
		}
		when, err := time.Parse(time.RFC3339Nano, doc["@timestamp"].(string))
		if err != nil || !when.Equal(checkInfo.Time) {
			t.Errorf("line %d: @timestamp %v (%v)", i, doc["@timestamp"], err)
		}
		if v := field(doc, "ecs.version"); v != ecsVersion {
			t.Errorf("line %d: ecs.version %v", i, v)
		}
		for key, want := range map[string]any{
			"event.kind": "event", "event.module": "fim", "event.category": []any{"file"},
			"host.name": "web1", "host.id": checkInfo.Host.ID, "fim.format": float64(FormatVersion),
		} {
			if got := field(doc, key); !reflect.DeepEqual(got, want) {
				t.Errorf("line %d: %s = %v, want %v", i, key, got, want)
			}
		}
		docs = append(docs, doc)
	}
	return docs
}

// assertNested fails on a key with a dot: ECS documents nest objects instead. The keys
// of an xattrs object are attribute names, which have dots.
func assertNested(t *testing.T, at string, m map[string]any) {
	t.Helper()
	for k, v := range m {
		if strings.Contains(k, ".") && !strings.HasSuffix(at, "xattrs") {
			t.Errorf("dotted key %q in %q", k, at)
		}
		if sub, ok := v.(map[string]any); ok {
			assertNested(t, at+"."+k, sub)
		}
	}
}

// field returns the value at a dotted path of nested objects, or nil.
func field(doc map[string]any, dotted string) any {
	var v any = doc
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// ecsPath returns the exact path of a document: file.path, or fim.path_b64 decoded.
func ecsPath(t *testing.T, doc map[string]any) string {
	t.Helper()
	return decodeB64(t, field(doc, "file.path"), field(doc, "fim.path_b64"))
}

// ecsTarget returns the exact symlink target of a document.
func ecsTarget(t *testing.T, doc map[string]any) string {
	t.Helper()
	return decodeB64(t, field(doc, "file.target_path"), field(doc, "fim.target_path_b64"))
}

func TestECSEmpty(t *testing.T) {
	if out := render(t, ECS, nil, checkInfo); len(out) != 0 {
		t.Errorf("output for no events: %q", out)
	}
}

func TestECSFields(t *testing.T) {
	events := formatEvents()
	events[0].SHA256 = strings.Repeat("5a", 32) // as check.AddSHA256 sets it
	// The owners' names come from the passwd and group files of the tree's root.
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"passwd": "root:x:0:0::/root:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n", "group": "wheel:x:0:\n"} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info := checkInfo
	info.Names = idname.New(root)
	docs := parseECS(t, render(t, ECS, events, info))
	if len(docs) != len(events) {
		t.Fatalf("%d documents for %d events", len(docs), len(events))
	}
	byPath := map[string]map[string]any{}
	for i, doc := range docs {
		ev := &events[i]
		if got := ecsPath(t, doc); got != ev.Path {
			t.Errorf("document %d: path %q, want %q", i, got, ev.Path)
		}
		if doc["message"] != string(appendMessage(nil, ev)) || field(doc, "fim.kind") != ev.Kind.String() {
			t.Errorf("document %d: message %v kind %v", i, doc["message"], field(doc, "fim.kind"))
		}
		byPath[ev.Path] = doc
	}

	tests := []struct {
		path   string
		fields map[string]any // dotted path → value; nil: absent
	}{
		{"/etc/cron.d/backdoor", map[string]any{
			"event.type": []any{"creation"}, "event.action": "created", "event.dataset": "fim.file",
			"file.name": "backdoor", "file.directory": "/etc/cron.d", "file.extension": nil,
			"file.type": "file", "file.size": 42.0, "file.mode": "0644", "file.uid": "0", "file.gid": "0",
			"file.owner": "root", "file.group": "wheel",
			"file.inode": "1000", "file.mtime": "2024-03-01T09:00:00.000000000Z",
			"fim.hash.blake3": "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
			"file.hash":       map[string]any{"sha256": strings.Repeat("5a", 32)},
			"fim.setuid":      nil, "fim.setgid": nil, "file.target_path": nil,
			"fim.changed": []any{}, "fim.before": nil, "fim.old_path": nil, "process": nil,
		}},
		{"/dev/mem2", map[string]any{"file.type": "char_device"}},
		{"/etc/motd", map[string]any{"file.type": "symlink", "file.target_path": escapeTarget, "file.hash": nil, "fim.hash": nil}},
		{"/srv/www", map[string]any{"file.type": "dir", "file.mode": "2775", "fim.setgid": true,
			"file.extension": nil}},
		{"/etc/passwd", map[string]any{
			"event.type": []any{"change"}, "event.action": "updated",
			"fim.changed": []any{"content", "size", "mtime", "ctime"},
			"file.size":   1070.0, "fim.before.size": 1024.0, "file.hash": nil,
			"fim.before.mtime": "2024-03-01T09:00:00.000000000Z", "file.mtime": "2024-03-01T10:00:00.250000000Z",
		}},
		{"/usr/bin/passwd", map[string]any{
			"event.type": []any{"change"}, "event.action": "attributes_modified",
			"file.mode": "4755", "fim.setuid": true, "fim.before.mode": "0755",
		}},
		{"/etc/shadow", map[string]any{"file.uid": "1000", "file.gid": "1000", "fim.before.gid": 42.0,
			"file.owner": "ann", "file.group": nil}},
		{"/etc/secure", map[string]any{"fim.xattrs": map[string]any{
			"security.selinux": "base64:c3lzdGVtX3U6b2JqZWN0X3I6c2hhZG93X3Q6czAA",
			"user.new":         "base64:/wA=", "user.same": "x",
		}}},
		{"/etc/app/b.conf", map[string]any{
			"event.type": []any{"change"}, "event.action": "moved", "fim.kind": "rename",
			"fim.old_path": "/etc/app/a.conf", "file.extension": "conf", "fim.before.type": "file",
		}},
		{"/root/.cache/payload", map[string]any{"event.action": "moved", "fim.kind": "move",
			"fim.old_path": "/tmp/payload", "file.directory": "/root/.cache"}},
		{"/etc/old.conf", map[string]any{
			"event.type": []any{"deletion"}, "event.action": "deleted", "file.size": 12.0,
			"file.extension": "conf", "fim.before": nil,
		}},
		{"/var/log/huge.log", map[string]any{"fim.flags": []any{"too_large"}, "file.hash": nil}},
		{"/etc/resolv.conf", map[string]any{
			"process.pid": 4242.0, "process.name": "vi", "process.args": []any{"vi", "/etc/resolv.conf"},
			"process.real_user.id": "1000", "process.real_user.name": "ann", "process.user.id": "0", "process.user.name": "root",
			"process.executable": "/usr/bin/vi", "process.working_directory": "/home/ann",
			"process.parent.pid": 4200.0, "process.parent.name": "sudo",
			"user.id": "1000", "user.name": "ann", "user.effective.id": "0", "fim.audit_user.id": "1000", "group.name": "ann",
			"fim.process_group.id": "0", "fim.process_group.name": "root", "process.group": nil,
			"container.id": strings.Repeat("ab", 32), "container.runtime": "containerd",
			"orchestrator.resource.id": "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901", "orchestrator.resource.type": "pod",
			"fim.pod_qos": "burstable", "fim.tty": "pts/1", "fim.sessionid": 3.0,
			"fim.source": "fanotify", "fim.count": 3.0, "fim.process_gone": nil,
		}},
		{"/etc/cron.daily/job", map[string]any{
			"process.pid": 77.0, "process.name": nil, "process.user": nil, "process.args": nil, "user": nil,
			"fim.source": "fsnotify", "fim.process_gone": true,
		}},
		{forgedPath, map[string]any{"file.path": forgedPath, "fim.path_b64": nil}},
		{percentPath, map[string]any{"file.name": "50%,done:yes&<x>\"'", "file.directory": "/srv/data"}},
	}
	for _, tt := range tests {
		doc, ok := byPath[tt.path]
		if !ok {
			t.Fatalf("no document for %q", tt.path)
		}
		for key, want := range tt.fields {
			if got := field(doc, key); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s = %#v, want %#v", tt.path, key, got, want)
			}
		}
	}
}

// TestECSNonUTF8 checks that names that are not valid UTF-8 survive through the fim
// *_b64 fields, byte for byte.
func TestECSNonUTF8(t *testing.T) {
	target := "../\x80target"
	link := entry("/srv/\xff\xfeold", tree.TypeSymlink, 0o777, func(e *tree.Entry) { e.LinkTarget = target })
	moved := fstest.Edit(link, func(e *tree.Entry) { e.Path = nonUTF8Path })
	events := []diff.Event{create(file(nonUTF8Path, 7, 0o644, 0xc0)), modify(diff.Move, link, moved)}
	docs := parseECS(t, render(t, ECS, events, checkInfo))
	for i, doc := range docs {
		if got := ecsPath(t, doc); got != nonUTF8Path {
			t.Errorf("document %d: path %q", i, got)
		}
	}
	if got := decodeB64(t, field(docs[1], "fim.old_path"), field(docs[1], "fim.old_path_b64")); got != link.Path {
		t.Errorf("old path %q, want %q", got, link.Path)
	}
	if got := ecsTarget(t, docs[1]); got != target {
		t.Errorf("target %q, want %q", got, target)
	}
	before := field(docs[1], "fim.before").(map[string]any)
	if got := decodeB64(t, before["link_target"], before["link_target_b64"]); got != target {
		t.Errorf("before target %q, want %q", got, target)
	}
}

// ecsField is the definition of an ECS field: its type, whether it holds an array, and
// the values it allows (none listed: any).
type ecsField struct {
	Type      string   `yaml:"type"`
	Normalize []string `yaml:"normalize"`
	Allowed   []string `yaml:"allowed_values"`
}

// loadECSFields reads the slice of ECS's field definitions kept in testdata.
func loadECSFields(t *testing.T) map[string]ecsField {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ecs", "ecs_flat.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]ecsField
	if err := yaml.Unmarshal(data, &fields); err != nil || len(fields) == 0 {
		t.Fatalf("ecs_flat.yml: %v", err)
	}
	return fields
}

// checkECSFields fails on a field of doc that ECS does not define (outside fim.), or
// whose value does not have the field's type, array-ness or allowed values.
// elasticExt are the fields outside ECS that fim writes on purpose, because Elastic's
// prebuilt detection rules read them where Elastic Defend puts them: a rename's source.
var elasticExt = map[string]ecsField{
	"file.Ext.original.path": {Type: "keyword"},
	"file.Ext.original.name": {Type: "keyword"},
}

func checkECSFields(t *testing.T, fields map[string]ecsField, name string, at string, v any) {
	t.Helper()
	if at == "fim" {
		return
	}
	if m, ok := v.(map[string]any); ok {
		if f, defined := fields[at]; defined && f.Type == "object" {
			return // an object field (such as container.labels) holds any keys
		}
		for k, sub := range m {
			key := k
			if at != "" {
				key = at + "." + k
			}
			checkECSFields(t, fields, name, key, sub)
		}
		return
	}
	f, ok := fields[at]
	if !ok {
		f, ok = elasticExt[at]
	}
	if !ok {
		t.Errorf("%s: %s is not an ECS field, and not under fim.", name, at)
		return
	}
	values := []any{v}
	if list, isList := v.([]any); isList {
		values = list
	} else if slices.Contains(f.Normalize, "array") {
		t.Errorf("%s: %s is %v, not an array", name, at, v)
	}
	for _, x := range values {
		var typeOK bool
		switch f.Type {
		case "keyword", "wildcard", "match_only_text", "ip", "constant_keyword":
			_, typeOK = x.(string)
		case "long", "float", "scaled_float", "double":
			_, typeOK = x.(float64)
		case "boolean":
			_, typeOK = x.(bool)
		case "date":
			s, _ := x.(string)
			_, err := time.Parse(time.RFC3339Nano, s)
			typeOK = err == nil
		}
		if !typeOK {
			t.Errorf("%s: %s = %#v is not of ECS type %s", name, at, x, f.Type)
		}
		if s, _ := x.(string); f.Allowed != nil && !slices.Contains(f.Allowed, s) {
			t.Errorf("%s: %s = %q is not one of ECS's values %v", name, at, s, f.Allowed)
		}
	}
}

// TestECSFieldDefinitions checks every field of every golden ECS document, and of the
// documents of a real tree, against ECS's field definitions: a field that is not ECS
// lives under fim.
func TestECSFieldDefinitions(t *testing.T) {
	fields := loadECSFields(t)
	check := func(t *testing.T, name string, out []byte) {
		if len(out) == 0 {
			return
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Errorf("%s line %d: %v", name, i+1, err)
				continue
			}
			checkECSFields(t, fields, fmt.Sprintf("%s line %d", name, i+1), "", doc)
		}
	}
	eachGolden(t, "ecs", check)
	_, events := walkTree(t, hostileNames)
	check(t, "a real tree", render(t, ECS, events, checkInfo))
}

// TestECSEventID checks that event.id tells the events of a report apart, is the same
// when the report is rendered again, and differs in a report made at another time.
func TestECSEventID(t *testing.T) {
	events := formatEvents()
	ids := func(info Info) []string {
		var out []string
		for _, line := range bytes.Split(bytes.TrimSuffix(render(t, ECS, events, info), []byte("\n")), []byte("\n")) {
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatal(err)
			}
			id, _ := field(doc, "event.id").(string)
			if len(id) != 32 {
				t.Fatalf("event.id %q", id)
			}
			out = append(out, id)
		}
		return out
	}
	first := ids(checkInfo)
	seen := map[string]bool{}
	for i, id := range first {
		if seen[id] {
			t.Errorf("document %d: event.id %s is not unique", i, id)
		}
		seen[id] = true
	}
	if again := ids(checkInfo); !slices.Equal(first, again) {
		t.Error("event.id changed from one rendering to the next")
	}
	later := checkInfo
	later.Time = later.Time.Add(time.Minute)
	for i, id := range ids(later) {
		if seen[id] {
			t.Errorf("document %d: the same event.id in a report made a minute later", i)
		}
	}
}
