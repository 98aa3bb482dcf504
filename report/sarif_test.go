package report

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// sarifDocRule is a rule of a SARIF log as the tests read it.
type sarifDocRule struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	ShortDescription struct {
		Text string `json:"text"`
	} `json:"shortDescription"`
	FullDescription struct {
		Text string `json:"text"`
	} `json:"fullDescription"`
	Help struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown"`
	} `json:"help"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties *struct {
		SecuritySeverity string   `json:"security-severity"`
		Tags             []string `json:"tags"`
	} `json:"properties"`
}

// sarifDoc is a SARIF log as a consumer reads it, with only the fields fim writes:
// parseSARIF rejects any other.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name            string         `json:"name"`
				Version         string         `json:"version"`
				SemanticVersion string         `json:"semanticVersion"`
				InformationURI  string         `json:"informationUri"`
				Rules           []sarifDocRule `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		AutomationDetails struct {
			ID string `json:"id"`
		} `json:"automationDetails"`
		OriginalURIBaseIDs map[string]struct {
			URI string `json:"uri"`
		} `json:"originalUriBaseIds"`
		Invocations []struct {
			ExecutionSuccessful bool   `json:"executionSuccessful"`
			EndTimeUTC          string `json:"endTimeUtc"`
			Machine             string `json:"machine"`
			Notifications       []struct {
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Descriptor struct {
					ID string `json:"id"`
				} `json:"descriptor"`
				Properties map[string]any `json:"properties"`
			} `json:"toolExecutionNotifications"`
			Properties map[string]any `json:"properties"`
		} `json:"invocations"`
		Results []struct {
			RuleID  string `json:"ruleId"`
			Level   string `json:"level"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Properties          map[string]any    `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

func parseSARIF(t *testing.T, out []byte) sarifDoc {
	t.Helper()
	var doc sarifDoc
	parseJSONDoc(t, out, &doc)
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	for i, r := range doc.Runs[0].Results {
		if len(r.Locations) != 1 {
			t.Fatalf("result %d (%s): %d locations, want 1", i, r.RuleID, len(r.Locations))
		}
	}
	return doc
}

// sarifPaths returns the path of each result of the log's one run, as a consumer
// finds it: the result's URI resolved against the URI its base id is declared as,
// made relative to root (the directory the tree was read under, "" for /) again.
func sarifPaths(t *testing.T, doc sarifDoc, root string) []string {
	t.Helper()
	run := doc.Runs[0]
	var paths []string
	for i, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation.ArtifactLocation
		baseDecl, ok := run.OriginalURIBaseIDs[loc.URIBaseID]
		if !ok {
			t.Fatalf("result %d: base id %q is not declared in %v", i, loc.URIBaseID, run.OriginalURIBaseIDs)
		}
		base, err := url.Parse(baseDecl.URI)
		if err != nil || !base.IsAbs() || !strings.HasSuffix(base.Path, "/") {
			t.Fatalf("base %q: %v", baseDecl.URI, err)
		}
		ref, err := url.Parse(loc.URI)
		if err != nil || ref.IsAbs() || ref.Host != "" || strings.HasPrefix(loc.URI, "/") {
			t.Fatalf("result %d: uri %q is not a relative path: %v", i, loc.URI, err)
		}
		full := uriPath(t, base.ResolveReference(ref).String())
		prefix := root + "/"
		if !strings.HasPrefix(full, prefix) {
			t.Fatalf("result %d: uri %s resolves to %q, outside %q", i, loc.URI, full, prefix)
		}
		paths = append(paths, "/"+full[len(prefix):])
	}
	return paths
}

func TestSARIFEmpty(t *testing.T) {
	out := render(t, SARIF, nil, checkInfo)
	doc := parseSARIF(t, out)
	if doc.Runs[0].Results == nil || len(doc.Runs[0].Results) != 0 {
		t.Errorf("results = %v, want []", doc.Runs[0].Results)
	}
	if !strings.Contains(string(out), `"results": []`) {
		t.Errorf("results is not an empty array:\n%s", out)
	}
}

func TestSARIFStructure(t *testing.T) {
	events := formatEvents()
	doc := parseSARIF(t, render(t, SARIF, events, checkInfo))
	if doc.Version != "2.1.0" || !strings.HasSuffix(doc.Schema, "sarif-schema-2.1.0.json") {
		t.Errorf("version %q schema %q", doc.Version, doc.Schema)
	}
	run := doc.Runs[0]
	if d := run.Tool.Driver; d.Name != "fim" || d.Version != "1.4.2" || d.SemanticVersion != "1.4.2" || d.InformationURI != "man:fim(1)" {
		t.Errorf("driver %q version %q semantic version %q information %q", d.Name, d.Version, d.SemanticVersion, d.InformationURI)
	}
	if run.AutomationDetails.ID != "fim/2024-05-01T12:30:00.123456789Z" {
		t.Errorf("automation id %q", run.AutomationDetails.ID)
	}
	var ids []string
	names := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		ids = append(ids, r.ID)
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || r.Help.Markdown == "" {
			t.Errorf("rule %s lacks a description or help: %+v", r.ID, r)
		}
		if !strings.Contains(r.Help.Text, r.FullDescription.Text) || !strings.Contains(r.Help.Markdown, "**"+r.Name+"**") {
			t.Errorf("rule %s: help %+v", r.ID, r.Help)
		}
		if names[r.Name] || r.Name == "" {
			t.Errorf("rule %s: name %q is empty or not unique", r.ID, r.Name)
		}
		names[r.Name] = true
	}
	want := []string{"fim/create", "fim/change", "fim/remove", "fim/chmod", "fim/rename", "fim/move"}
	if !slices.Equal(ids, want) {
		t.Errorf("rules %v, want %v", ids, want)
	}
	if len(run.Invocations) != 1 {
		t.Fatalf("%d invocations", len(run.Invocations))
	}
	inv := run.Invocations[0]
	if !inv.ExecutionSuccessful || inv.EndTimeUTC != "2024-05-01T12:30:00.123456789Z" || inv.Machine != "web1" ||
		inv.Properties["host_id"] != checkInfo.Host.ID {
		t.Errorf("invocation %+v", inv)
	}

	levels := map[diff.Kind]string{diff.Create: "warning", diff.Change: "error", diff.Remove: "error",
		diff.Chmod: "warning", diff.Rename: "warning", diff.Move: "warning"}
	if len(run.Results) != len(events) {
		t.Fatalf("%d results for %d events", len(run.Results), len(events))
	}
	paths := sarifPaths(t, doc, "")
	for i, r := range run.Results {
		ev := &events[i]
		if ev.Verdict.Explained() {
			if r.Level != "note" {
				t.Errorf("result %d: level %s for an explained %s", i, r.Level, ev.Kind)
			}
		} else if r.RuleID != "fim/"+ev.Kind.String() || r.Level != levels[ev.Kind] {
			t.Errorf("result %d: rule %s level %s for a %s", i, r.RuleID, r.Level, ev.Kind)
		} else if r.Level != run.Tool.Driver.Rules[ev.Kind].DefaultConfiguration.Level {
			t.Errorf("result %d: level %s is not its rule's", i, r.Level)
		}
		if r.Message.Text != string(appendMessage(nil, ev)) {
			t.Errorf("result %d: message %q", i, r.Message.Text)
		}
		if line := r.Locations[0].PhysicalLocation.Region.StartLine; line != 1 {
			t.Errorf("result %d: start line %d, want 1", i, line)
		}
		if got := paths[i]; got != ev.Path {
			t.Errorf("result %d: uri %s gives %q, want %q", i, r.Locations[0].PhysicalLocation.ArtifactLocation.URI, got, ev.Path)
		}
		p := r.Properties
		if p["kind"] != ev.Kind.String() {
			t.Errorf("result %d: properties.kind %v", i, p["kind"])
		}
		changed, _ := json.Marshal(p["changed"])
		wantChanged, _ := json.Marshal(ev.Changed.Strings())
		if string(wantChanged) == "null" {
			wantChanged = []byte("[]")
		}
		if string(changed) != string(wantChanged) {
			t.Errorf("result %d: changed %s, want %s", i, changed, wantChanged)
		}
		if got := decodeB64(t, p["old_path"], p["old_path_b64"]); ev.OldPath != "" && got != ev.OldPath {
			t.Errorf("result %d: old path %q, want %q", i, got, ev.OldPath)
		}
		_, hasFile := p["file"]
		_, hasBefore := p["before"]
		if hasFile != (ev.After != nil) || hasBefore != (ev.Kind != diff.Create) {
			t.Errorf("result %d: file %v before %v for a %s", i, hasFile, hasBefore, ev.Kind)
		}
	}

	// The watched event keeps its origin.
	last := run.Results[len(run.Results)-3].Properties
	proc, _ := last["process"].(map[string]any)
	if last["source"] != "fanotify" || last["count"] != 3.0 || proc["pid"] != 4242.0 || proc["name"] != "vi" {
		t.Errorf("watched event properties %v", last)
	}
}

// TestFileURI shows the file:// URI of awkward paths, and the reference relative to
// the root: none climbs out of the root or names a host.
func TestFileURI(t *testing.T) {
	tests := []struct{ path, want, relative string }{
		{"/etc/passwd", "file:///etc/passwd", "etc/passwd"},
		{"/", "file:///", "./"},
		{"/a b/c~d_e-f.g", "file:///a%20b/c~d_e-f.g", "a%20b/c~d_e-f.g"},
		{"/100%", "file:///100%25", "100%25"},
		{"/a#b?c;d=e&f+g:h@i,j", "file:///a%23b%3Fc%3Bd%3De%26f%2Bg%3Ah%40i%2Cj", "a%23b%3Fc%3Bd%3De%26f%2Bg%3Ah%40i%2Cj"},
		{"/caf\xe9", "file:///caf%E9", "caf%E9"},
		{"/ü", "file:///%C3%BC", "%C3%BC"},
		{"/x\ny\x00", "file:///x%0Ay%00", "x%0Ay%00"},
		{"//net/share", "file:////net/share", ".//net/share"},
		{"/..", "file:///..", "%2E%2E"},
		{"/a/./b/../c", "file:///a/./b/../c", "a/%2E/b/%2E%2E/c"},
		{"/.hidden/..x", "file:///.hidden/..x", ".hidden/..x"},
	}
	for _, tt := range tests {
		got := string(appendFileURI(nil, tt.path))
		if got != tt.want {
			t.Errorf("uri(%q) = %s, want %s", tt.path, got, tt.want)
		}
		if back := uriPath(t, got); back != tt.path {
			t.Errorf("uri %s parses back to %q, want %q", got, back, tt.path)
		}
		if rel := string(appendRelativeURI(nil, tt.path)); rel != tt.relative {
			t.Errorf("relative uri of %q = %s, want %s", tt.path, rel, tt.relative)
		}
	}
}

// TestSARIFRoot checks the locations of a check under --root: relative to the base id,
// which is declared as the root directory's URI.
func TestSARIFRoot(t *testing.T) {
	events := formatEvents()
	for _, root := range []string{"", "/srv/images/web 1", "/tmp/caf\xe9/%2E%2E"} {
		info := checkInfo
		info.Root = root
		doc := parseSARIF(t, render(t, SARIF, events, info))
		bases := doc.Runs[0].OriginalURIBaseIDs
		if want := string(appendFileURI(nil, root+"/")); len(bases) != 1 || bases["%SRCROOT%"].URI != want {
			t.Errorf("root %q: originalUriBaseIds %v, want %%SRCROOT%% = %s", root, bases, want)
		}
		for i, got := range sarifPaths(t, doc, root) {
			if got != events[i].Path {
				t.Errorf("root %q: result %d gives %q, want %q", root, i, got, events[i].Path)
			}
		}
	}
}

// TestSARIFFingerprint checks that a result's fingerprint follows its rule and path
// only: the same finding in another run (another time, root, size or host) keeps it,
// another path or another kind changes it.
func TestSARIFFingerprint(t *testing.T) {
	fingerprints := func(events []diff.Event, info Info) []string {
		var fps []string
		for _, r := range parseSARIF(t, render(t, SARIF, events, info)).Runs[0].Results {
			fp := r.PartialFingerprints["primaryLocationLineHash"]
			if len(r.PartialFingerprints) != 1 || !regexp.MustCompile(`^[0-9a-f]{16}:1$`).MatchString(fp) {
				t.Fatalf("partialFingerprints %v", r.PartialFingerprints)
			}
			fps = append(fps, fp)
		}
		return fps
	}
	events := formatEvents()
	first := fingerprints(events, checkInfo)
	if len(first) != len(events) {
		t.Fatalf("%d fingerprints for %d events", len(first), len(events))
	}
	later := checkInfo
	later.Time, later.Root, later.Host = later.Time.Add(24*time.Hour), "/mnt/image", Host{Name: "ci-runner-7"}
	again := formatEvents()
	for i := range again {
		if again[i].After != nil {
			again[i].After = fstest.Edit(again[i].After, func(e *tree.Entry) { e.Size++ })
		}
	}
	if second := fingerprints(again, later); !slices.Equal(first, second) {
		t.Errorf("fingerprints changed from one run to the next:\n%v\n%v", first, second)
	}
	seen := map[string]int{}
	for i, fp := range first {
		if j, ok := seen[fp]; ok && (events[i].Path != events[j].Path || events[i].Kind != events[j].Kind) {
			t.Errorf("results %d and %d (%s %q, %s %q) share a fingerprint", j, i, events[j].Kind, events[j].Path, events[i].Kind, events[i].Path)
		}
		seen[fp] = i
	}
	// The same path under another rule.
	ev := events[0]
	ev.Kind = diff.Change
	if ev.Kind == events[0].Kind {
		t.Fatal("the first event is already a change")
	}
	if fingerprints([]diff.Event{ev}, checkInfo)[0] == first[0] {
		t.Error("a change and a create of one path share a fingerprint")
	}
}

// TestSARIFSemanticVersion checks that the driver's version starts with a number and
// that it gives a semanticVersion only for a version that is one.
func TestSARIFSemanticVersion(t *testing.T) {
	tests := []struct{ version, tool, semantic string }{
		{"1.4.2", "1.4.2", "1.4.2"},
		{"v2.0.0", "2.0.0", "2.0.0"},
		{"v1.4.2-3-gabcdef012345-dirty", "1.4.2-3-gabcdef012345-dirty", "1.4.2-3-gabcdef012345-dirty"},
		{"v1.0.0-rc.1+build.5", "1.0.0-rc.1+build.5", "1.0.0-rc.1+build.5"},
		{"devel", "0.0.0-devel", "0.0.0-devel"},
		{"", "0.0.0-devel", "0.0.0-devel"},
		{"my build!", "0.0.0-my-build-", "0.0.0-my-build-"},
		{"v1.2", "1.2", ""},
		{"01.2.3", "01.2.3", ""},
	}
	for _, tt := range tests {
		info := checkInfo
		info.Version = tt.version
		d := parseSARIF(t, render(t, SARIF, nil, info)).Runs[0].Tool.Driver
		if d.Version != tt.tool || d.SemanticVersion != tt.semantic {
			t.Errorf("version %q: driver version %q semantic %q, want %q and %q", tt.version, d.Version, d.SemanticVersion, tt.tool, tt.semantic)
		}
	}
}

// validateSARIF checks a SARIF log with the SARIF Multitool (sarif-multitool on the
// PATH: make test installs it in bin/) against both the SARIF rules and the GitHub
// code scanning rules, and fails on any error or warning it reports.
func validateSARIF(t *testing.T, name string, out []byte) {
	t.Helper()
	tool := fstest.RequireTool(t, "sarif-multitool", "make test installs npm's @microsoft/sarif-multitool-linux in bin/")
	dir := t.TempDir()
	in, res := filepath.Join(dir, "report.sarif"), filepath.Join(dir, "validation.sarif")
	if err := os.WriteFile(in, out, 0o644); err != nil {
		t.Fatal(err)
	}
	config, err := filepath.Abs(filepath.Join("testdata", "sarif", "multitool.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "validate", "--rule-kind", "Sarif;Gh", "--level", "Error;Warning",
		"-c", config, "-o", res, in)
	// The tool needs no ICU for what it does here.
	cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: sarif-multitool: %v\n%s", name, err, msg)
	}
	data, err := os.ReadFile(res)
	if err != nil {
		t.Fatalf("%s: sarif-multitool wrote no log: %v\n%s", name, err, msg)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					ID string `json:"id"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("%s: the validation log: %v (%d runs)", name, err, len(log.Runs))
	}
	var failed []string
	for _, r := range log.Runs[0].Results {
		// A result's level defaults to warning.
		if r.Level == "" || r.Level == "error" || r.Level == "warning" {
			failed = append(failed, r.RuleID+" ("+r.Message.ID+")")
		}
	}
	if failed != nil {
		t.Errorf("%s: the SARIF Multitool finds %s; it says:\n%s", name, strings.Join(failed, ", "), msg)
	}
}

// TestSARIFMultitool validates every golden SARIF log, and one of a check under
// --root, with the SARIF Multitool's SARIF and GitHub rules.
func TestSARIFMultitool(t *testing.T) {
	eachGolden(t, "sarif", validateSARIF)
	rooted := checkInfo
	rooted.Root, rooted.Version = "/srv/images/web 1", "devel"
	validateSARIF(t, "under --root", render(t, SARIF, formatEvents(), rooted))
}
