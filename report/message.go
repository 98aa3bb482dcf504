package report

import "fim/diff"

// Levels of an event in the formats that grade them (sarif, github).
const (
	levelError   = "error"
	levelWarning = "warning"
)

// level grades an event: a change (of content, type, size, link target, device number or
// mtime) or a remove is an error, since what the baseline recorded is altered or gone; a
// create, chmod, rename or move is a warning, since the recorded content is still there,
// under its own or another name, with other metadata, or next to something new.
func level(k diff.Kind) string {
	if k == diff.Change || k == diff.Remove {
		return levelError
	}
	return levelWarning
}

// appendMessage appends the one-line description of an event used by the junit, sarif,
// github and ecs formats: the kind, then what the text format shows after its kind
// column, escaped as it escapes ("change /etc/passwd  size: 1024 → 1070, …").
func appendMessage(b []byte, ev *diff.Event) []byte {
	b = append(b, ev.Kind.String()...)
	b = append(b, ' ')
	return appendDetail(b, ev)
}
