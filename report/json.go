package report

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"fim/diff"
	"fim/tree"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so that times line up and
// sort as strings; time.RFC3339Nano parses it.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// b64Prefix marks an extended attribute name or value written in base64.
const b64Prefix = "base64:"

// jsonEvent is one line of the json format. Field order is output order.
type jsonEvent struct {
	FIM        lineFormat     `json:"fim"`
	Type       string         `json:"type"`
	Path       string         `json:"path"`
	PathB64    string         `json:"path_b64,omitempty"`
	OldPath    string         `json:"old_path,omitempty"`
	OldPathB64 string         `json:"old_path_b64,omitempty"`
	Changed    []string       `json:"changed"`
	File       *jsonEntry     `json:"file,omitempty"`
	Before     *jsonEntry     `json:"before,omitempty"`
	Time       string         `json:"time"`
	Host       jsonHost       `json:"host"`
	Baseline   *jsonBaseline  `json:"baseline,omitempty"`
	Source     string         `json:"source,omitempty"`
	Process    *jsonProcess   `json:"process,omitempty"`
	Writers    []*jsonProcess `json:"writers,omitempty"`
	Count      int            `json:"count,omitempty"`
	Notice     *jsonNotice    `json:"notice,omitempty"`
	jsonJudgement
}

// jsonJudgement is what fim made of an event beyond the diff, in the json format and
// in a SARIF result's properties: its provenance, when the package databases were
// asked, and its severity, when the events were graded.
type jsonJudgement struct {
	Verdict     string           `json:"verdict,omitempty"`
	Reason      string           `json:"verdict_reason,omitempty"`
	Package     *jsonPackage     `json:"package,omitempty"`
	Transaction *jsonTransaction `json:"transaction,omitempty"`
	Severity    string           `json:"severity,omitempty"`
	Reasons     []string         `json:"reasons,omitempty"`
	// Diff is the content diff (check.AddDiffs), NoDiff why a kept file has none.
	Diff   string `json:"diff,omitempty"`
	NoDiff string `json:"no_diff,omitempty"`
}

func newJSONJudgement(ev *diff.Event) jsonJudgement {
	return jsonJudgement{Verdict: string(ev.Verdict), Reason: ev.Reason, Package: newJSONPackage(ev.Package),
		Transaction: newJSONTransaction(ev.Transaction), Severity: ev.Severity.String(), Reasons: ev.Reasons,
		Diff: ev.Diff, NoDiff: ev.NoDiff}
}

// jsonProcess is the process that caused a watched event. Ids that are unknown, and
// the login uid and session when unset, are left out.
type jsonProcess struct {
	PID       int            `json:"pid"`
	StartTime uint64         `json:"start_time,omitempty"` // clock ticks after boot
	Name      string         `json:"name,omitempty"`
	Exe       string         `json:"exe,omitempty"`
	Args      []string       `json:"args,omitempty"`
	Cwd       string         `json:"cwd,omitempty"`
	PPID      *int           `json:"ppid,omitempty"`
	Parent    string         `json:"parent,omitempty"`
	UID       *int           `json:"uid,omitempty"`
	User      string         `json:"user,omitempty"`
	EUID      *int           `json:"euid,omitempty"`
	EUser     string         `json:"euser,omitempty"`
	GID       *int           `json:"gid,omitempty"`
	Group     string         `json:"group,omitempty"`
	EGID      *int           `json:"egid,omitempty"`
	EGroup    string         `json:"egroup,omitempty"`
	AUID      *int           `json:"auid,omitempty"`
	SessionID *int           `json:"sessionid,omitempty"`
	TTY       string         `json:"tty,omitempty"`
	Container *jsonContainer `json:"container,omitempty"`
	Gone      bool           `json:"gone,omitempty"` // exited before fim could read /proc
	Lineage   *jsonLineage   `json:"lineage,omitempty"`
}

// jsonLineage is a writer's ancestry up to the package manager (diff.Lineage).
type jsonLineage struct {
	Manager    string   `json:"manager,omitempty"`
	ManagerPID int      `json:"manager_pid,omitempty"`
	Package    string   `json:"package,omitempty"`
	Script     string   `json:"script,omitempty"`
	Chain      []string `json:"chain,omitempty"`
}

func newJSONLineage(l *diff.Lineage) *jsonLineage {
	if l == nil {
		return nil
	}
	return &jsonLineage{Manager: l.Manager, ManagerPID: l.ManagerPID, Package: l.Package, Script: l.Script, Chain: l.Chain}
}

type jsonContainer struct {
	ID      string `json:"id,omitempty"`
	Runtime string `json:"runtime,omitempty"`
	PodUID  string `json:"pod_uid,omitempty"`
	QoS     string `json:"qos,omitempty"`
}

// known returns &n, or nil for an unknown (negative) id.
func known(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

func newJSONProcess(p *diff.Process) *jsonProcess {
	if p == nil {
		return nil
	}
	jp := &jsonProcess{PID: p.PID, StartTime: p.StartTime, Name: p.Name, Exe: p.Exe, Args: p.Args, Cwd: p.Cwd,
		Parent: p.Parent, User: p.User, EUser: p.EUser, Group: p.Group, EGroup: p.EGroup, TTY: p.TTY, Gone: p.Gone,
		UID: known(p.UID), EUID: known(p.EUID), GID: known(p.GID), EGID: known(p.EGID),
		AUID: known(p.AUID), SessionID: known(p.SessionID), Lineage: newJSONLineage(p.Lineage)}
	if p.PPID > 0 {
		jp.PPID = &p.PPID
	}
	if c := p.Container; c != nil {
		jp.Container = &jsonContainer{ID: c.ID, Runtime: c.Runtime, PodUID: c.PodUID, QoS: c.QoS}
	}
	return jp
}

// newJSONWriters returns the writers of an event (nil for none or one).
func newJSONWriters(ws []*diff.Process) []*jsonProcess {
	var out []*jsonProcess
	for _, p := range ws {
		out = append(out, newJSONProcess(p))
	}
	return out
}

// jsonBaseline is the baseline a report compares with.
type jsonBaseline struct {
	Created    string `json:"created"`
	Generation uint64 `json:"generation"`
}

func newJSONBaseline(b Baseline) *jsonBaseline {
	if b.Generation == 0 {
		return nil
	}
	return &jsonBaseline{Created: b.Created.UTC().Format(timeLayout), Generation: b.Generation}
}

type jsonHost struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// jsonEntry is a walk.Entry in the json format.
type jsonEntry struct {
	Type          string            `json:"type"`
	Size          int64             `json:"size"`
	Mode          string            `json:"mode"`
	UID           uint32            `json:"uid"`
	GID           uint32            `json:"gid"`
	Inode         uint64            `json:"inode"`
	Device        uint64            `json:"device"`
	Nlink         uint64            `json:"nlink"`
	Rdev          *uint64           `json:"rdev,omitempty"`
	Mtime         string            `json:"mtime"`
	Ctime         string            `json:"ctime"`
	Hash          string            `json:"hash,omitempty"`
	LinkTarget    *string           `json:"link_target,omitempty"`
	LinkTargetB64 string            `json:"link_target_b64,omitempty"`
	Xattrs        map[string]string `json:"xattrs,omitempty"`
	Flags         []string          `json:"flags,omitempty"`
}

// flagNames are the entry flags the json format reports, in output order. FlagHashed
// shows as the hash itself; FlagBtime is not reported.
var flagNames = []struct {
	flag tree.Flags
	name string
}{
	{tree.FlagUnreadable, "unreadable"},
	{tree.FlagUnstable, "unstable"},
	{tree.FlagTooLarge, "too_large"},
	{tree.FlagXattrsUnreadable, "xattrs_unreadable"},
	{tree.FlagImplied, "implied"},
}

// JSON renders events as NDJSON: one object per event per line, nothing else. The
// process of a writer is converted once for all the events of a batch that name it (a
// watch names one process object for all the events of a writer within a short
// window).
func JSON(w io.Writer, events []diff.Event, info Info) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	procs := map[*diff.Process]*jsonProcess{}
	when := info.Time.UTC().Format(timeLayout)
	host := jsonHost{Name: info.Host.Name, ID: info.Host.ID}
	base := newJSONBaseline(info.Baseline)
	for i := range events {
		ev := &events[i]
		proc, ok := procs[ev.Process]
		if !ok {
			proc = newJSONProcess(ev.Process)
			procs[ev.Process] = proc
		}
		je := jsonEvent{
			FIM:      lineFormat{FormatVersion},
			Baseline: base,
			Type:     ev.Kind.String(),
			Path:     ev.Path,
			PathB64:  rawIfInvalid(ev.Path),
			Changed:  ev.Changed.Strings(),
			File:     newJSONEntry(ev.After),
			Time:     when,
			Host:     host,
			Source:   ev.Source,
			Process:  proc,
			Writers:  newJSONWriters(ev.Writers),
			Count:    ev.Count,
			Notice:   newJSONNotice(ev),

			jsonJudgement: newJSONJudgement(ev),
		}
		if je.Changed == nil {
			je.Changed = []string{}
		}
		if ev.OldPath != "" { // rename, move, or a change to what moved with a directory
			je.OldPath = ev.OldPath
			je.OldPathB64 = rawIfInvalid(ev.OldPath)
		}
		if ev.Kind != diff.Create {
			je.Before = newJSONEntry(ev.Before)
		}
		if err := enc.Encode(&je); err != nil {
			return fmt.Errorf("write json report: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

func newJSONEntry(e *tree.Entry) *jsonEntry {
	if e == nil {
		return nil
	}
	je := &jsonEntry{
		Type:   e.Type.String(),
		Size:   e.Size,
		Mode:   octalMode(e.Mode),
		UID:    e.UID,
		GID:    e.GID,
		Inode:  e.Inode,
		Device: e.Device,
		Nlink:  e.Nlink,
		Mtime:  formatTime(e.Mtime),
		Ctime:  formatTime(e.Ctime),
	}
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		rdev := e.Rdev
		je.Rdev = &rdev
	}
	if e.Hashed() {
		je.Hash = "blake3:" + hex.EncodeToString(e.Hash[:])
	}
	if e.Type == tree.TypeSymlink {
		target := e.LinkTarget
		je.LinkTarget = &target
		je.LinkTargetB64 = rawIfInvalid(target)
	}
	je.Xattrs = jsonXattrs(e.Xattrs)
	je.Flags = jsonFlags(e.Flags)
	return je
}

// jsonXattrs returns extended attributes as a JSON object, names and values encoded as
// the package doc says; nil if there are none.
func jsonXattrs(xattrs []tree.Xattr) map[string]string {
	if len(xattrs) == 0 {
		return nil
	}
	m := make(map[string]string, len(xattrs))
	for _, x := range xattrs {
		name := x.Name
		if !utf8.ValidString(name) {
			name = b64Prefix + base64.StdEncoding.EncodeToString([]byte(name))
		}
		m[name] = xattrValue(x.Value)
	}
	return m
}

// jsonFlags returns the names of the reported flags that are set, in flagNames order.
func jsonFlags(flags tree.Flags) []string {
	var names []string
	for _, f := range flagNames {
		if flags&f.flag != 0 {
			names = append(names, f.name)
		}
	}
	return names
}

// rawIfInvalid returns s in standard base64 if it is not valid UTF-8, else "".
func rawIfInvalid(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// xattrValue returns an extended attribute value as a string if it is printable UTF-8,
// else as "base64:" and its standard base64.
func xattrValue(v []byte) string {
	if printable(v) && !strings.HasPrefix(string(v), b64Prefix) {
		return string(v)
	}
	return b64Prefix + base64.StdEncoding.EncodeToString(v)
}

func printable(v []byte) bool {
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		if r == utf8.RuneError && n <= 1 || !strconv.IsPrint(r) {
			return false
		}
		v = v[n:]
	}
	return true
}

// octalMode renders permission bits with setuid, setgid and sticky in at least four
// octal digits ("4755", "0644").
func octalMode(mode uint32) string {
	return fmt.Sprintf("%04o", mode&0o7777)
}

// formatTime renders nanoseconds since the Unix epoch as RFC 3339 UTC with nanoseconds.
func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(timeLayout)
}
