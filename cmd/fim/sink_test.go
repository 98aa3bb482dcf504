package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"fim/internal/fstest"
	"fim/internal/testpki"
)

// TestOutputHTTP sends a check's ECS report to a local HTTP collector that fails the
// first attempt: the report arrives once, whole, as NDJSON.
func TestOutputHTTP(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"etc/passwd": fstest.File("root:x:0:0")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	fstest.Tree{"etc/shadow": fstest.File("root:*:1")}.Build(t, root)

	var mu sync.Mutex
	var bodies []string
	var types []string
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		types = append(types, r.Header.Get("Content-Type"))
	}))
	defer srv.Close()

	stdout, _ := mustRun(t, 1, "check", "--db", db, "--format", "ecs", "--output", srv.URL+"/ingest")
	if stdout != "" {
		t.Errorf("stdout %q: the report went to the collector", stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 2 || len(bodies) != 1 || types[0] != "application/x-ndjson" {
		t.Fatalf("%d attempts, %d bodies, types %v: want one retry and one NDJSON body", attempts, len(bodies), types)
	}
	validLines(t, "ecs", bodies[0])
	var doc struct {
		Event struct{ Action string } `json:"event"`
		File  struct{ Path string }   `json:"file"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(bodies[0])), &doc); err != nil {
		t.Fatalf("body %q: %v", bodies[0], err)
	}
	if doc.Event.Action != "created" || doc.File.Path != root+"/etc/shadow" {
		t.Errorf("document %+v: want the creation of etc/shadow", doc)
	}
}

// TestRedactCLI checks that --redact keeps names below the configured root out of
// every format while the exit code still tells what happened.
func TestRedactCLI(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"keep": fstest.File("k")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	fstest.Tree{"patient-4711.pdf": fstest.File("secret"), "dir/diagnosis.txt": fstest.File("x")}.Build(t, root)
	for _, format := range []string{"text", "json", "ecs", "junit", "sarif", "github"} {
		stdout, _ := mustRun(t, 1, "check", "--db", db, "--redact", "--format", format)
		if strings.Contains(stdout, "patient") || strings.Contains(stdout, "diagnosis") {
			t.Errorf("%s: a redacted name shows:\n%s", format, stdout)
		}
		if !strings.Contains(stdout, "[redacted]") {
			t.Errorf("%s: no [redacted] path:\n%s", format, stdout)
		}
	}
}

func TestFormatsCLI(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	fstest.Tree{"a": fstest.File("changed")}.Build(t, root)

	stdout, _ := mustRun(t, 4, "check", "--db", db, "--format", "junit")
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(stdout), &suite); err != nil || suite.Tests != 1 || suite.Failures != 1 {
		t.Errorf("junit: %+v, %v:\n%s", suite, err, stdout)
	}

	// ecs: the SHA-256 of the changed file, read again after the walk, and its owner's
	// name from the passwd file.
	stdout, _ = mustRun(t, 4, "check", "--db", db, "--format", "ecs")
	validLines(t, "ecs", stdout)
	var doc struct {
		File struct {
			Path  string
			Owner string
			Hash  struct{ SHA256 string }
		}
	}
	must(t, json.Unmarshal([]byte(stdout), &doc))
	wantOwner := ""
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		wantOwner = u.Username
	}
	if sum := sha256.Sum256([]byte("changed")); doc.File.Path != filepath.Join(root, "a") || doc.File.Hash.SHA256 != hex.EncodeToString(sum[:]) ||
		doc.File.Owner != wantOwner {
		t.Errorf("ecs: %+v, want the sha256 of %q and owner %q:\n%s", doc.File, "changed", wantOwner, stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "--format", "junit", root}, "one document per run"},
		{[]string{"check", "--db", db, "--format", "sarif", "--output", "udp://127.0.0.1:9"}, "syslog would split it"},
		{[]string{"check", "--db", db, "--format", "yaml"}, `unknown format "yaml"`},
		{[]string{"check", "--db", db, "--output", "ftp://example.com/x"}, `fim: output "ftp://example.com/x": unknown scheme ftp`},
	} {
		_, stderr, code := run(t, c.args...)
		if code != 16 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("fim %s: exit %d, stderr %q; want 16 and one line with %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	// A file whose name starts like a syslog form is a file: the document goes there.
	for _, name := range []string{"syslog-report.xml", "syslog-report2.xml", "tcp-report.xml", "syslogs"} {
		dir := t.TempDir()
		_, stderr, code := runIn(t, nil, dir, nil, "check", "--db", db, "--format", "junit", "--output", name)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if code != 4 || err != nil || !bytes.Contains(b, []byte("<testsuite")) {
			t.Errorf("--output %s: exit %d (%s), %v, %q", name, code, stderr, err, b)
		}
	}
}

// TestUndeliveredNotCommitted runs each command that both reports and writes the
// baseline with an --output that fails: the baseline stays byte for byte as it was, the
// exit status is 18, and the differences are still there to be reported.
func TestUndeliveredNotCommitted(t *testing.T) {
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest) // not retried
	}))
	defer refused.Close()
	outputs := []struct {
		name string
		dest func(t *testing.T) string
	}{
		{"http 400", func(*testing.T) string { return refused.URL + "/ingest" }},
		{"full filesystem", func(t *testing.T) string {
			// A file that opens but cannot be written: on a filesystem that is full.
			dir := tmpfs(t)
			f, err := os.Create(filepath.Join(dir, "filler"))
			must(t, err)
			for err == nil {
				_, err = f.Write(make([]byte, 1<<20))
			}
			f.Close()
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v, want ENOSPC", dir, err)
			}
			return filepath.Join(dir, "report.json")
		}},
	}
	commands := [][]string{
		{"accept", "--path", "**"},
		{"accept", "--type", "create"},
		{"check", "--update"},
	}
	for _, out := range outputs {
		for _, cmd := range commands {
			t.Run(out.name+"/"+strings.Join(cmd, " "), func(t *testing.T) {
				tmp := t.TempDir()
				root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
				fstest.Tree{"a": fstest.File("a")}.Build(t, root)
				mustRun(t, 0, "baseline", "--db", db, root)
				fstest.Tree{"a": fstest.File("changed"), "b": fstest.File("new")}.Build(t, root)
				before, err := os.ReadFile(db)
				must(t, err)
				args := append(slices.Clone(cmd), "--db", db, "--format", "json", "--output", out.dest(t))
				_, stderr := mustRun(t, 18, args...)
				if !strings.Contains(stderr, "baseline not updated") {
					t.Errorf("stderr %q: want it to say the baseline was not updated", stderr)
				}
				after, err := os.ReadFile(db)
				must(t, err)
				if !bytes.Equal(before, after) {
					t.Errorf("fim %s: the baseline changed although the report was not delivered", strings.Join(args, " "))
				}
				wantEvents(t, checkJSON(t, root, 5, "--db", db), "change T/a [content,size,mtime,ctime]", "create T/b")
			})
		}
	}
}

// TestOutputHTTPSHeaders sends a check's report to an HTTPS collector that requires a
// client certificate from its own CA and an API key: with --ca, --cert, --key, --header
// and --gzip it arrives; a collector that refuses the key and echoes it back gets it
// into no message; the flags are refused without an http(s) --output.
func TestOutputHTTPSHeaders(t *testing.T) {
	const key = "ApiKey Zmltc2VjcmV0a2V5dmFsdWU="
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"etc/passwd": fstest.File("root:x:0:0")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	fstest.Tree{"etc/shadow": fstest.File("root:*:1")}.Build(t, root)

	pki := testpki.New(t)
	var mu sync.Mutex
	var bodies []string
	refuse := true
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "key %s is not valid\n", r.Header.Get("Authorization"))
			return
		}
		if r.Header.Get("Authorization") != key || r.Header.Get("Content-Encoding") != "gzip" ||
			len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != pki.ClientName {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(zr)
		bodies = append(bodies, string(b))
	}))
	srv.TLS = pki.Server
	srv.StartTLS()
	defer srv.Close()

	args := []string{"check", "--db", db, "--format", "json", "--output", srv.URL + "/ingest",
		"--header", "Authorization: " + key, "--header", "X-Source: fim", "--gzip",
		"--ca", pki.CAFile, "--cert", pki.ClientCert, "--key", pki.ClientKey}
	stdout, stderr, code := run(t, args...)
	if code != exitRuntime || strings.Contains(stdout+stderr, "Zmltc2Vj") || !strings.Contains(stderr, "[redacted]") {
		t.Errorf("refused: exit %d, want %d and the key redacted\nstdout: %s\nstderr: %s", code, exitRuntime, stdout, stderr)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	mustRun(t, 1, args...)
	mu.Lock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"path":"`+root+`/etc/shadow"`) {
		t.Errorf("bodies %q: want the report once", bodies)
	}
	mu.Unlock()

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ca", pki.CAFile}, "fim: --ca is for an http:// or https:// --output"},
		{[]string{"--output", srv.URL, "--header", "Authorization Zmltc2VjcmV0"}, `fim: --header (the 1st): want "NAME: VALUE" (no colon)`},
		{[]string{"--output", srv.URL, "--header", "A: b", "--header", "X: Zmltc2VjcmV0\x01"}, "fim: --header (the 2nd): X: the value holds a control character"},
		{[]string{"--output", srv.URL, "--cert", pki.ClientCert}, "fim: client certificate " + pki.ClientCert + ": no key file given for it"},
	} {
		_, stderr, code := run(t, append([]string{"check", "--db", db}, c.args...)...)
		if code != exitUsage || strings.TrimSpace(stderr) != c.want {
			t.Errorf("%q: exit %d, stderr %q, want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}
