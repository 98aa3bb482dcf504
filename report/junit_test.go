package report

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// junitSuite is a JUnit report as CI tools read it.
type junitSuite struct {
	XMLName    xml.Name `xml:"testsuite"`
	Name       string   `xml:"name,attr"`
	Tests      int      `xml:"tests,attr"`
	Failures   int      `xml:"failures,attr"`
	Errors     int      `xml:"errors,attr"`
	Skipped    int      `xml:"skipped,attr"`
	Timestamp  string   `xml:"timestamp,attr"`
	Hostname   string   `xml:"hostname,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	} `xml:"failure"`
}

// parseJUnit checks that out is well-formed XML 1.0 and decodes it.
func parseJUnit(t *testing.T, out []byte) junitSuite {
	t.Helper()
	assertXMLChars(t, out)
	var s junitSuite
	if err := xml.Unmarshal(out, &s); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	return s
}

func TestJUnitEmpty(t *testing.T) {
	s := parseJUnit(t, render(t, JUnit, nil, checkInfo))
	if s.Tests != 1 || s.Failures != 0 || len(s.Cases) != 1 || s.Cases[0].Failure != nil {
		t.Errorf("no events: tests=%d failures=%d cases=%+v, want one passing case", s.Tests, s.Failures, s.Cases)
	}
}

func TestJUnitStructure(t *testing.T) {
	events := formatEvents()
	info := checkInfo
	info.Warnings = 2
	s := parseJUnit(t, render(t, JUnit, events, info))

	if s.Name != "fim" || s.Tests != len(events) || s.Failures != len(events) || s.Errors != 0 || s.Skipped != 0 {
		t.Errorf("suite %q tests=%d failures=%d errors=%d skipped=%d, want fim and %d failures",
			s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(events))
	}
	if s.Timestamp != "2024-05-01T12:30:00" || s.Hostname != "web1" {
		t.Errorf("timestamp %q hostname %q", s.Timestamp, s.Hostname)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["host.id"] != checkInfo.Host.ID || props["warnings"] != "2" {
		t.Errorf("properties %v", props)
	}
	if len(s.Cases) != len(events) {
		t.Fatalf("%d test cases for %d events", len(s.Cases), len(events))
	}
	for i, c := range s.Cases {
		ev := &events[i]
		kind := ev.Kind.String()
		if c.Classname != kind || c.Name != EscapeText(ev.Path) {
			t.Errorf("case %d: classname %q name %q, want %q %q", i, c.Classname, c.Name, kind, EscapeText(ev.Path))
		}
		if c.Failure == nil {
			t.Fatalf("case %d: no failure", i)
		}
		if c.Failure.Type != kind || c.Failure.Message != string(appendMessage(nil, ev)) {
			t.Errorf("case %d: failure type %q message %q", i, c.Failure.Type, c.Failure.Message)
		}
		lines := strings.Split(c.Failure.Body, "\n")
		if lines[0] != "kind: "+kind || !strings.Contains(c.Failure.Body, "path: "+EscapeText(ev.Path)) {
			t.Errorf("case %d: body %q lacks kind or path", i, c.Failure.Body)
		}
		if ev.OldPath != "" && !strings.Contains(c.Failure.Body, "\nold_path: "+EscapeText(ev.OldPath)+"\n") {
			t.Errorf("case %d: body %q lacks the old path", i, c.Failure.Body)
		}
	}

	// Spot checks: the body gives each changed attribute on its own line, before → after.
	for _, tt := range []struct{ path, line string }{
		{"/etc/passwd", "size: 1024 → 1070"},
		{"/etc/passwd", "content: 1011121314151617 → 1112131415161718"},
		{"/usr/bin/passwd", "mode: -rwxr-xr-x (0755) → -rwsr-xr-x (4755)"},
		{"/etc/secure", "xattrs: ~security.selinux +user.new -user.old"},
		{"/etc/cron.d/backdoor", "type: file, size: 42, mode: -rw-r--r-- (0644), owner: 0:0, hash: a0a1a2a3a4a5a6a7"},
		{"/var/log/huge.log", "type: file, size: 1099511627776, mode: -rw-r----- (0640), owner: 0:0, hash: (too_large)"},
		{EscapeText(nonUTF8Path), `path: /srv/caf\xe9/men\xfc.txt`},
	} {
		found := false
		for _, c := range s.Cases {
			if c.Name == tt.path && strings.Contains("\n"+c.Failure.Body+"\n", "\n"+tt.line+"\n") {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q in the failure of %s", tt.line, tt.path)
		}
	}
	// The origin of a watched event is in its message.
	for _, c := range s.Cases {
		if c.Name == "/etc/resolv.conf" && !strings.HasSuffix(c.Failure.Message, "[fanotify, by cp[4100] and vi[4242] uid 1000, ×3]") {
			t.Errorf("message %q lacks the origin", c.Failure.Message)
		}
	}
}

// TestJUnitHostile checks that names XML 1.0 cannot carry, or that look like markup,
// still give a well-formed document that names them as the text format does.
func TestJUnitHostile(t *testing.T) {
	for _, name := range append(hostileNames, "\x00", "\x08\x0b\x0c", "\u0085\u2028", "\xed\xa0\x80", "&#0;") {
		p := "/" + name
		link := entry(p, tree.TypeSymlink, 0o777, func(e *tree.Entry) { e.LinkTarget = name })
		events := []diff.Event{
			create(link),
			modify(diff.Rename, fstest.Edit(link, func(e *tree.Entry) { e.Path = p + "~" }), link),
		}
		info := checkInfo
		info.Host.Name = name
		out := render(t, JUnit, events, info)
		validateJUnit(t, name, out)
		s := parseJUnit(t, out)
		if len(s.Cases) != 2 || s.Cases[0].Name != EscapeText(p) || s.Hostname != EscapeText(name) {
			t.Errorf("%q: cases %+v hostname %q", name, s.Cases, s.Hostname)
			continue
		}
		if !strings.Contains(s.Cases[0].Failure.Body, "target: "+EscapeText(name)) ||
			!strings.Contains(s.Cases[1].Failure.Body, "old_path: "+EscapeText(p+"~")) {
			t.Errorf("%q: bodies %q, %q", name, s.Cases[0].Failure.Body, s.Cases[1].Failure.Body)
		}
	}
}

// junitSchemas are the schemas every JUnit report must satisfy (see testdata/xsd).
var junitSchemas = []string{"windyroad-JUnit.xsd", "jenkins-xunit-junit-10.xsd"}

// validateJUnit checks out against each of junitSchemas with xmllint.
func validateJUnit(t *testing.T, name string, out []byte) {
	t.Helper()
	xmllint := fstest.RequireTool(t, "xmllint", "Debian package libxml2-utils")
	doc := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(doc, out, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range junitSchemas {
		schema, err := filepath.Abs(filepath.Join("testdata", "xsd", xsd))
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", schema, doc).CombinedOutput()
		if err != nil {
			t.Errorf("%q: not valid against %s: %v\n%s", name, xsd, err, res)
		}
	}
}

// TestJUnitSchemas validates every golden JUnit report, and one of a host with no name
// and no properties, against both JUnit schemas.
func TestJUnitSchemas(t *testing.T) {
	eachGolden(t, "junit", validateJUnit)
	for _, host := range []string{"", " ", "  "} {
		out := render(t, JUnit, formatEvents()[:2], Info{Host: Host{Name: host}})
		validateJUnit(t, "host "+host, out)
		if s := parseJUnit(t, out); s.Hostname != "localhost" || len(s.Properties) != 0 {
			t.Errorf("host %q: hostname %q properties %v, want localhost and none", host, s.Hostname, s.Properties)
		}
	}
}
