package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"fim/diff"
	"fim/tree"
)

// ecsVersion is the version of the Elastic Common Schema the ecs format follows, and
// ecsDataset the event.dataset of every document (module "fim", dataset "file").
const (
	ecsVersion = "8.11.0"
	ecsDataset = "fim.file"
)

// ecsKinds gives, per kind, the ECS event.type and the event.action, in the words of
// Auditbeat's file_integrity module (which calls a rename a move too).
var ecsKinds = [...]struct{ typ, action string }{
	diff.Create: {"creation", "created"},
	diff.Change: {"change", "updated"},
	diff.Remove: {"deletion", "deleted"},
	diff.Chmod:  {"change", "attributes_modified"},
	diff.Rename: {"change", "moved"},
	diff.Move:   {"change", "moved"},
	// fim watch's notices: of the watch, not of a file
	diff.RateLimited: {"info", "rate-limited"},
	diff.Heartbeat:   {"info", "heartbeat"},
}

type ecsDoc struct {
	Timestamp    string           `json:"@timestamp"`
	Message      string           `json:"message"`
	ECS          ecsMeta          `json:"ecs"`
	Event        ecsEvent         `json:"event"`
	File         *ecsFile         `json:"file,omitempty"` // nil on a notice
	Process      *ecsProcess      `json:"process,omitempty"`
	User         *ecsUser         `json:"user,omitempty"`
	Group        *ecsID           `json:"group,omitempty"`
	Container    *ecsContainer    `json:"container,omitempty"`
	Orchestrator *ecsOrchestrator `json:"orchestrator,omitempty"`
	Package      *ecsPackage      `json:"package,omitempty"`
	Host         jsonHost         `json:"host"`
	FIM          ecsFIM           `json:"fim"`
}

// ecsPackage is the ECS package field set: the package that owns the file.
type ecsPackage struct {
	Name         string `json:"name"`
	Version      string `json:"version,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	Type         string `json:"type"` // the package manager: dpkg, rpm or apk
}

type ecsMeta struct {
	Version string `json:"version"`
}

type ecsEvent struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Action   string   `json:"action"`
	Module   string   `json:"module"`
	Dataset  string   `json:"dataset"`
	// Severity (1 info … 5 critical) and RiskScore (riskScore), when graded.
	Severity  int      `json:"severity,omitempty"`
	RiskScore *float64 `json:"risk_score,omitempty"`
}

// ecsFile is the ECS file field set. The path fields are always there; the others
// only when the event has the entry.
type ecsFile struct {
	Path      string `json:"path"`
	Name      string `json:"name"`
	Directory string `json:"directory"`
	Extension string `json:"extension,omitempty"`
	*ecsStat
	// Ext holds where a renamed or moved file was before, as Elastic Defend's events
	// carry it and Elastic's prebuilt detection rules read it (file.Ext.original.path):
	// not an ECS field, but the one place those rules look. fim.old_path has it too.
	Ext *ecsFileExt `json:"Ext,omitempty"`
}

type ecsFileExt struct {
	Original ecsOriginal `json:"original"`
}

type ecsOriginal struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

type ecsStat struct {
	Type       string   `json:"type"`
	Size       int64    `json:"size"`
	Mode       string   `json:"mode"`
	UID        string   `json:"uid"`
	Owner      string   `json:"owner,omitempty"`
	GID        string   `json:"gid"`
	Group      string   `json:"group,omitempty"`
	Inode      string   `json:"inode"`
	Mtime      string   `json:"mtime"`
	Ctime      string   `json:"ctime"`
	TargetPath string   `json:"target_path,omitempty"`
	Hash       *ecsHash `json:"hash,omitempty"`
}

type ecsHash struct {
	SHA256 string `json:"sha256"`
}

// ecsTypes are the ECS file.type of each entry type, as Auditbeat names them.
var ecsTypes = [...]string{
	tree.TypeUnknown: "unknown", tree.TypeFile: "file", tree.TypeDir: "dir", tree.TypeSymlink: "symlink",
	tree.TypeFIFO: "fifo", tree.TypeSocket: "socket", tree.TypeCharDev: "char_device", tree.TypeBlockDev: "block_device",
}

type ecsProcess struct {
	PID              int        `json:"pid"`
	Name             string     `json:"name,omitempty"`
	Executable       string     `json:"executable,omitempty"`
	Args             []string   `json:"args,omitempty"`
	WorkingDirectory string     `json:"working_directory,omitempty"`
	Parent           *ecsParent `json:"parent,omitempty"`
	User             *ecsID     `json:"user,omitempty"`      // effective
	RealUser         *ecsID     `json:"real_user,omitempty"` // real
	RealGroup        *ecsID     `json:"real_group,omitempty"`
}

type ecsParent struct {
	PID  int    `json:"pid"`
	Name string `json:"name,omitempty"`
}

// ecsID is a user or group: id and name.
type ecsID struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// ecsUser is the top-level user set: the real user and the effective one.
type ecsUser struct {
	ecsID
	Effective *ecsID `json:"effective,omitempty"`
}

type ecsContainer struct {
	ID      string `json:"id,omitempty"`
	Runtime string `json:"runtime,omitempty"`
}

type ecsOrchestrator struct {
	Type     string      `json:"type"`
	Resource ecsResource `json:"resource"`
}

type ecsResource struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ecsFIMHash is the content hash fim records, which ECS has no field for.
type ecsFIMHash struct {
	BLAKE3 string `json:"blake3"`
}

// newECSID returns the user or group of id, nil when unknown.
func newECSID(id int, name string) *ecsID {
	if id < 0 {
		return nil
	}
	return &ecsID{ID: strconv.Itoa(id), Name: name}
}

// ecsFIM holds what ECS has no field for, in the json format's names and encodings.
type ecsFIM struct {
	Format        int               `json:"format"` // FormatVersion
	Kind          string            `json:"kind"`
	Changed       []string          `json:"changed"`
	PathB64       string            `json:"path_b64,omitempty"`
	OldPath       string            `json:"old_path,omitempty"`
	OldPathB64    string            `json:"old_path_b64,omitempty"`
	TargetPathB64 string            `json:"target_path_b64,omitempty"`
	Xattrs        map[string]string `json:"xattrs,omitempty"`
	Hash          *ecsFIMHash       `json:"hash,omitempty"`
	SetUID        bool              `json:"setuid,omitempty"`
	SetGID        bool              `json:"setgid,omitempty"`
	ProcessGroup  *ecsID            `json:"process_group,omitempty"` // the effective group
	AuditUser     *ecsID            `json:"audit_user,omitempty"`    // the login user
	Flags         []string          `json:"flags,omitempty"`
	Before        *jsonEntry        `json:"before,omitempty"`
	Source        string            `json:"source,omitempty"`
	ProcessGone   bool              `json:"process_gone,omitempty"`
	Lineage       *jsonLineage      `json:"lineage,omitempty"`
	ProcessStart  uint64            `json:"process_start_time,omitempty"`
	TTY           string            `json:"tty,omitempty"`
	SessionID     *int              `json:"sessionid,omitempty"`
	PodQoS        string            `json:"pod_qos,omitempty"`
	Writers       []*jsonProcess    `json:"writers,omitempty"`
	Count         int               `json:"count,omitempty"`
	Baseline      *jsonBaseline     `json:"baseline,omitempty"`
	Verdict       string            `json:"verdict,omitempty"`
	VerdictReason string            `json:"verdict_reason,omitempty"`
	Transaction   *jsonTransaction  `json:"transaction,omitempty"`
	Severity      string            `json:"severity,omitempty"`
	Reasons       []string          `json:"reasons,omitempty"`
	Diff          string            `json:"diff,omitempty"`
	NoDiff        string            `json:"no_diff,omitempty"`
	Notice        *jsonNotice       `json:"notice,omitempty"`
}

// ECS renders events as NDJSON, one Elastic Common Schema (ecsVersion) document per
// event, shaped as Auditbeat's file_integrity module shapes its own so that the same
// dashboards and rules apply: nested objects (not dotted keys), @timestamp (info.Time),
// ecs.version, event.id (see ecsEventID), event.kind "event", event.category
// ["file"], event.type ("creation", "change" or "deletion"), event.action ("created",
// "updated", "deleted", "attributes_modified" for a chmod, "moved" for a rename or a
// move), event.module "fim", event.dataset "fim.file", the file set (path, name,
// directory, extension, type as Auditbeat names it, size, mode as four octal digits,
// uid, gid and inode as strings, owner and group as info.Names names them, mtime,
// ctime, target_path, and hash.sha256 when the event carries one: see
// check.AddSHA256), the process set when fim watch knows who did it, and host.name and
// host.id. The file set describes the entry after the event, or the removed one;
// message is the event's text line. Every field outside fim is an ECS field of its
// ECS type.
//
// The fim object holds the rest: format (FormatVersion), kind (fim's own: "rename" and "move" differ there),
// changed, old_path, source, count, process_gone, hash.blake3, setuid, setgid, the
// entry's extended attributes and flags, the effective group and login user of the
// process, the provenance verdict, verdict_reason and transaction (the package that
// owns the file is ECS's package set: name, version, architecture, type the manager),
// and before, the entry as the baseline recorded it (every attribute, so the old value
// of each changed one), in the json format's shape. As in the json format, a path that
// is not valid UTF-8 is written lossily and its exact bytes in base64 go to a
// companion field: fim.path_b64 for file.path (and so for file.name and
// file.directory), fim.old_path_b64 for fim.old_path, fim.target_path_b64 for
// file.target_path, and link_target_b64 inside fim.before.
func ECS(w io.Writer, events []diff.Event, info Info) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	when := info.Time.UTC().Format(timeLayout)
	host := jsonHost{Name: info.Host.Name, ID: info.Host.ID}
	category := []string{"file"}
	var msg []byte
	for i := range events {
		ev := &events[i]
		msg = appendMessage(msg[:0], ev)
		doc := ecsDoc{
			Timestamp: when,
			Message:   string(msg),
			ECS:       ecsMeta{ecsVersion},
			Event: ecsEvent{ID: ecsEventID(info, ev), Kind: "event", Category: category, Module: "fim",
				Dataset: ecsDataset},
			Host: host,
			FIM: ecsFIM{
				Format:   FormatVersion,
				Kind:     ev.Kind.String(),
				Changed:  ev.Changed.Strings(),
				PathB64:  rawIfInvalid(ev.Path),
				Source:   ev.Source,
				Count:    ev.Count,
				Baseline: newJSONBaseline(info.Baseline),
				Diff:     ev.Diff,
				NoDiff:   ev.NoDiff,
			},
		}
		if int(ev.Kind) < len(ecsKinds) {
			doc.Event.Type = []string{ecsKinds[ev.Kind].typ}
			doc.Event.Action = ecsKinds[ev.Kind].action
		} else {
			doc.Event.Type = []string{"info"}
			doc.Event.Action = ev.Kind.String()
		}
		if doc.FIM.Changed == nil {
			doc.FIM.Changed = []string{}
		}
		e := ev.After
		if ev.Kind == diff.Remove {
			e = ev.Before
		}
		doc.FIM.Notice = newJSONNotice(ev)
		if !ev.Kind.IsNotice() {
			f := newECSFile(ev.Path, e, info.Names)
			doc.File = &f
		}
		if e != nil {
			if e.Type == tree.TypeSymlink {
				doc.FIM.TargetPathB64 = rawIfInvalid(e.LinkTarget)
			}
			doc.FIM.Xattrs = jsonXattrs(e.Xattrs)
			doc.FIM.Flags = jsonFlags(e.Flags)
			if e.Hashed() {
				doc.FIM.Hash = &ecsFIMHash{hex.EncodeToString(e.Hash[:])}
			}
			doc.FIM.SetUID, doc.FIM.SetGID = e.Mode&0o4000 != 0, e.Mode&0o2000 != 0
		}
		if ev.SHA256 != "" && e == ev.After {
			doc.File.Hash = &ecsHash{ev.SHA256}
		}
		if ev.OldPath != "" {
			doc.File.Ext = &ecsFileExt{ecsOriginal{Path: ev.OldPath, Name: path.Base(ev.OldPath)}}
			doc.FIM.OldPath = ev.OldPath
			doc.FIM.OldPathB64 = rawIfInvalid(ev.OldPath)
		}
		if ev.Kind != diff.Create && ev.Kind != diff.Remove {
			doc.FIM.Before = newJSONEntry(ev.Before)
		}
		if p := ev.Process; p != nil {
			setECSProcess(&doc, p)
		}
		doc.FIM.Writers = newJSONWriters(ev.Writers)
		if p := ev.Package; p != nil {
			doc.Package = &ecsPackage{Name: p.Name, Version: p.Version, Architecture: p.Arch, Type: p.Manager}
		}
		doc.FIM.Verdict, doc.FIM.VerdictReason = string(ev.Verdict), ev.Reason
		doc.FIM.Transaction = newJSONTransaction(ev.Transaction)
		if s := ev.Severity; s != diff.SeverityUnset && s <= diff.SeverityCritical {
			doc.Event.Severity, doc.Event.RiskScore = int(s), &riskScore[s]
			doc.FIM.Severity, doc.FIM.Reasons = s.String(), ev.Reasons
		}
		if err := enc.Encode(&doc); err != nil {
			return fmt.Errorf("write ecs report: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write ecs report: %w", err)
	}
	return nil
}

// setECSProcess fills in what doc says of the process p: the process set, the user and
// group sets (real, effective, login), container and orchestrator (a Kubernetes pod),
// and in fim what ECS has no field for.
func setECSProcess(doc *ecsDoc, p *diff.Process) {
	doc.Process = &ecsProcess{PID: p.PID, Name: p.Name, Executable: p.Exe, Args: p.Args, WorkingDirectory: p.Cwd,
		User: newECSID(p.EUID, p.EUser), RealUser: newECSID(p.UID, p.User), RealGroup: newECSID(p.GID, p.Group)}
	doc.FIM.ProcessGroup, doc.FIM.AuditUser = newECSID(p.EGID, p.EGroup), newECSID(p.AUID, "")
	if p.PPID > 0 {
		doc.Process.Parent = &ecsParent{PID: p.PPID, Name: p.Parent}
	}
	if u := newECSID(p.UID, p.User); u != nil {
		doc.User = &ecsUser{ecsID: *u, Effective: newECSID(p.EUID, p.EUser)}
	}
	doc.Group = newECSID(p.GID, p.Group)
	if c := p.Container; c != nil {
		if c.ID != "" {
			doc.Container = &ecsContainer{ID: c.ID, Runtime: c.Runtime}
		}
		if c.PodUID != "" {
			doc.Orchestrator = &ecsOrchestrator{Type: "kubernetes", Resource: ecsResource{Type: "pod", ID: c.PodUID}}
		}
		doc.FIM.PodQoS = c.QoS
	}
	doc.FIM.ProcessGone, doc.FIM.ProcessStart, doc.FIM.TTY = p.Gone, p.StartTime, p.TTY
	doc.FIM.Lineage = newJSONLineage(p.Lineage)
	if p.SessionID >= 0 {
		doc.FIM.SessionID = &p.SessionID
	}
}

// ecsEventID returns the event.id of an event in a report: the first 16 bytes, in hex,
// of the SHA-256 of the host id, the report's time, the kind, the path and the old path
// (each ended by a NUL). Rendering the same report again gives the same ids, so that a
// collector that takes event.id as the document id stores a report sent twice once;
// the same change reported by another check (another time) is another event.
func ecsEventID(info Info, ev *diff.Event) string {
	h := sha256.New()
	for _, s := range []string{info.Host.ID, info.Time.UTC().Format(timeLayout), ev.Kind.String(), ev.Path, ev.OldPath} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// newECSFile returns the ECS file set of an event's path and entry (nil: path only),
// with the owner's names as names gives them (nil: none).
func newECSFile(p string, e *tree.Entry, names Names) ecsFile {
	f := ecsFile{Path: p, Name: path.Base(p), Directory: path.Dir(p)}
	if e == nil {
		return f
	}
	if e.Type != tree.TypeDir {
		// The text after the name's last dot, if the dot neither starts nor ends it.
		if i := strings.LastIndexByte(f.Name, '.'); i > 0 && i < len(f.Name)-1 {
			f.Extension = f.Name[i+1:]
		}
	}
	st := &ecsStat{
		Type:  ecsTypes[tree.TypeUnknown],
		Size:  e.Size,
		Mode:  octalMode(e.Mode),
		UID:   strconv.FormatUint(uint64(e.UID), 10),
		GID:   strconv.FormatUint(uint64(e.GID), 10),
		Inode: strconv.FormatUint(e.Inode, 10),
		Mtime: formatTime(e.Mtime),
		Ctime: formatTime(e.Ctime),
	}
	if int(e.Type) < len(ecsTypes) {
		st.Type = ecsTypes[e.Type]
	}
	if names != nil {
		st.Owner, st.Group = names.User(int(e.UID)), names.Group(int(e.GID))
	}
	if e.Type == tree.TypeSymlink {
		st.TargetPath = e.LinkTarget
	}
	f.ecsStat = st
	return f
}
