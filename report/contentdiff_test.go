package report

import (
	"bytes"
	"strings"
	"testing"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// diffEvents are events with content diffs as check.AddDiffs gives them: a change of
// a config line, a changed secret (redacted) beside a line holding a terminal escape,
// a created file's first lines, and a binary file's reason for none.
func diffEvents() []diff.Event {
	sshd := file("/etc/ssh/sshd_config", 3287, 0o644, 0x70)
	edited := modify(diff.Change, sshd, fstest.Edit(sshd, func(e *tree.Entry) { e.Hash = digest(0x71) }), diff.AttrContent)
	edited.Diff = "@@ -31,7 +31,7 @@\n #LoginGraceTime 2m\n-PermitRootLogin no\n+PermitRootLogin yes\n #StrictModes yes\n"
	app := file("/etc/app.conf", 41, 0o644, 0x72)
	secret := modify(diff.Change, app, fstest.Edit(app, func(e *tree.Entry) { e.Hash = digest(0x73) }), diff.AttrContent)
	secret.Diff = "@@ -1,3 +1,3 @@\n user=app\n-password=[redacted: 1f3a9c07]\n+password=[redacted: 8e02b4d1]\n banner=\x1b[31mred\x1b[0m\n"
	created := create(file("/etc/motd", 6, 0o644, 0x74))
	created.Diff = "@@ -0,0 +1 @@\n+fresh\n"
	blob := file("/etc/ld.so.cache", 61234, 0o644, 0x75)
	binary := modify(diff.Change, blob, fstest.Edit(blob, func(e *tree.Entry) { e.Hash = digest(0x76) }), diff.AttrContent)
	binary.NoDiff = "binary"
	return []diff.Event{edited, secret, created, binary}
}

// TestDiffFormats renders events with content diffs in every format and compares with
// the golden files, which the format tests validate as they do every golden file (the
// JSON schemas, the ECS field definitions, the SARIF Multitool, the JUnit schema). ECS
// and JSON carry the diff as a field, exactly; SARIF in the result's message only, each
// line escaped, not again among the result's properties (which keep no_diff): a viewer
// shows the message, and one copy of up to 200 lines is enough.
func TestDiffFormats(t *testing.T) {
	events := diffEvents()
	for _, f := range append(formatRenderers, struct {
		name   string
		render Renderer
	}{"text", Text}) {
		t.Run(f.name, func(t *testing.T) {
			out := render(t, f.render, events, checkInfo)
			golden(t, f.name+"_diff", out)
			if bytes.Contains(out, []byte("\x1b")) {
				t.Error("a raw escape byte in the output")
			}
		})
	}
	for i, doc := range parseECS(t, render(t, ECS, events, checkInfo)) {
		fim, _ := doc["fim"].(map[string]any)
		if got, _ := fim["diff"].(string); got != events[i].Diff {
			t.Errorf("ecs %s: fim.diff %q, want %q", events[i].Path, got, events[i].Diff)
		}
		if got, _ := fim["no_diff"].(string); got != events[i].NoDiff {
			t.Errorf("ecs %s: fim.no_diff %q, want %q", events[i].Path, got, events[i].NoDiff)
		}
	}
	doc := parseSARIF(t, render(t, SARIF, events, checkInfo))
	for i, r := range doc.Runs[0].Results {
		ev := &events[i]
		if _, ok := r.Properties["diff"]; ok {
			t.Errorf("sarif %s: the diff among the properties too", ev.Path)
		}
		if got, _ := r.Properties["no_diff"].(string); got != ev.NoDiff {
			t.Errorf("sarif %s: no_diff %q, want %q", ev.Path, got, ev.NoDiff)
		}
		want := string(appendDiff(nil, ev.Diff, "", "\n"))
		if ev.Diff != "" && (!strings.HasSuffix(r.Message.Text, "\n"+want) || strings.Count(r.Message.Text, want) != 1) {
			t.Errorf("sarif %s: message %q, want it to end with the diff %q", ev.Path, r.Message.Text, want)
		}
	}
}
