package output

import (
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fim/internal/testpki"
)

// request is what a collector received in one attempt.
type request struct {
	at     time.Time
	method string
	body   string
	ctype  string
	agent  string
	key    string
	header http.Header
	peer   string // the common name of the client's certificate, if it sent one
}

// collector is an HTTP server that answers each request with the next of a script of
// handlers (the last one repeats) and records what it received.
type collector struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	script []http.HandlerFunc
}

func newCollector(t *testing.T, tls bool, script ...http.HandlerFunc) *collector {
	return newTLSCollector(t, tls, nil, script...)
}

// newTLSCollector is newCollector with the server's TLS configuration given (nil: the
// test server's own certificate).
func newTLSCollector(t *testing.T, tls bool, cfg *tls.Config, script ...http.HandlerFunc) *collector {
	c := &collector{script: script}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		var peer string
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			peer = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		c.mu.Lock()
		n := len(c.got)
		c.got = append(c.got, request{
			at: time.Now(), method: r.Method, body: string(body), ctype: r.Header.Get("Content-Type"),
			agent: r.Header.Get("User-Agent"), key: r.Header.Get("Idempotency-Key"), header: r.Header.Clone(), peer: peer,
		})
		c.mu.Unlock()
		c.script[min(n, len(c.script)-1)](w, r)
	})
	c.Server = httptest.NewUnstartedServer(h)
	c.TLS = cfg
	c.Config.ErrorLog = log.New(io.Discard, "", 0) // a refused certificate is expected
	if tls {
		c.StartTLS()
	} else {
		c.Start()
	}
	t.Cleanup(c.Close)
	return c
}

func (c *collector) requests() []request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]request(nil), c.got...)
}

// status answers with code, a Retry-After when after is set, and body.
func status(code int, after, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// fast are Options whose retries take milliseconds, and which record what Logf says.
func fast(t *testing.T, logs *[]string) Options {
	var mu sync.Mutex
	return Options{
		ContentType: "application/x-ndjson",
		Version:     "1.2.3",
		Backoff:     time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
		Timeout:     5 * time.Second,
		Logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			*logs = append(*logs, fmt.Sprintf(format, args...))
			t.Logf(format, args...)
		},
	}
}

var uuidKey = regexp.MustCompile(`^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`)

// TestHTTPRetriesThenDelivers fails the first two attempts with 503: the third delivers
// the batch intact, every attempt carries the same Idempotency-Key and the headers, the
// retries are logged, and the next batch gets a new key.
func TestHTTPRetriesThenDelivers(t *testing.T) {
	c := newCollector(t, false,
		status(503, "", "busy"), status(503, "", "busy"), status(200, "", ""), status(204, "", ""))
	var logs []string
	s, err := Open(c.URL+"/ingest", fast(t, &logs))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := "{\"kind\":\"create\",\"path\":\"/etc/caf\u00e9\"}\n{\"kind\":\"remove\",\"path\":\"/etc/x\"}\n"
	if err := s.Write([]byte(batch)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Write([]byte("second\n")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := c.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 3 for the first batch and 1 for the second", len(got))
	}
	for i, r := range got[:3] {
		if r.method != "POST" || r.body != batch || r.ctype != "application/x-ndjson" || r.agent != "fim/1.2.3" {
			t.Errorf("attempt %d: %s %q Content-Type %q User-Agent %q", i+1, r.method, r.body, r.ctype, r.agent)
		}
		if !uuidKey.MatchString(r.key) || r.key != got[0].key {
			t.Errorf("attempt %d: Idempotency-Key %q, want the quoted UUID %q of attempt 1", i+1, r.key, got[0].key)
		}
	}
	if got[3].body != "second\n" || got[3].key == got[0].key || !uuidKey.MatchString(got[3].key) {
		t.Errorf("second batch: body %q key %q, want its own key", got[3].body, got[3].key)
	}
	if len(logs) != 2 || !strings.Contains(logs[0], "attempt 1 of 6: 503 Service Unavailable: \"busy\"") {
		t.Errorf("logs %q, want two retries, the first saying attempt 1 of 6 got 503", logs)
	}
}

// TestHTTPRetryAfter waits as long as a 429's Retry-After says, even when the backoff
// is shorter.
func TestHTTPRetryAfter(t *testing.T) {
	c := newCollector(t, false, status(429, "1", ""), status(200, "", ""))
	var logs []string
	opt := fast(t, &logs)
	opt.MaxBackoff = 3 * time.Second
	s, err := Open(c.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	got := c.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < time.Second || gap > 3*time.Second {
		t.Errorf("retried after %v, want the second Retry-After asked for", gap)
	}
}

// TestHTTPFailsAtOnce: a status that says the request itself is wrong is not retried,
// and the error names the URL (without its password) and the status.
func TestHTTPFailsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		handler http.HandlerFunc
		want    string
	}{
		{status(400, "", "bad json at line 1\nmore"), `400 Bad Request: "bad json at line 1"`},
		{status(401, "", ""), "401 Unauthorized"},
		{status(404, "", ""), "404 Not Found"},
		{http.RedirectHandler("/elsewhere", http.StatusFound).ServeHTTP, `302 Found (redirect to "/elsewhere" not followed)`},
		{http.RedirectHandler("/elsewhere", http.StatusPermanentRedirect).ServeHTTP, "308 Permanent Redirect"},
	} {
		t.Run(tc.want[:3], func(t *testing.T) {
			c := newCollector(t, false, tc.handler)
			var logs []string
			u := strings.Replace(c.URL, "http://", "http://fim:s3cret@", 1) + "/in"
			s, err := Open(u, fast(t, &logs))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Write([]byte("x\n"))
			if err == nil {
				t.Fatal("Write: no error")
			}
			shown := strings.Replace(u, "s3cret", "xxxxx", 1)
			if msg := err.Error(); !strings.Contains(msg, "POST "+shown+": "+tc.want) || strings.Contains(msg, "s3cret") {
				t.Errorf("error %q, want it to name %s and say %q", msg, shown, tc.want)
			}
			if n := len(c.requests()); n != 1 || len(logs) != 0 {
				t.Errorf("%d requests and logs %q, want 1 request and no retry", n, logs)
			}
		})
	}
}

// TestHTTPGivesUp returns an error once every attempt has failed, so that no batch is
// lost silently.
func TestHTTPGivesUp(t *testing.T) {
	t.Run("status", func(t *testing.T) {
		c := newCollector(t, false, status(500, "", "boom"))
		var logs []string
		opt := fast(t, &logs)
		opt.Attempts = 3
		s, err := Open(c.URL, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.Write([]byte("x\n"))
		if err == nil || !strings.Contains(err.Error(), "POST "+c.URL+": batch not delivered after 3 attempts: 500 Internal Server Error") {
			t.Errorf("Write = %v, want it to give up after 3 attempts at 500", err)
		}
		if n := len(c.requests()); n != 3 || len(logs) != 2 {
			t.Errorf("%d requests and %d logs, want 3 and 2", n, len(logs))
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + l.Addr().String() + "/in"
		l.Close()
		var logs []string
		opt := fast(t, &logs)
		opt.Attempts = 4
		s, err := Open(u, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.Write([]byte("x\n"))
		if err == nil || !strings.Contains(err.Error(), "after 4 attempts") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Write = %v, want it to give up after 4 refused connections", err)
		}
		if len(logs) != 3 {
			t.Errorf("logs %q, want 3 retries", logs)
		}
	})
}

// TestHTTPTimeout: an attempt that gets no answer within Timeout is abandoned and
// retried; when every attempt times out, Write fails saying so.
func TestHTTPTimeout(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	for _, tc := range []struct {
		name   string
		script []http.HandlerFunc
		ok     bool
	}{
		{"then answers", []http.HandlerFunc{hang, status(200, "", "")}, true},
		{"never answers", []http.HandlerFunc{hang}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector(t, false, tc.script...)
			var logs []string
			opt := fast(t, &logs)
			opt.Timeout = 200 * time.Millisecond
			opt.Attempts = 2
			s, err := Open(c.URL, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			start := time.Now()
			err = s.Write([]byte("x\n"))
			took := time.Since(start)
			if (err == nil) != tc.ok {
				t.Fatalf("Write = %v, want success %v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "after 2 attempts: no response within 200ms") {
				t.Errorf("Write = %v, want it to say no attempt was answered in time", err)
			}
			if len(logs) != 1 || !strings.Contains(logs[0], "no response within 200ms") {
				t.Errorf("logs %q, want one retry after a timeout", logs)
			}
			if took < 200*time.Millisecond || took > 3*time.Second {
				t.Errorf("Write took %v", took)
			}
			got := c.requests()
			if len(got) != 2 || got[0].key != got[1].key {
				t.Errorf("%d requests, want 2 with one key", len(got))
			}
		})
	}
}

// TestHTTPS trusts the system's roots by default, so a collector's self-signed
// certificate fails at once (retrying cannot fix it), and Options.TLS can trust it.
func TestHTTPS(t *testing.T) {
	c := newCollector(t, true, status(200, "", ""))
	var logs []string
	s, err := Open(c.URL, fast(t, &logs))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write([]byte("x\n"))
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "certificate") || len(logs) != 0 || len(c.requests()) != 0 {
		t.Errorf("Write = %v, logs %q: want a certificate error and no retry", err, logs)
	}
	opt := fast(t, &logs)
	opt.TLS = c.Client().Transport.(*http.Transport).TLSClientConfig
	s, err = Open(c.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write([]byte("over tls\n")); err != nil {
		t.Fatal(err)
	}
	if got := c.requests(); len(got) != 1 || got[0].body != "over tls\n" {
		t.Errorf("requests %+v, want the one batch", got)
	}
}

// TestHTTPCloseStopsRetries: closing the sink (fim is stopping) ends a Write that is
// waiting to retry, with an error that says the batch was not delivered.
func TestHTTPCloseStopsRetries(t *testing.T) {
	c := newCollector(t, false, status(503, "", ""))
	var logs []string
	opt := fast(t, &logs)
	opt.Backoff, opt.MaxBackoff = time.Minute, time.Minute
	s, err := Open(c.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Write([]byte("x\n")) }()
	for len(c.requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "batch not delivered: closed while waiting to retry after 1 attempt: 503") {
			t.Errorf("Write = %v, want it to say it was closed before delivery", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Write still waiting after Close")
	}
	if err := s.Write([]byte("y\n")); err == nil {
		t.Error("Write after Close: no error")
	}
}

// TestRetryDelay checks the backoff schedule: doubling from Backoff, jittered to
// between half and all of it, never past MaxBackoff, and at least a Retry-After.
func TestRetryDelay(t *testing.T) {
	s := newHTTP(someURL(t), Options{Backoff: 250 * time.Millisecond, MaxBackoff: 10 * time.Second}.withDefaults())
	for _, tc := range []struct {
		attempt  int
		asked    time.Duration
		min, max time.Duration
	}{
		{1, 0, 125 * time.Millisecond, 250 * time.Millisecond},
		{2, 0, 250 * time.Millisecond, 500 * time.Millisecond},
		{5, 0, 2 * time.Second, 4 * time.Second},
		{7, 0, 5 * time.Second, 10 * time.Second},
		{200, 0, 5 * time.Second, 10 * time.Second},
		{1, 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{1, time.Hour, 10 * time.Second, 10 * time.Second},
	} {
		for range 100 {
			if d := s.delay(tc.attempt, tc.asked); d < tc.min || d > tc.max {
				t.Fatalf("delay(%d, %v) = %v, want within [%v, %v]", tc.attempt, tc.asked, d, tc.min, tc.max)
			}
		}
	}
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0}, {"0", 0}, {"7", 7 * time.Second}, {"-1", 0}, {"soon", 0}, {"1.5", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tc.header); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
	if d := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 58*time.Second || d > time.Minute {
		t.Errorf("retryAfter(a date a minute ahead) = %v", d)
	}
}

// someURL returns a parsed http URL.
func someURL(t *testing.T) *url.URL {
	tg, err := parseSpec("http://collector/in")
	if err != nil {
		t.Fatal(err)
	}
	return tg.url
}

// echo answers code with a body that repeats the request's Authorization header, as a
// collector that explains a refusal may; pad puts that many bytes before it.
func echo(code, pad int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, strings.Repeat("x", pad)+"bad credentials: "+r.Header.Get("Authorization")+"\n")
	}
}

const secret = "ApiKey c2VjcmV0LXRva2VuLXZhbHVl"

// TestHTTPHeadersGzip: the extra headers go with every attempt, the body is gzipped,
// and a collector that echoes the secret back never gets it into a log line or an
// error, even cut short.
func TestHTTPHeadersGzip(t *testing.T) {
	c := newCollector(t, false, echo(503, 0), status(200, "", ""), echo(401, 0), echo(401, 170))
	var logs []string
	opt := fast(t, &logs)
	opt.Header = http.Header{}
	for _, h := range []string{"Authorization: " + secret, "X-Splunk-Request-Channel:  0f8b  ", "Content-Type: application/json"} {
		name, value, err := ParseHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		opt.Header.Add(name, value)
	}
	opt.Gzip = true
	s, err := Open(c.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := strings.Repeat("{\"kind\":\"create\"}\n", 100)
	if err := s.Write([]byte(batch)); err != nil {
		t.Fatal(err)
	}
	got := c.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, r := range got {
		if r.header.Get("Authorization") != secret || r.header.Get("X-Splunk-Request-Channel") != "0f8b" ||
			r.ctype != "application/json" || r.header.Get("Content-Encoding") != "gzip" || r.agent != "fim/1.2.3" {
			t.Errorf("attempt %d: headers %v", i+1, r.header)
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if plain, err := io.ReadAll(zr); err != nil || string(plain) != batch {
			t.Errorf("attempt %d: body %q, %v", i+1, plain, err)
		}
		if len(r.body) >= len(batch) {
			t.Errorf("attempt %d: %d bytes sent for %d: not compressed", i+1, len(r.body), len(batch))
		}
	}
	for _, pad := range []int{0, 170} {
		err := s.Write([]byte("x\n"))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("pad %d: Write = %v, want a 401 with the echo redacted", pad, err)
		}
		if err != nil {
			logs = append(logs, err.Error())
		}
	}
	if len(logs) == 0 {
		t.Fatal("no retry logged")
	}
	for _, l := range logs {
		if strings.Contains(l, "c2VjcmV0") {
			t.Errorf("a secret in %q", l)
		}
	}
}

// TestParseHeader: what --header takes, and errors that never show a value.
func TestParseHeader(t *testing.T) {
	for _, c := range []struct{ in, name, value, err string }{
		{"Authorization: Bearer abc", "Authorization", "Bearer abc", ""},
		{"x-token:abc\t", "x-token", "abc", ""},
		{"Splunk", "", "", `want "NAME: VALUE" (no colon)`},
		{"Bad Name: topsecret", "", "", `"Bad Name" is not a header name`},
		{": topsecret", "", "", `"" is not a header name`},
		{"Content-Length: 9", "", "", "Content-Length is set by fim itself"},
		{"idempotency-key: topsecret", "", "", "Idempotency-Key is set by fim itself"},
		{"X-Key:  ", "", "", "X-Key: no value"},
		{"X-Key: top\r\nsecret", "", "", "X-Key: the value holds a control character"},
	} {
		name, value, err := ParseHeader(c.in)
		if c.err == "" {
			if err != nil || name != c.name || value != c.value {
				t.Errorf("ParseHeader(%q) = %q, %q, %v", c.in, name, value, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseHeader(%q) error %v, want %q and no value", c.in, err, c.err)
		}
	}
}

// TestHTTPClientCert: a collector that requires a client certificate from its own CA
// takes the batch with --ca, --cert and --key; without the client certificate, or
// without the CA, the batch fails at once, not after retries.
func TestHTTPClientCert(t *testing.T) {
	pki := testpki.New(t)
	c := newTLSCollector(t, true, pki.Server, status(200, "", ""))
	for _, tc := range []struct {
		name          string
		ca, cert, key string
		err           string
	}{
		{"client certificate", pki.CAFile, pki.ClientCert, pki.ClientKey, ""},
		{"no client certificate", pki.CAFile, "", "", "refused by the collector"},
		{"system roots", "", pki.ClientCert, pki.ClientKey, "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []string
			opt := fast(t, &logs)
			var err error
			if opt.TLS, err = LoadTLS(tc.ca, tc.cert, tc.key); err != nil {
				t.Fatal(err)
			}
			before := len(c.requests())
			s, err := Open(c.URL, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Write([]byte("over mutual tls\n"))
			got := c.requests()[before:]
			if tc.err == "" {
				if err != nil || len(got) != 1 || got[0].peer != pki.ClientName || got[0].body != "over mutual tls\n" {
					t.Errorf("Write = %v, requests %+v: want one from %q", err, got, pki.ClientName)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || len(logs) != 0 || len(got) != 0 {
				t.Errorf("Write = %v, logs %q, %d requests: want %q at once", err, logs, len(got), tc.err)
			}
		})
	}
}

// TestLoadTLS: each file that cannot be used is named.
func TestLoadTLS(t *testing.T) {
	pki := testpki.New(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadTLS("", "", ""); cfg != nil || err != nil {
		t.Errorf("nothing given: %v, %v", cfg, err)
	}
	for _, c := range []struct{ ca, cert, key, want string }{
		{garbage, "", "", "CA file " + garbage + ": no PEM certificate in it"},
		{garbage + ".missing", "", "", garbage + ".missing: no such file"},
		{"", pki.ClientCert, "", "client certificate " + pki.ClientCert + ": no key file given for it"},
		{"", "", pki.ClientKey, "client key " + pki.ClientKey + ": no certificate file given for it"},
		{"", garbage, pki.ClientKey, "client certificate " + garbage + " with key " + pki.ClientKey},
	} {
		if _, err := LoadTLS(c.ca, c.cert, c.key); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadTLS(%q, %q, %q) = %v, want %q", c.ca, c.cert, c.key, err, c.want)
		}
	}
}

// TestSpoolKeepsHeaders: batches a spool retries, in this process and after a
// restart, go with the extra headers and the client certificate on every attempt.
func TestSpoolKeepsHeaders(t *testing.T) {
	pki := testpki.New(t)
	var down sync.Mutex // held while the collector refuses
	down.Lock()
	refuse := func(w http.ResponseWriter, r *http.Request) {
		if !down.TryLock() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		down.Unlock()
	}
	c := newTLSCollector(t, true, pki.Server, refuse)
	dir := filepath.Join(t.TempDir(), "spool")
	open := func() *Spool {
		var logs []string
		opt := fast(t, &logs)
		opt.Attempts = 1
		opt.Header = http.Header{"Authorization": {secret}}
		var err error
		if opt.TLS, err = LoadTLS(pki.CAFile, pki.ClientCert, pki.ClientKey); err != nil {
			t.Fatal(err)
		}
		sink, err := Open(c.URL, opt)
		if err != nil {
			t.Fatal(err)
		}
		s, err := OpenSpool(sink, fastRetry(SpoolOptions{Dir: dir}))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	for _, b := range []string{"one\n", "two\n"} {
		if err := s.Write([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	for len(c.requests()) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Logf("close with batches undelivered: %v", err)
	}
	refused := len(c.requests())
	down.Unlock()
	s = open()
	defer s.Close()
	waitDelivered(t, s)
	got := c.requests()
	var after []string
	for i, r := range got {
		if r.header.Get("Authorization") != secret || r.peer != pki.ClientName {
			t.Errorf("attempt %d: Authorization %q, client %q", i+1, r.header.Get("Authorization"), r.peer)
		}
		if i >= refused {
			after = append(after, r.body)
		}
	}
	if !slices.Equal(after, []string{"one\n", "two\n"}) {
		t.Errorf("delivered after the restart %q, want both batches in order", after)
	}
}
