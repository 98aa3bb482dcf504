package report

import (
	"bufio"
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

// ecsVersion is the version of the Elastic Common Schema the ecs format follows.
const ecsVersion = "8.11.0"

// ecsKinds gives, per kind, the ECS event.type and the event.action, in the words of
// Auditbeat's file_integrity module (which calls a rename a move too).
var ecsKinds = [...]struct{ typ, action string }{
	diff.Create: {"creation", "created"},
	diff.Change: {"change", "updated"},
	diff.Remove: {"deletion", "deleted"},
	diff.Chmod:  {"change", "attributes_modified"},
	diff.Rename: {"change", "moved"},
	diff.Move:   {"change", "moved"},
}

type ecsDoc struct {
	Timestamp    string           `json:"@timestamp"`
	Message      string           `json:"message"`
	ECS          ecsMeta          `json:"ecs"`
	Event        ecsEvent         `json:"event"`
	File         ecsFile          `json:"file"`
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
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Action   string   `json:"action"`
	Module   string   `json:"module"`
}

// ecsFile is the ECS file field set. The path fields are always there; the others
// only when the event has the entry.
type ecsFile struct {
	Path      string `json:"path"`
	Name      string `json:"name"`
	Directory string `json:"directory"`
	Extension string `json:"extension,omitempty"`
	*ecsStat
}

type ecsStat struct {
	Type       string   `json:"type"`
	Size       int64    `json:"size"`
	Mode       string   `json:"mode"`
	UID        string   `json:"uid"`
	GID        string   `json:"gid"`
	Inode      string   `json:"inode"`
	Mtime      string   `json:"mtime"`
	Ctime      string   `json:"ctime"`
	TargetPath string   `json:"target_path,omitempty"`
	Hash       *ecsHash `json:"hash,omitempty"`
	SetUID     bool     `json:"setuid,omitempty"`
	SetGID     bool     `json:"setgid,omitempty"`
}

type ecsHash struct {
	BLAKE3 string `json:"blake3"`
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
	Group            *ecsID     `json:"group,omitempty"`
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

// ecsUser is the top-level user set: the real user, the effective one and the login
// (audit) user.
type ecsUser struct {
	ecsID
	Effective *ecsID `json:"effective,omitempty"`
	Audit     *ecsID `json:"audit,omitempty"`
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

// newECSID returns the user or group of id, nil when unknown.
func newECSID(id int, name string) *ecsID {
	if id < 0 {
		return nil
	}
	return &ecsID{ID: strconv.Itoa(id), Name: name}
}

// ecsFIM holds what ECS has no field for, in the json format's names and encodings.
type ecsFIM struct {
	Kind          string            `json:"kind"`
	Changed       []string          `json:"changed"`
	PathB64       string            `json:"path_b64,omitempty"`
	OldPath       string            `json:"old_path,omitempty"`
	OldPathB64    string            `json:"old_path_b64,omitempty"`
	TargetPathB64 string            `json:"target_path_b64,omitempty"`
	Xattrs        map[string]string `json:"xattrs,omitempty"`
	Flags         []string          `json:"flags,omitempty"`
	Before        *jsonEntry        `json:"before,omitempty"`
	Source        string            `json:"source,omitempty"`
	ProcessGone   bool              `json:"process_gone,omitempty"`
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
}

// ECS renders events as NDJSON, one Elastic Common Schema document per event, shaped as
// Auditbeat's file_integrity module shapes its own so that the same dashboards and
// rules apply: nested objects (not dotted keys), @timestamp (info.Time),
// ecs.version, event.kind "event", event.category ["file"], event.type ("creation",
// "change" or "deletion"), event.action ("created", "updated", "deleted",
// "attributes_modified" for a chmod, "moved" for a rename or a move), event.module
// "fim", the file set (path, name, directory, extension, type, size, mode as four
// octal digits, uid, gid and inode as strings, mtime, ctime, target_path, hash.blake3,
// setuid and setgid when set), the process set when fim watch knows who did it, and
// host.name and host.id. The file set describes the entry after the event, or the
// removed one; message is the event's text line.
//
// The fim object holds the rest: kind (fim's own: "rename" and "move" differ there),
// changed, old_path, source, count, process_gone, the entry's extended attributes and
// flags, the provenance verdict, verdict_reason and transaction (the package that owns
// the file is ECS's package set: name, version, architecture, type the manager), and before, the entry as the baseline recorded it (every attribute, so the old
// value of each changed one), in the json format's shape. As in the json format, a path
// that is not valid UTF-8 is written lossily and its exact bytes in base64 go to a
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
			Event:     ecsEvent{Kind: "event", Category: category, Module: "fim"},
			Host:      host,
			FIM: ecsFIM{
				Kind:     ev.Kind.String(),
				Changed:  ev.Changed.Strings(),
				PathB64:  rawIfInvalid(ev.Path),
				Source:   ev.Source,
				Count:    ev.Count,
				Baseline: newJSONBaseline(info.Baseline),
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
		doc.File = newECSFile(ev.Path, e)
		if e != nil {
			if e.Type == tree.TypeSymlink {
				doc.FIM.TargetPathB64 = rawIfInvalid(e.LinkTarget)
			}
			doc.FIM.Xattrs = jsonXattrs(e.Xattrs)
			doc.FIM.Flags = jsonFlags(e.Flags)
		}
		if ev.OldPath != "" {
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
		User: newECSID(p.EUID, p.EUser), RealUser: newECSID(p.UID, p.User),
		Group: newECSID(p.EGID, p.EGroup), RealGroup: newECSID(p.GID, p.Group)}
	if p.PPID > 0 {
		doc.Process.Parent = &ecsParent{PID: p.PPID, Name: p.Parent}
	}
	if u := newECSID(p.UID, p.User); u != nil {
		doc.User = &ecsUser{ecsID: *u, Effective: newECSID(p.EUID, p.EUser), Audit: newECSID(p.AUID, "")}
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
	if p.SessionID >= 0 {
		doc.FIM.SessionID = &p.SessionID
	}
}

// newECSFile returns the ECS file set of an event's path and entry (nil: path only).
func newECSFile(p string, e *tree.Entry) ecsFile {
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
		Type:   e.Type.String(),
		Size:   e.Size,
		Mode:   octalMode(e.Mode),
		UID:    strconv.FormatUint(uint64(e.UID), 10),
		GID:    strconv.FormatUint(uint64(e.GID), 10),
		Inode:  strconv.FormatUint(e.Inode, 10),
		Mtime:  formatTime(e.Mtime),
		Ctime:  formatTime(e.Ctime),
		SetUID: e.Mode&0o4000 != 0,
		SetGID: e.Mode&0o2000 != 0,
	}
	if e.Type == tree.TypeSymlink {
		st.TargetPath = e.LinkTarget
	}
	if e.Hashed() {
		st.Hash = &ecsHash{hex.EncodeToString(e.Hash[:])}
	}
	f.ecsStat = st
	return f
}
