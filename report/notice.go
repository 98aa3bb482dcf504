package report

import (
	"fim/diff"
	"maps"
	"slices"
	"strconv"
)

// jsonNotice is what a notice of fim watch says (diff.Notice), in the json format and
// under fim in the ecs format.
type jsonNotice struct {
	HeldBack int            `json:"held_back,omitempty"`       // rate_limited
	Digest   string         `json:"baseline_digest,omitempty"` // heartbeat, with a baseline
	Entries  *int           `json:"entries,omitempty"`         // heartbeat
	Marks    map[string]int `json:"marks,omitempty"`           // heartbeat
}

func newJSONNotice(ev *diff.Event) *jsonNotice {
	n := ev.Notice
	if n == nil || !ev.Kind.IsNotice() {
		return nil
	}
	jn := &jsonNotice{HeldBack: n.HeldBack, Digest: n.Digest, Marks: n.Marks}
	if ev.Kind == diff.Heartbeat {
		jn.Entries = &n.Entries
	}
	return jn
}

// appendNotice appends what the text line of a notice shows after its kind column:
// "held back 120 events past --max-events-per-minute: the rescan that follows reports
// their changes", "baseline 3f2a…, 1234 entries, marks: fanotify 1".
func appendNotice(b []byte, ev *diff.Event) []byte {
	n := ev.Notice
	if n == nil {
		n = &diff.Notice{}
	}
	switch ev.Kind {
	case diff.RateLimited:
		b = append(b, "held back "...)
		b = appendCount(b, n.HeldBack, "event", "events")
		b = append(b, " past --max-events-per-minute: the rescan that follows reports their changes"...)
	case diff.Heartbeat:
		if n.Digest != "" {
			b = append(b, "baseline "...)
			b = append(b, n.Digest...)
			b = append(b, ", "...)
		}
		b = appendCount(b, n.Entries, "entry", "entries")
		b = append(b, ", marks:"...)
		if len(n.Marks) == 0 {
			b = append(b, " none"...)
		}
		for i, backend := range slices.Sorted(maps.Keys(n.Marks)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ' ')
			b = appendEscaped(b, backend)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(n.Marks[backend]), 10)
		}
	}
	return b
}
