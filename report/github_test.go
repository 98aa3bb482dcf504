package report

import (
	"bytes"
	"strings"
	"testing"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// command is a workflow command as the Actions runner parses one line of a step's
// output: "::name key=value,key=value::message", values and message unescaped.
type command struct {
	name  string
	props map[string]string
	msg   string
}

var (
	unescapeData     = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")
	unescapeProperty = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
)

// parseCommands splits out into lines and parses each as the runner would, failing on
// a line that is not a command or on a property given twice.
func parseCommands(t *testing.T, out []byte) []command {
	t.Helper()
	if len(out) == 0 || out[len(out)-1] != '\n' {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	var cmds []command
	for _, line := range strings.Split(string(out[:len(out)-1]), "\n") {
		if strings.ContainsRune(line, '\r') {
			t.Fatalf("carriage return in %q", line)
		}
		rest, ok := strings.CutPrefix(line, "::")
		head, msg, found := strings.Cut(rest, "::")
		if !ok || !found {
			t.Fatalf("not a workflow command: %q", line)
		}
		c := command{props: map[string]string{}, msg: unescapeData.Replace(msg)}
		var props string
		c.name, props, _ = strings.Cut(head, " ")
		if props != "" {
			for _, kv := range strings.Split(props, ",") {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := c.props[k]; dup {
					t.Fatalf("property %s twice in %q", k, line)
				}
				c.props[k] = unescapeProperty.Replace(v)
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func TestGitHubEmpty(t *testing.T) {
	cmds := parseCommands(t, render(t, GitHub, nil, checkInfo))
	if len(cmds) != 1 || cmds[0].name != "notice" || cmds[0].msg != "fim: no changes" {
		t.Errorf("no events: %+v, want one notice", cmds)
	}
	stream := checkInfo
	stream.Stream = true
	if out := render(t, GitHub, nil, stream); len(out) != 0 {
		t.Errorf("no events in a stream: %q, want nothing", out)
	}
}

func TestGitHubCommands(t *testing.T) {
	events := formatEvents()
	info := checkInfo
	info.Warnings = 1
	cmds := parseCommands(t, render(t, GitHub, events, info))
	if len(cmds) != len(events)+1 {
		t.Fatalf("%d commands for %d events", len(cmds), len(events))
	}
	for i, ev := range events {
		c := cmds[i]
		if want := level(ev.Kind); c.name != want {
			t.Errorf("command %d: %s for a %s, want %s", i, c.name, ev.Kind, want)
		}
		if c.props["file"] != EscapeText(ev.Path) || c.props["title"] != "fim: "+ev.Kind.String() || len(c.props) != 2 {
			t.Errorf("command %d: properties %q", i, c.props)
		}
		if c.msg != string(appendMessage(nil, &ev)) {
			t.Errorf("command %d: message %q", i, c.msg)
		}
	}
	wantSummary := strings.TrimSuffix(string(appendSummary(nil, events, 1, Baseline{})), "\n")
	if last := cmds[len(cmds)-1]; last.name != "notice" || last.msg != wantSummary {
		t.Errorf("summary %+v, want %q", last, wantSummary)
	}
	levels := map[diff.Kind]string{}
	for i, ev := range events {
		levels[ev.Kind] = cmds[i].name
	}
	if levels[diff.Change] != "error" || levels[diff.Remove] != "error" || levels[diff.Chmod] != "warning" ||
		levels[diff.Create] != "warning" {
		t.Errorf("levels %v", levels)
	}

	stream := info
	stream.Stream = true
	if got := parseCommands(t, render(t, GitHub, events, stream)); len(got) != len(events) {
		t.Errorf("stream: %d commands for %d events, want no summary", len(got), len(events))
	}
}

// TestGitHubInjection checks that a file name cannot add a command, end the properties
// early or add a property, wherever it appears: path, old path, link target, process.
func TestGitHubInjection(t *testing.T) {
	for _, name := range []string{
		"\n::error::x",
		"\r\n::error file=/etc/shadow::owned",
		"a::warning::b",
		"x,title=forged,file=/etc/passwd",
		"%0A::error::y",
		"::stop-commands::token",
		"\x1b[2K\r::error::z",
	} {
		p := "/tmp/" + name
		link := entry(p, tree.TypeSymlink, 0o777, func(e *tree.Entry) { e.LinkTarget = name })
		moved := modify(diff.Move, link, fstest.Edit(link, func(e *tree.Entry) { e.Path = "/var" + p }))
		moved.Process = &diff.Process{PID: 1, Name: name, UID: -1}
		events := []diff.Event{create(link), moved}
		out := render(t, GitHub, events, checkInfo)
		if n := bytes.Count(out, []byte("\n")); n != len(events)+1 {
			t.Errorf("%q: %d lines, want %d", name, n, len(events)+1)
		}
		cmds := parseCommands(t, out)
		for i, c := range cmds[:len(events)] {
			if c.name != "warning" || c.props["file"] != EscapeText(events[i].Path) || len(c.props) != 2 {
				t.Errorf("%q: command %d = %+v", name, i, c)
			}
		}
	}
}

func TestCommandEscape(t *testing.T) {
	tests := []struct{ in, data, property string }{
		{"plain /etc/x", "plain /etc/x", "plain /etc/x"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"k=v,title=x::y", "k=v,title=x::y", "k=v%2Ctitle=x%3A%3Ay"},
		{"%0A", "%250A", "%250A"},
	}
	for _, tt := range tests {
		if got := string(appendCommandEscaped(nil, []byte(tt.in), false)); got != tt.data {
			t.Errorf("data %q → %q, want %q", tt.in, got, tt.data)
		}
		if got := string(appendCommandEscaped(nil, []byte(tt.in), true)); got != tt.property {
			t.Errorf("property %q → %q, want %q", tt.in, got, tt.property)
		}
		if back := unescapeProperty.Replace(tt.property); back != tt.in {
			t.Errorf("property %q unescapes to %q", tt.property, back)
		}
	}
}
