package report

import "fim/diff"

// Levels of an event in the formats that grade them (sarif, github).
const (
	levelError   = "error"
	levelWarning = "warning"
	levelNote    = "note"
)

// eventLevel grades an event by its severity when it has one: critical and high are
// errors, medium and low warnings, info a note. An event without one is graded by its
// kind (level).
func eventLevel(ev *diff.Event) string {
	switch {
	case ev.Severity >= diff.SeverityHigh:
		return levelError
	case ev.Severity >= diff.SeverityLow:
		return levelWarning
	case ev.Severity == diff.SeverityInfo:
		return levelNote
	}
	return level(ev.Kind)
}

// securitySeverity is a severity as GitHub code scanning reads a rule's
// security-severity: a score from 0.0 to 10.0 whose bands are critical (over 9.0),
// high (7.0 to 8.9), medium (4.0 to 6.9) and low (0.1 to 3.9).
var securitySeverity = [...]string{diff.SeverityInfo: "0.0", diff.SeverityLow: "2.0", diff.SeverityMedium: "5.5",
	diff.SeverityHigh: "8.0", diff.SeverityCritical: "9.5"}

// riskScore is a severity as ECS's event.risk_score, on the scale Elastic's detection
// rules use by default for their severities (low 21, medium 47, high 73, critical 99).
var riskScore = [...]float64{diff.SeverityInfo: 0, diff.SeverityLow: 21, diff.SeverityMedium: 47,
	diff.SeverityHigh: 73, diff.SeverityCritical: 99}

// level grades an event: a change (of content, type, size, link target, device number or
// mtime) or a remove is an error, since what the baseline recorded is altered or gone; a
// create, chmod, rename or move is a warning, since the recorded content is still there,
// under its own or another name, with other metadata, or next to something new.
func level(k diff.Kind) string {
	switch {
	case k == diff.Change || k == diff.Remove:
		return levelError
	case k.IsNotice():
		return levelNote // of the watch, not of a file
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
