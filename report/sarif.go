package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"fim/diff"
)

// SARIF constants: the schema of the version fim writes, and the prefix of its rule ids.
const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	sarifRulePre = "fim/"
)

// sarifRuleText describes each kind, indexed by kind.
var sarifRuleText = [...]string{
	diff.Create: "An entry exists that the baseline does not have.",
	diff.Change: "An entry's type, content, size, link target, device number or mtime changed.",
	diff.Remove: "An entry the baseline has is gone.",
	diff.Chmod:  "An entry's metadata changed: mode, owner, extended attributes, ctime, inode, device or link count.",
	diff.Rename: "An entry has another name in the same directory.",
	diff.Move:   "An entry is in another directory.",
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name  string      `json:"name"`
	Rules []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	ShortDescription     sarifText   `json:"shortDescription"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
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
	Properties          *sarifInvocationInfo `json:"properties,omitempty"`
}

type sarifInvocationInfo struct {
	HostID   string        `json:"host_id,omitempty"`
	Warnings int           `json:"warnings,omitempty"`
	Baseline *jsonBaseline `json:"baseline,omitempty"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties sarifProperties `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
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
	// Provenance, as in the json format.
	Verdict     string           `json:"verdict,omitempty"`
	Reason      string           `json:"verdict_reason,omitempty"`
	Package     *jsonPackage     `json:"package,omitempty"`
	Transaction *jsonTransaction `json:"transaction,omitempty"`
}

// SARIF renders events as one SARIF 2.1.0 log with one run of the tool "fim". The run
// has a rule per kind ("fim/create", "fim/change", …) and a result per event: its
// ruleId, its level (error for a change or a remove, warning for the others: see level),
// the event's text line as the message, and the path as a file:// URI in which every
// byte but ASCII letters, digits, "-", ".", "_", "~" and "/" is percent-encoded, so
// that the URI gives back the exact bytes of any name. The result's properties hold the
// kind, the changed attributes, the old path and the entries before and after, as the
// json format writes them. The run's invocation has info.Time as its end time and the
// host name as its machine.
func SARIF(w io.Writer, events []diff.Event, info Info) error {
	kinds := diff.Kinds()
	rules := make([]sarifRule, len(kinds))
	for i, k := range kinds {
		rules[i] = sarifRule{
			ID:                   sarifRulePre + k.String(),
			ShortDescription:     sarifText{sarifRuleText[k]},
			DefaultConfiguration: sarifConfig{level(k)},
		}
	}
	inv := sarifInvocation{
		ExecutionSuccessful: true,
		EndTimeUTC:          info.Time.UTC().Format(timeLayout),
		Machine:             info.Host.Name,
	}
	if info.Host.ID != "" || info.Warnings > 0 || info.Baseline.Generation > 0 {
		inv.Properties = &sarifInvocationInfo{HostID: info.Host.ID, Warnings: info.Warnings, Baseline: newJSONBaseline(info.Baseline)}
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool:        sarifTool{sarifDriver{Name: "fim", Rules: rules}},
			Invocations: []sarifInvocation{inv},
			Results:     []sarifResult{},
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
	var msg []byte
	for i := range events {
		msg = appendMessage(msg[:0], &events[i])
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

// newSARIFResult returns the result of one event, with msg as its message.
func newSARIFResult(ev *diff.Event, msg string) sarifResult {
	r := sarifResult{
		RuleID:  sarifRulePre + ev.Kind.String(),
		Level:   level(ev.Kind),
		Message: sarifText{msg},
		Locations: []sarifLocation{{sarifPhysicalLocation{sarifArtifactLocation{
			URI: string(appendFileURI(nil, ev.Path)),
		}}}},
		Properties: sarifProperties{
			Kind:    ev.Kind.String(),
			Changed: ev.Changed.Strings(),
			File:    newJSONEntry(ev.After),
			Source:  ev.Source,
			Process: newJSONProcess(ev.Process),
			Writers: newJSONWriters(ev.Writers),
			Count:   ev.Count,

			Verdict:     string(ev.Verdict),
			Reason:      ev.Reason,
			Package:     newJSONPackage(ev.Package),
			Transaction: newJSONTransaction(ev.Transaction),
		},
	}
	if ev.Verdict.Explained() {
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

// appendFileURI appends the file:// URI of an absolute path, with every byte other than
// an RFC 3986 unreserved character or "/" percent-encoded, so that decoding the URI's
// path gives back the exact bytes, whatever they are.
func appendFileURI(b []byte, path string) []byte {
	const hexDigits = "0123456789ABCDEF"
	b = append(b, "file://"...)
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
