package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"fim/diff"
)

// SARIF constants: the schema of the version fim writes, the prefix of its rule ids, the
// base id every location is relative to, and where fim's documentation is (its manual
// page, as systemd's Documentation= names one: fim man prints it).
const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	sarifRulePre = "fim/"
	sarifRootID  = "%SRCROOT%"
	sarifInfoURI = "man:fim(1)"
)

// sarifRuleDoc describes the rule of a kind: a friendly name, one sentence, and what to
// do about a result.
type sarifRuleDoc struct {
	name, short, full, help string
}

// sarifRuleDocs describes each kind's rule, indexed by kind.
var sarifRuleDocs = [...]sarifRuleDoc{
	diff.Create: {"EntryCreated", "An entry exists that the baseline does not have.",
		"An entry exists that the baseline does not have: a file, directory, link or device was added below a monitored path since the baseline was recorded.",
		"Find out who added the entry and why. If it belongs, accept it (fim accept, or fim check --update) so that later checks stop reporting it."},
	diff.Change: {"EntryChanged", "An entry's type, content, size, link target, device number or mtime changed.",
		"An entry's type, content (its BLAKE3 hash), size, symlink target, device number or modification time differs from the baseline.",
		"Compare the entry with a known good copy: an unexpected change to a binary or configuration file is the mark of tampering. If the change was intended, accept it."},
	diff.Remove: {"EntryRemoved", "An entry the baseline has is gone.",
		"An entry the baseline recorded is no longer there.",
		"Find out who removed the entry: a missing log, binary or configuration file may hide an intrusion. If the removal was intended, accept it."},
	diff.Chmod: {"MetadataChanged", "An entry's metadata changed: mode, owner, extended attributes, ctime, inode, device or link count.",
		"An entry's metadata differs from the baseline while its content is the same: permission bits (setuid, setgid and sticky included), owner, group, extended attributes (capabilities, SELinux labels, ACLs), ctime, inode, device or link count.",
		"Check the new permissions, owner and attributes: a new setuid bit, capability or loosened mode grants privileges. If the change was intended, accept it."},
	diff.Rename: {"EntryRenamed", "An entry has another name in the same directory.",
		"An entry of the baseline (the same inode and content) now has another name in the same directory.",
		"Check that the new name is expected: renaming is a way to hide or replace a file. If it was intended, accept it."},
	diff.Move: {"EntryMoved", "An entry is in another directory.",
		"An entry of the baseline (the same inode and content) is now in another directory.",
		"Check that the new place is expected: a file moved into a directory searched for programs or configuration changes what runs. If it was intended, accept it."},
	diff.RateLimited: {"EventsHeldBack", "fim watch held events back past --max-events-per-minute.",
		"More events came within a minute than --max-events-per-minute lets through: fim watch held the rest back, and the rescan that ends the minute reports the net change of every path they were about.",
		"Look at the changes the rescan reports, and at what made so many changes at once. Raise --max-events-per-minute if such bursts are expected."},
	diff.Heartbeat: {"Heartbeat", "fim watch is alive.",
		"fim watch says, every --heartbeat, that it is running: the baseline it compares with, the entries it knows and the marks in force.",
		"Nothing to do; a collector that misses heartbeats knows the watch has stopped."},
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                        `json:"tool"`
	AutomationDetails  sarifAutomation                  `json:"automationDetails"`
	OriginalURIBaseIDs map[string]sarifArtifactLocation `json:"originalUriBaseIds"`
	Invocations        []sarifInvocation                `json:"invocations"`
	Results            []sarifResult                    `json:"results"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string      `json:"name"`
	Version         string      `json:"version,omitempty"`
	SemanticVersion string      `json:"semanticVersion,omitempty"`
	InformationURI  string      `json:"informationUri"`
	Rules           []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifMarkdown  `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           *sarifRuleInfo `json:"properties,omitempty"`
}

// sarifRuleInfo is what GitHub code scanning reads of a rule beyond SARIF's own fields.
type sarifRuleInfo struct {
	SecuritySeverity string   `json:"security-severity"`
	Tags             []string `json:"tags"`
}

type sarifMarkdown struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                 `json:"executionSuccessful"`
	EndTimeUTC          string               `json:"endTimeUtc"`
	Machine             string               `json:"machine,omitempty"`
	Notifications       []sarifNotification  `json:"toolExecutionNotifications,omitempty"`
	Properties          *sarifInvocationInfo `json:"properties,omitempty"`
}

// sarifNotification is a notice of the watch (rate_limited, heartbeat): what the tool
// says of its own run, not a result about a file.
type sarifNotification struct {
	Level      string             `json:"level"`
	Message    sarifText          `json:"message"`
	Descriptor sarifDescriptorRef `json:"descriptor"`
	Properties *jsonNotice        `json:"properties,omitempty"`
}

type sarifDescriptorRef struct {
	ID string `json:"id"`
}

type sarifInvocationInfo struct {
	HostID   string        `json:"host_id,omitempty"`
	Warnings int           `json:"warnings,omitempty"`
	Baseline *jsonBaseline `json:"baseline,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints sarifFingerprints `json:"partialFingerprints"`
	Properties          sarifProperties   `json:"properties"`
}

type sarifFingerprints struct {
	PrimaryLocationLineHash string `json:"primaryLocationLineHash"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

// sarifRegion is where in the artifact a result is. A finding of fim is about the whole
// entry: its region is the first line, where GitHub shows an alert about a file.
type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// sarifProperties is what a result says of its event beyond the message and location,
// with the fields, names and encodings of the json format.
type sarifProperties struct {
	Kind       string         `json:"kind"`
	Changed    []string       `json:"changed"`
	OldPath    string         `json:"old_path,omitempty"`
	OldPathB64 string         `json:"old_path_b64,omitempty"`
	File       *jsonEntry     `json:"file,omitempty"`
	Before     *jsonEntry     `json:"before,omitempty"`
	Source     string         `json:"source,omitempty"`
	Process    *jsonProcess   `json:"process,omitempty"`
	Writers    []*jsonProcess `json:"writers,omitempty"`
	Count      int            `json:"count,omitempty"`
	jsonJudgement
}

// SARIF renders events as one SARIF 2.1.0 log with one run of the tool "fim", as
// GitHub code scanning takes it. The driver names fim's version (info.Version, numeric
// first: see sarifToolVersion; as its semanticVersion too when that is one) and its manual page. The run has a rule per
// kind ("fim/create", "fim/change", …), each with a short and a full description and
// help in text and Markdown, then a rule per kind and severity of the graded events
// ("fim/change/critical", with the severity as GitHub reads it, security-severity), and
// a result per event: its ruleId (its kind's and severity's, when graded), its level
// (eventLevel: by its severity when graded; else error for a change or a remove, warning
// for the others, note for what the package manager explains), the event's text line
// as the message, and a location: the first
// line (the finding is about the whole entry) of the path, as a URI relative to the base id "%SRCROOT%", which originalUriBaseIds declares as the file://
// URI of the directory the tree was read under (info.Root, else "/"). In the relative
// URI every byte but ASCII letters, digits, "-", ".", "_", "~" and "/" is
// percent-encoded, and so is a name that is "." or "..", so that resolving it gives
// back the exact bytes of any path. Each result's partialFingerprints has a
// primaryLocationLineHash computed from its kind's rule id and the bytes of its path, so
// that a result keeps its identity from one run to the next, whatever its severity. The result's properties hold
// the kind, the changed attributes, the old path and the entries before and after, as
// the json format writes them. The run's automationDetails.id is "fim/" and the end
// time (the category "fim", then the run), and its invocation has info.Time as its end
// time and the host name as its machine.
func SARIF(w io.Writer, events []diff.Event, info Info) error {
	kinds := diff.Kinds()
	// A notice is of the run, not of a file: the invocation's notifications carry it.
	var notes []sarifNotification
	var msg []byte
	events = slices.DeleteFunc(slices.Clone(events), func(ev diff.Event) bool {
		if !ev.Kind.IsNotice() {
			return false
		}
		msg = appendMessage(msg[:0], &ev)
		notes = append(notes, sarifNotification{Level: "note", Message: sarifText{string(msg)},
			Descriptor: sarifDescriptorRef{sarifRulePre + ev.Kind.String()}, Properties: newJSONNotice(&ev)})
		return true
	})
	rules := make([]sarifRule, len(kinds))
	for i, k := range kinds {
		rules[i] = newSARIFRule(k, diff.SeverityUnset)
	}
	var graded [len(sarifRuleDocs)][diff.SeverityCritical + 1]bool
	for i := range events {
		if k, s := events[i].Kind, events[i].Severity; int(k) < len(graded) && s != diff.SeverityUnset && s <= diff.SeverityCritical {
			graded[k][s] = true
		}
	}
	for _, k := range kinds {
		for s := diff.SeverityCritical; s > diff.SeverityUnset; s-- {
			if graded[k][s] {
				rules = append(rules, newSARIFRule(k, s))
			}
		}
	}
	end := info.Time.UTC().Format(timeLayout)
	root := info.Root
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	driver := sarifDriver{Name: "fim", Version: sarifToolVersion(info.Version), InformationURI: sarifInfoURI, Rules: rules}
	if semver.MatchString(driver.Version) {
		driver.SemanticVersion = driver.Version
	}
	inv := sarifInvocation{
		ExecutionSuccessful: true,
		EndTimeUTC:          end,
		Machine:             info.Host.Name,
		Notifications:       notes,
	}
	if info.Host.ID != "" || info.Warnings > 0 || info.Baseline.Generation > 0 {
		inv.Properties = &sarifInvocationInfo{HostID: info.Host.ID, Warnings: info.Warnings, Baseline: newJSONBaseline(info.Baseline)}
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool:               sarifTool{driver},
			AutomationDetails:  sarifAutomation{sarifRulePre + end},
			OriginalURIBaseIDs: map[string]sarifArtifactLocation{sarifRootID: {URI: string(appendFileURI(nil, root))}},
			Invocations:        []sarifInvocation{inv},
			Results:            []sarifResult{},
		}},
	}
	// The log is written around its results, which are encoded one at a time so that
	// a large check does not hold its whole report in memory. "results" is the last
	// field of the one run, and its empty value can only occur there: a quote inside a
	// string is escaped.
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&log); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	head := doc.Bytes()
	at := bytes.LastIndex(head, []byte(`"results": []`)) + len(`"results": [`)
	bw := bufio.NewWriter(w)
	// Write errors are sticky in bufio.Writer and reported by Flush.
	_, _ = bw.Write(head[:at])
	var one bytes.Buffer
	enc = json.NewEncoder(&one)
	enc.SetEscapeHTML(false)
	enc.SetIndent(sarifResultIndent, "  ")
	for i := range events {
		msg = appendMessage(msg[:0], &events[i])
		if events[i].Diff != "" {
			msg = appendDiff(append(msg, '\n'), events[i].Diff, "", "\n")
		}
		r := newSARIFResult(&events[i], string(msg))
		one.Reset()
		if err := enc.Encode(&r); err != nil {
			return fmt.Errorf("write sarif report: %w", err)
		}
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_ = bw.WriteByte('\n')
		_, _ = bw.WriteString(sarifResultIndent)
		_, _ = bw.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	}
	if len(events) > 0 {
		_, _ = bw.WriteString("\n" + sarifResultIndent[2:])
	}
	_, _ = bw.Write(head[at:])
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

// sarifResultIndent is the indentation of a result in the log: in an array in a run in
// an array in the log.
const sarifResultIndent = "        "

// newSARIFRule returns the rule of a kind, or of a kind and a severity: "fim/change"
// or "fim/change/critical", the latter with the severity as GitHub code scanning reads
// it (security-severity) and its level.
func newSARIFRule(k diff.Kind, s diff.Severity) sarifRule {
	d := sarifRuleDocs[k]
	r := sarifRule{
		ID:                   sarifRulePre + k.String(),
		Name:                 d.name,
		ShortDescription:     sarifText{d.short},
		FullDescription:      sarifText{d.full},
		Help:                 sarifMarkdown{Text: d.full + " " + d.help, Markdown: "**" + d.name + "**: " + d.full + "\n\n" + d.help},
		DefaultConfiguration: sarifConfig{level(k)},
	}
	if s == diff.SeverityUnset {
		return r
	}
	name := s.String()
	r.ID += "/" + name
	r.Name += strings.ToUpper(name[:1]) + name[1:]
	r.FullDescription.Text += " fim graded it " + name + ": the result's reasons name the severity rules that did."
	r.DefaultConfiguration.Level = eventLevel(&diff.Event{Kind: k, Severity: s})
	r.Properties = &sarifRuleInfo{SecuritySeverity: securitySeverity[s], Tags: []string{"security"}}
	return r
}

// newSARIFResult returns the result of one event, with msg as its message. A graded
// event's rule is that of its kind and severity, its level its severity's; its
// fingerprint is that of its kind's rule, so that a result keeps its identity when its
// severity changes.
func newSARIFResult(ev *diff.Event, msg string) sarifResult {
	rule := sarifRulePre + ev.Kind.String()
	id := rule
	if s := ev.Severity; s != diff.SeverityUnset && s <= diff.SeverityCritical {
		id += "/" + s.String()
	}
	r := sarifResult{
		RuleID:              id,
		Level:               eventLevel(ev),
		Message:             sarifText{msg},
		PartialFingerprints: sarifFingerprints{sarifLineHash(rule, ev.Path)},
		Properties: sarifProperties{
			Kind:    ev.Kind.String(),
			Changed: ev.Changed.Strings(),
			File:    newJSONEntry(ev.After),
			Source:  ev.Source,
			Process: newJSONProcess(ev.Process),
			Writers: newJSONWriters(ev.Writers),
			Count:   ev.Count,

			jsonJudgement: newJSONJudgement(ev),
		},
	}
	r.Properties.Diff = "" // the message holds it: one copy of up to 200 lines
	r.Locations = []sarifLocation{{sarifPhysicalLocation{sarifArtifactLocation{
		URI:       string(appendRelativeURI(nil, ev.Path)),
		URIBaseID: sarifRootID,
	}, sarifRegion{StartLine: 1}}}}
	if ev.Severity == diff.SeverityUnset && ev.Verdict.Explained() {
		r.Level = "note" // the package manager's doing
	}
	if r.Properties.Changed == nil {
		r.Properties.Changed = []string{}
	}
	if ev.OldPath != "" {
		r.Properties.OldPath = ev.OldPath
		r.Properties.OldPathB64 = rawIfInvalid(ev.OldPath)
	}
	if ev.Kind != diff.Create {
		r.Properties.Before = newJSONEntry(ev.Before)
	}
	return r
}

// sarifToolVersion returns fim's version as SARIF consumers compare versions: numeric
// first. A tag's "v" is dropped ("v1.2.0-3-gabc" gives "1.2.0-3-gabc"), and a version
// that is not a number ("devel", or none) is a pre-release of 0.0.0 ("0.0.0-devel").
func sarifToolVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if v != "" && '0' <= v[0] && v[0] <= '9' {
		return v
	}
	if v == "" {
		v = "devel"
	}
	return "0.0.0-" + strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, v)
}

// semver matches a Semantic Versioning 2.0.0 version.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(-((0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(\+([0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*))?$`)

// sarifLineHash is the primaryLocationLineHash of a result: the first 16 hex digits of
// the SHA-256 of the rule id, a NUL and the path's bytes, then ":1" (the occurrence, as
// GitHub writes it). It depends on nothing else, so the same finding on the same path
// has the same fingerprint in every run.
func sarifLineHash(rule, path string) string {
	h := sha256.New()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(path))
	return hex.EncodeToString(h.Sum(nil)[:8]) + ":1"
}

// appendRelativeURI appends the URI of an absolute path relative to the root directory
// ("etc/passwd" for "/etc/passwd", "./" for "/" itself), encoded as appendFileURI
// encodes, with a name that is "." or ".." percent-encoded too, so that resolving the
// reference against the root's URI cannot climb out of it or drop a name.
func appendRelativeURI(b []byte, path string) []byte {
	rel := strings.TrimPrefix(path, "/")
	if rel == "" || rel[0] == '/' {
		b = append(b, "./"...) // "//x" as a reference would name a host
	}
	for i, name := range strings.Split(rel, "/") {
		if i > 0 {
			b = append(b, '/')
		}
		if name == "." || name == ".." {
			b = append(b, strings.Repeat("%2E", len(name))...)
			continue
		}
		b = appendURIPath(b, name)
	}
	return b
}

// appendFileURI appends the file:// URI of an absolute path, with every byte other than
// an RFC 3986 unreserved character or "/" percent-encoded, so that decoding the URI's
// path gives back the exact bytes, whatever they are.
func appendFileURI(b []byte, path string) []byte {
	return appendURIPath(append(b, "file://"...), path)
}

// appendURIPath appends path with every byte other than an RFC 3986 unreserved
// character or "/" percent-encoded.
func appendURIPath(b []byte, path string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return b
}
