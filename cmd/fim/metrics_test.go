package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fim/internal/fstest"
)

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// httpGet fetches url and returns the status and body.
func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, body
}

// prometheus is a Prometheus server of the test's own, scraping one target every
// second, with a temporary configuration and storage.
type prometheus struct {
	t    *testing.T
	addr string
}

func startPrometheus(t *testing.T, target string) *prometheus {
	t.Helper()
	bin := fstest.RequireTool(t, "prometheus", "apt-get install prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	must(t, os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fim
    static_configs:
      - targets: ['%s']
`, target), 0o644))
	p := &prometheus{t: t, addr: freeAddr(t)}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + p.addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query returns the value of the one series query selects now, or false when there
// is none.
func (p *prometheus) query(query string) (float64, bool) {
	p.t.Helper()
	code, body := httpGet(p.t, "http://"+p.addr+"/api/v1/query?query="+url.QueryEscape(query))
	var res struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || res.Status != "success" {
		p.t.Fatalf("query %s: %d %v: %s", query, code, err, body)
	}
	switch len(res.Data.Result) {
	case 0:
		return 0, false
	case 1:
		s, _ := res.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.t.Fatalf("query %s: value %q", query, s)
		}
		return v, true
	}
	p.t.Fatalf("query %s: %d series, want one: %s", query, len(res.Data.Result), body)
	return 0, false
}

// TestWatchPrometheus runs a real Prometheus server scraping `fim watch --listen` every
// second, and waits for it to show the events a writer caused; the scraped text passes
// promtool check metrics. /healthz says ok while the root is watched and 503 with the
// reason once it is removed.
func TestWatchPrometheus(t *testing.T) {
	root := filepath.Join(t.TempDir(), "w")
	must(t, os.MkdirAll(root, 0o755))
	listen := freeAddr(t)
	r := startWatch(t, fsnotifyBackend, root, "--listen", listen, root)
	prom := startPrometheus(t, listen)
	const files = 5
	for i := range files {
		write(t, root, "", "tee", filepath.Join(root, fmt.Sprint("f", i))).reap(t)
	}
	r.expect("create T/f0", "create T/f1", "create T/f2", "create T/f3", "create T/f4")
	want := float64(files + 1) // and the sentinel's
	query := `fim_events_total{kind="create",source="fsnotify"}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, ok := prom.query(query)
		if ok && v == want {
			break
		}
		if ok && v > want {
			t.Fatalf("%s = %v, want %v", query, v, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (%v) after 30s, want %v", query, v, ok, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v, ok := prom.query(`up{job="fim"}`); !ok || v != 1 {
		t.Errorf("up = %v, %v: the scrapes do not succeed", v, ok)
	}

	code, text := httpGet(t, "http://"+listen+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	fstest.PromCheck(t, text)
	mfs := fstest.PromFamilies(t, text)
	if v := fstest.PromValue(t, mfs, "fim_watch_marks", "backend=fsnotify"); v < 2 {
		t.Errorf("fim_watch_marks{backend=fsnotify} = %v, want the root and ~sync", v)
	}
	if v := fstest.PromValue(t, mfs, "fim_build_info", "version="+strings.Fields(versionOf(t))[0]); v != 1 {
		t.Errorf("fim_build_info = %v", v)
	}

	if code, body := httpGet(t, "http://"+listen+"/healthz"); code != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	must(t, os.RemoveAll(root))
	deadline = time.Now().Add(eventTimeout)
	for {
		code, body := httpGet(t, "http://"+listen+"/healthz")
		if code == http.StatusServiceUnavailable && strings.HasPrefix(string(body), "unhealthy: marks lost: "+root+" (") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz: %d %q after the root was removed, want 503 marks lost", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// versionOf returns what fim --version says after "fim version ".
func versionOf(t *testing.T) string {
	t.Helper()
	out, _ := mustRun(t, 0, "--version")
	return strings.TrimPrefix(strings.TrimSpace(out), "fim version ")
}

// TestWatchListenErrors: an address that is not one is a usage error, a port taken a
// runtime error, each one line naming --listen.
func TestWatchListenErrors(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	for _, c := range []struct {
		addr string
		code int
		want string
	}{
		{"9464", exitUsage, `fim: --listen "9464": want HOST:PORT`},
		{l.Addr().String(), exitRuntime, "fim: --listen " + l.Addr().String() + ": bind: address already in use"},
	} {
		_, stderr, code := run(t, "watch", "--listen", c.addr, dir)
		if code != c.code || !strings.HasPrefix(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("--listen %s: exit %d, %q; want exit %d, one line %q…", c.addr, code, stderr, c.code, c.want)
		}
	}
}

// TestMetricsFile: baseline and check write their figures to --metrics-file, which
// promtool accepts: the entries recorded, and the events the check found.
func TestMetricsFile(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "t")
	fstest.Tree{"t/a": fstest.File("a"), "t/b": fstest.File("b")}.Build(t, dir)
	db := filepath.Join(dir, "fim.db")
	prom := filepath.Join(dir, "textfile", "fim.prom")
	must(t, os.Mkdir(filepath.Dir(prom), 0o755))
	read := func() []byte {
		t.Helper()
		text, err := os.ReadFile(prom)
		must(t, err)
		fstest.PromCheck(t, text)
		return text
	}
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--metrics-file", prom, root)
	mfs := fstest.PromFamilies(t, read())
	if v := fstest.PromValue(t, mfs, "fim_baseline_entries", "command=baseline"); v != 3 {
		t.Errorf("baseline: fim_baseline_entries = %v, want 3", v)
	}
	must(t, os.WriteFile(filepath.Join(root, "c"), nil, 0o644))
	must(t, os.Remove(filepath.Join(root, "a")))
	mustRun(t, exitCreated|exitRemoved, "check", "--quiet", "--db", db, "--metrics-file", prom)
	mfs = fstest.PromFamilies(t, read())
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fim_baseline_entries", nil, 3},
		{"fim_run_events", []string{"kind=create"}, 1},
		{"fim_run_events", []string{"kind=remove"}, 1},
		{"fim_run_events", []string{"kind=change"}, 0},
		{"fim_run_events", []string{"kind=move"}, 0},
		{"fim_build_info", nil, 1},
	} {
		if v := fstest.PromValue(t, mfs, c.name, append(c.labels, "command=check")...); v != c.want {
			t.Errorf("check: %s{%s} = %v, want %v", c.name, strings.Join(c.labels, ","), v, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(prom), "*")); len(left) != 1 {
		t.Errorf("the textfile directory holds %q, want fim.prom alone", left)
	}
	// A run that fails leaves the file of the last good one.
	before := read()
	_, _, code := run(t, "check", "--quiet", "--db", filepath.Join(dir, "none.db"), "--metrics-file", prom)
	if code != exitBaseline {
		t.Errorf("check of a missing baseline: exit %d, want %d", code, exitBaseline)
	}
	if after := read(); string(after) != string(before) {
		t.Errorf("a failed check rewrote the metrics file")
	}
}
