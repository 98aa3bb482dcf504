package report

import (
	"slices"
	"strings"
	"testing"

	"fim/diff"
)

// TestNotices renders fim watch's notices after a change in every format: each says
// what it is of the watch, with no file; the change is rendered as ever, and only it
// counts as a change (JUnit failures, the text summary).
func TestNotices(t *testing.T) {
	events := noticeEvents()
	held := "held back 1200 events past --max-events-per-minute: the rescan that follows reports their changes; paths: /etc/cron.d/x, /home/u/\\x1b[2Jforged and 3 more  [rescan]"
	beat := "baseline blake3:" + strings.Repeat("5e", 32) + ", 4321 entries, marks: fanotify 1, fsnotify 2"

	var text strings.Builder
	if err := Text(&text, events, checkInfo); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rate_limited  " + held + "\n", "heartbeat  " + beat + "\n", "fim: 1 change: 0 create, 1 change,"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	for i, doc := range parseECS(t, render(t, ECS, events, checkInfo))[1:] {
		ev := events[i+1]
		event, fim := doc["event"].(map[string]any), doc["fim"].(map[string]any)
		if doc["file"] != nil || fim["kind"] != ev.Kind.String() || fim["notice"] == nil || event["type"].([]any)[0] != "info" {
			t.Errorf("ecs %s: %v", ev.Kind, doc)
		}
	}

	s := parseJUnit(t, render(t, JUnit, events, checkInfo))
	if s.Tests != 3 || s.Failures != 1 || len(s.Cases) != 3 || s.Cases[0].Failure == nil {
		t.Fatalf("junit: tests=%d failures=%d cases=%+v, want 3 tests, the change failing", s.Tests, s.Failures, s.Cases)
	}
	for i, c := range s.Cases[1:] {
		if ev := &events[i+1]; c.Failure != nil || c.Classname != ev.Kind.String() || c.Name != string(appendMessage(nil, ev)) {
			t.Errorf("junit case of %s: %+v", ev.Kind, c)
		}
	}

	// SARIF: a notice is of the run, one of its invocation's notifications, not a
	// result (GitHub code scanning refuses a result without a location).
	doc := parseSARIF(t, render(t, SARIF, events, checkInfo))
	run := doc.Runs[0]
	notes := run.Invocations[0].Notifications
	if len(run.Results) != 1 || len(notes) != 2 {
		t.Fatalf("sarif: %d results, %d notifications; want the change as the one result, 2 notifications", len(run.Results), len(notes))
	}
	for _, r := range run.Tool.Driver.Rules {
		if strings.HasPrefix(r.ID, "fim/rate_limited") || strings.HasPrefix(r.ID, "fim/heartbeat") {
			t.Errorf("sarif: a rule %s for a notice", r.ID)
		}
	}
	for i, n := range notes {
		ev := events[i+1]
		if n.Descriptor.ID != "fim/"+ev.Kind.String() || n.Level != "note" || n.Message.Text != string(appendMessage(nil, &ev)) || n.Properties == nil {
			t.Errorf("sarif notification of %s: %+v", ev.Kind, n)
		}
	}

	cmds := parseCommands(t, render(t, GitHub, events, checkInfo))
	for i, c := range cmds[1:3] {
		ev := events[i+1]
		if c.name != "notice" || c.props["file"] != "" || c.props["title"] != "fim: "+ev.Kind.String() || !strings.HasPrefix(c.msg, ev.Kind.String()+" ") {
			t.Errorf("github command of %s: %+v", ev.Kind, c)
		}
	}
	// --redact: the paths a notice names are redacted like an event's.
	red := Redact(events, []string{"/home"})[1].Notice
	if want := []string{"/etc/cron.d/x", "/home/[redacted]"}; !slices.Equal(red.Paths, want) || events[1].Notice.Paths[1] == want[1] {
		t.Errorf("redacted notice paths %q, want %q, the events given unchanged", red.Paths, want)
	}
	if diff.Kinds()[len(diff.Kinds())-1].IsNotice() || !diff.Heartbeat.IsNotice() {
		t.Errorf("the kinds of changes are not notices; heartbeat is")
	}
	if _, err := diff.ParseKind("heartbeat"); err == nil {
		t.Errorf("ParseKind takes a notice: rules select kinds of changes only")
	}
}
