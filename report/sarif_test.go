package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"fim/diff"
)

// sarifDoc is a SARIF log as a consumer reads it, with only the fields fim writes:
// parseSARIF rejects any other.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful bool           `json:"executionSuccessful"`
			EndTimeUTC          string         `json:"endTimeUtc"`
			Machine             string         `json:"machine"`
			Properties          map[string]any `json:"properties"`
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
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Properties map[string]any `json:"properties"`
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
			t.Fatalf("result %d: %d locations, want 1", i, len(r.Locations))
		}
	}
	return doc
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
	if run.Tool.Driver.Name != "fim" {
		t.Errorf("driver %q", run.Tool.Driver.Name)
	}
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		ids = append(ids, r.ID)
		if r.ShortDescription.Text == "" {
			t.Errorf("rule %s has no description", r.ID)
		}
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
	for i, r := range run.Results {
		ev := &events[i]
		if r.RuleID != "fim/"+ev.Kind.String() || r.Level != levels[ev.Kind] {
			t.Errorf("result %d: rule %s level %s for a %s", i, r.RuleID, r.Level, ev.Kind)
		}
		if r.Level != run.Tool.Driver.Rules[ev.Kind].DefaultConfiguration.Level {
			t.Errorf("result %d: level %s is not its rule's", i, r.Level)
		}
		if r.Message.Text != string(appendMessage(nil, ev)) {
			t.Errorf("result %d: message %q", i, r.Message.Text)
		}
		uri := r.Locations[0].PhysicalLocation.ArtifactLocation.URI
		if got := uriPath(t, uri); got != ev.Path {
			t.Errorf("result %d: uri %s gives %q, want %q", i, uri, got, ev.Path)
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
	last := run.Results[len(run.Results)-2].Properties
	proc, _ := last["process"].(map[string]any)
	if last["source"] != "fanotify" || last["count"] != 3.0 || proc["pid"] != 4242.0 || proc["name"] != "vi" {
		t.Errorf("watched event properties %v", last)
	}
}

func TestFileURI(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/etc/passwd", "file:///etc/passwd"},
		{"/", "file:///"},
		{"/a b/c~d_e-f.g", "file:///a%20b/c~d_e-f.g"},
		{"/100%", "file:///100%25"},
		{"/a#b?c;d=e&f+g:h@i,j", "file:///a%23b%3Fc%3Bd%3De%26f%2Bg%3Ah%40i%2Cj"},
		{"/caf\xe9", "file:///caf%E9"},
		{"/ü", "file:///%C3%BC"},
		{"/x\ny\x00", "file:///x%0Ay%00"},
		{"//net/share", "file:////net/share"},
	}
	for _, tt := range tests {
		got := string(appendFileURI(nil, tt.path))
		if got != tt.want {
			t.Errorf("uri(%q) = %s, want %s", tt.path, got, tt.want)
		}
		if back := uriPath(t, got); back != tt.path {
			t.Errorf("uri %s parses back to %q, want %q", got, back, tt.path)
		}
	}
}
