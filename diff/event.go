package diff

import (
	"cmp"
	"fim/tree"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is the type of an event.
type Kind uint8

// The six kinds of event, as Kubescape's host FIM sensor names them.
const (
	Create Kind = iota
	Change
	Remove
	Chmod
	Rename // same entry under a new name in the same directory
	Move   // same entry in another directory
	numKinds
)

// The kinds of the events fim watch says of itself rather than of a path, its notices:
// they carry a Notice, no path and no entry, and are never compared, filtered by a
// rule's events or counted as changes.
const (
	RateLimited Kind = numKinds + iota // --max-events-per-minute held events back
	Heartbeat                          // --heartbeat: the watch is alive
	endNotices
)

var kindNames = [...]string{"create", "change", "remove", "chmod", "rename", "move", "rate_limited", "heartbeat"}

func (k Kind) String() string {
	if k < endNotices {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsNotice reports whether k is the kind of a notice (RateLimited, Heartbeat).
func (k Kind) IsNotice() bool { return k >= numKinds && k < endNotices }

// ReportKinds lists every kind a report can hold: the six of changes (Kinds), then
// the notices.
func ReportKinds() []Kind { return append(Kinds(), RateLimited, Heartbeat) }

// Kinds lists every kind in report order.
func Kinds() []Kind { return []Kind{Create, Change, Remove, Chmod, Rename, Move} }

// ParseKind is the inverse of Kind.String for the kinds of changes (Kinds).
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames[:numKinds] {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown event type %q (want one of %s)", s, strings.Join(kindNames[:numKinds], ", "))
}

// KindSet is a set of kinds; the zero value is empty.
type KindSet uint8

// AllKinds holds every kind.
const AllKinds KindSet = 1<<numKinds - 1

// Has reports whether k is in the set.
func (s KindSet) Has(k Kind) bool { return s&(1<<k) != 0 }

// With returns the set with k added.
func (s KindSet) With(k Kind) KindSet { return s | 1<<k }

// ParseKinds parses a list of kind names; an empty list means all kinds.
func ParseKinds(names []string) (KindSet, error) {
	if len(names) == 0 {
		return AllKinds, nil
	}
	var s KindSet
	for _, n := range names {
		k, err := ParseKind(n)
		if err != nil {
			return 0, err
		}
		s = s.With(k)
	}
	return s, nil
}

// Event is one difference between the baseline and the current state.
type Event struct {
	Kind    Kind
	Path    string  // current path (for remove, the removed path)
	OldPath string  // for rename and move
	Changed AttrSet // attributes that differ; for create and remove, empty
	Before  *tree.Entry
	After   *tree.Entry // nil for remove

	// Set by fim watch only.
	Source  string   // what noticed it: fanotify, fsnotify, periodic, rescan or start
	Process *Process // who did it, where the kernel says: the last process noticed
	// Writers lists every distinct process whose notifications this one event stands
	// for (changes fim saw in one look, or repeats folded into it), in the order of
	// their last notification, the last being Process; nil when there was only Process. At most
	// MaxWriters are kept: the first ones, then Process.
	Writers []*Process
	Count   int // occurrences folded into this one within the dedup window (0: not folded)

	// Set by the provenance step (package provenance) when a package database was read:
	// what the package manager says of the path. Verdict is "" when it was not asked.
	Verdict     Verdict
	Package     *Package     // the package that owns the path (or owned it, for removed)
	Reason      string       // why, for unknown, mismatch and conffile
	Transaction *Transaction // the package log's last change of Package since the baseline

	// Set by the severity step (package severity), after provenance: how much the event
	// matters, and the names of the rules that decided it. Severity is SeverityUnset when
	// no rule table was applied.
	Severity Severity
	Reasons  []string

	// Set by the content diff step (check.AddDiffs) for a regular file whose content
	// is kept (content_diff): the unified diff of its recorded and current content
	// (a create's first lines, a remove's last content), raw text, one '\n' after each
	// line; or why there is none ("binary", "too_large", "secret", "private").
	Diff   string
	NoDiff string

	// Notice is what a notice says (see IsNotice); nil on the events of changes.
	Notice *Notice

	// SHA256 is the SHA-256 of After's content in hex, set after the walk (check.AddSHA256)
	// for a format that reports it, when the file could be read again and still had
	// After's BLAKE3 hash; "" otherwise.
	SHA256 string
}

// Notice is what fim watch says of itself in an event of a notice kind.
type Notice struct {
	// HeldBack, of RateLimited: the events of the minute past --max-events-per-minute,
	// not delivered; the rescan that follows reports the net change of their paths.
	HeldBack int
	// Of RateLimited: the paths of the events held back, sorted, at most a thousand, and
	// how many more there were: a path changed and changed back within the minute has
	// no net change for the rescan to report, and is named here.
	Paths     []string
	MorePaths int
	// Of Heartbeat: the digest of the baseline the watch compares with ("" without
	// one), the entries of the state it compares with, and the marks in force by
	// backend (see watch.Watcher.Marks).
	Digest  string
	Entries int
	Marks   map[string]int
}

// Verdict is what the package databases make of an event's path.
type Verdict string

// The verdicts. Only match, listed, removed, database and script say the package manager did it.
const (
	VerdictMatch    Verdict = "match"    // the content has the digest its package recorded
	VerdictListed   Verdict = "listed"   // a directory or symlink its package lists, made in its transaction
	VerdictRemoved  Verdict = "removed"  // removed with its package (or by the package's upgrade)
	VerdictMismatch Verdict = "mismatch" // owned by a package, not what it shipped
	VerdictConffile Verdict = "conffile" // a config file edited since its package installed it
	VerdictUnowned  Verdict = "unowned"  // no package owns the path
	VerdictUnknown  Verdict = "unknown"  // no usable database, or no digest to compare
	VerdictMissing  Verdict = "missing"  // removed, and a package still lists it
	// VerdictTampered: drawn from package database entries that changed since the
	// baseline while the package log shows no transaction of their package.
	VerdictTampered Verdict = "tampered"
	// VerdictScript: written by a descendant of the package manager (a maintainer script
	// or trigger, or the manager itself), as the writer's Lineage says; the lineage is
	// what the processes said of themselves, evidence and not proof.
	VerdictScript Verdict = "script"
	// VerdictDatabase: a file of dpkg's own database (status, its lock and trigger
	// files, info/PKG.*) written in a transaction the package log shows since the
	// baseline: of PKG for its info files, any for the files every transaction writes.
	VerdictDatabase Verdict = "database"
)

// Explained reports whether v says the package manager made the change.
func (v Verdict) Explained() bool {
	return v == VerdictMatch || v == VerdictListed || v == VerdictRemoved || v == VerdictScript || v == VerdictDatabase
}

// Rank orders events, given sorted by path, as reports show them: those the package
// manager does not explain first, then within each part the most severe first, then,
// of one severity, those the package database proves wrong (Disproved) first, events
// of one rank keeping their order.
func Rank(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		if ea, eb := a.Verdict.Explained(), b.Verdict.Explained(); ea != eb {
			if ea {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if da, db := a.Verdict.Disproved(), b.Verdict.Disproved(); da != db {
			if da {
				return -1
			}
			return 1
		}
		return 0
	})
}

// Disproved reports whether v says the package database contradicts the change: the
// content is not what the package shipped (mismatch), a file it installed is gone
// (missing), or the database entries it was drawn from were edited outside any
// transaction (tampered). An unowned or unknown change is only unexplained.
func (v Verdict) Disproved() bool {
	return v == VerdictMismatch || v == VerdictMissing || v == VerdictTampered
}

// Severity grades an event, from info to critical; the zero value is unset.
type Severity uint8

// The severities, in increasing order.
const (
	SeverityUnset Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity is the inverse of Severity.String for the five severities.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames[1:] {
		if n == s {
			return Severity(i + 1), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[1:], ", "))
}

// Package names an installed (or removed) package.
type Package struct {
	Manager string // dpkg, rpm or apk
	Name    string
	Version string
	Arch    string
}

// Transaction is one change of a package in the package log.
type Transaction struct {
	Time   time.Time
	Action string // install, upgrade, remove or purge
	Old    string // the version before ("" for install)
	New    string // the version after ("" for remove and purge)
}

// MaxWriters bounds Event.Writers.
const MaxWriters = 16

// AddWriter returns ws with p noted as the latest writer of an event: a process already
// in ws moves to the end, a new one is appended; when ws is full, the last one goes
// first (the first MaxWriters-1 writers and the latest are kept). ws itself is not modified.
func AddWriter(ws []*Process, p *Process) []*Process {
	if p == nil {
		return ws
	}
	out := make([]*Process, 0, min(len(ws)+1, MaxWriters))
	for _, q := range ws {
		if !q.Same(p) {
			out = append(out, q)
		}
	}
	if len(out) >= MaxWriters {
		out = out[:MaxWriters-1]
	}
	return append(out, p)
}

// Writers returns what Event.Writers holds for the writers ws: nil for one or none.
func Writers(ws []*Process) []*Process {
	if len(ws) < 2 {
		return nil
	}
	return ws
}

// Process is the process a kernel event names, read from /proc when fim read the event
// (not when the change was made: a process that exec'ed in between shows the program it
// became; one that exited shows only Gone). Numeric fields are -1 when unknown.
type Process struct {
	PID       int
	StartTime uint64   // clock ticks after boot (/proc/PID/stat field 22): with PID, tells pid reuse apart
	Name      string   // /proc/PID/comm: what the process calls itself, which it may set
	Exe       string   // /proc/PID/exe: the program that runs, which it cannot set
	Args      []string // /proc/PID/cmdline
	Cwd       string   // /proc/PID/cwd
	PPID      int
	Parent    string // the parent's comm
	UID, EUID int    // real and effective uid from /proc/PID/status
	GID, EGID int
	User      string // names of UID, EUID, GID and EGID in the monitored root's passwd and group files
	EUser     string
	Group     string
	EGroup    string
	AUID      int    // login uid (/proc/PID/loginuid); -1 when unset
	SessionID int    // audit session (/proc/PID/sessionid); -1 when unset
	TTY       string // controlling terminal ("pts/3", "tty1"); "" for none
	Container *Container
	Gone      bool // the process had exited before fim could read /proc
	// Lineage, when the process or one of its ancestors is a package manager or the
	// process runs a dpkg maintainer script: what its ancestry said when fim read it.
	Lineage *Lineage
}

// Lineage is what fim read of a writer's ancestry: the nearest package manager among
// the process and its ancestors, and the maintainer script it runs. Every name is what
// a process says of itself (comm, environment), which any process can set.
type Lineage struct {
	Manager    string // dpkg, apt, rpm, dnf, yum, apk, ...: "" when no ancestor is one
	ManagerPID int
	// Package and Script: DPKG_MAINTSCRIPT_PACKAGE and DPKG_MAINTSCRIPT_NAME of the
	// process or its nearest ancestor that has them; under another manager, Script is
	// the program the manager's child runs.
	Package string
	Script  string
	// Chain names the ancestors from the process's parent up to the manager (comm,
	// "gone" for one that exited), at most MaxChain of them.
	Chain []string
}

// MaxChain bounds Lineage.Chain, and how far fim climbs a writer's ancestry.
const MaxChain = 32

// Explains reports whether l names a package manager the writer descends from.
func (l *Lineage) Explains() bool { return l != nil && l.Manager != "" }

// String summarizes l: "hello's postinst under dpkg", "dpkg".
func (l *Lineage) String() string {
	if l == nil {
		return ""
	}
	var s string
	switch {
	case l.Package != "" && l.Script != "":
		s = l.Package + "'s " + l.Script
	case l.Package != "":
		s = l.Package
	case l.Script != "":
		s = l.Script
	}
	switch {
	case s == "":
		return l.Manager
	case l.Manager == "":
		return s + " (no package manager among its ancestors)"
	}
	return s + " under " + l.Manager
}

// Same reports whether p and q are the same process as read: the same pid and start
// time, running the same program under the same name.
func (p *Process) Same(q *Process) bool {
	return p == q || p != nil && q != nil && p.PID == q.PID && p.StartTime == q.StartTime &&
		p.Exe == q.Exe && p.Name == q.Name && p.Gone == q.Gone
}

// Container is what a process's cgroup path says of the container it runs in.
type Container struct {
	ID      string
	Runtime string // docker, containerd, cri-o, podman, systemd-nspawn; "" when the path does not say
	PodUID  string // Kubernetes pod, from the kubepods path
	QoS     string // the pod's QoS class: guaranteed, burstable or besteffort
}
