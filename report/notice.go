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
	HeldBack  int            `json:"held_back,omitempty"`       // rate_limited
	Paths     []string       `json:"paths,omitempty"`           // rate_limited
	MorePaths int            `json:"more_paths,omitempty"`      // rate_limited
	Digest    string         `json:"baseline_digest,omitempty"` // heartbeat, with a baseline
	Entries   *int           `json:"entries,omitempty"`         // heartbeat
	Marks     map[string]int `json:"marks,omitempty"`           // heartbeat
}

func newJSONNotice(ev *diff.Event) *jsonNotice {
	n := ev.Notice
	if n == nil || !ev.Kind.IsNotice() {
		return nil
	}
	jn := &jsonNotice{HeldBack: n.HeldBack, Paths: n.Paths, MorePaths: n.MorePaths, Digest: n.Digest, Marks: n.Marks}
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
		b = appendHeldPaths(b, n)
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

// textHeldPaths is how many held-back paths the text line of a notice names.
const textHeldPaths = 20

// appendHeldPaths appends the paths a diff.RateLimited notice names, at most
// textHeldPaths of them, and how many more there were: "; paths: /a, /b and 3 more".
func appendHeldPaths(b []byte, n *diff.Notice) []byte {
	if len(n.Paths) == 0 {
		return b
	}
	b = append(b, "; paths: "...)
	for i, p := range n.Paths[:min(len(n.Paths), textHeldPaths)] {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendEscaped(b, p)
	}
	if more := n.MorePaths + max(len(n.Paths)-textHeldPaths, 0); more > 0 {
		b = append(b, " and "...)
		b = strconv.AppendInt(b, int64(more), 10)
		b = append(b, " more"...)
	}
	return b
}
