package output

import (
	"bytes"
	"compress/gzip"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// httpSink POSTs each batch to a URL.
//
// Every request carries Content-Type (Options.ContentType), User-Agent fim/VERSION and an
// Idempotency-Key: a random UUID per batch, the same on each of its retries (and, for a
// batch a Spool holds, on every attempt the Spool makes, across restarts), written as
// a quoted string as the IETF draft defines it, so a collector can drop a batch it has
// already stored. A 2xx status means delivered. Network errors, timeouts, 408, 429 and
// 5xx are retried after a delay that starts at Options.Backoff and doubles, jittered to
// between half and all of it, up to Options.MaxBackoff; a Retry-After (seconds or an
// HTTP date) lengthens the delay up to that cap too. Any other status, a redirect
// included (a POST turned into a GET would drop the batch), a certificate that does
// not verify and a TLS alert from the collector (a client certificate it refuses) fail
// at once. Write returns an error once the batch is given up on.
//
// Options.Header is added to every request; with Options.Gzip the body is compressed
// once per batch and sent with Content-Encoding: gzip. What a collector answers is
// quoted in errors with every header value replaced by "[redacted]".
type httpSink struct {
	mu      sync.Mutex
	url     string // the request URL
	shown   string // the URL for messages, without a password
	client  *http.Client
	opt     Options
	secrets []string        // the header values, which no message may show
	ctx     context.Context // canceled by Close, which stops retries
	cancel  context.CancelFunc
	closed  bool
}

// newHTTP returns a sink posting to u.
func newHTTP(u *url.URL, opt Options) *httpSink {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opt.TLS != nil {
		tr.TLSClientConfig = opt.TLS.Clone()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &httpSink{
		url:   u.String(),
		shown: u.Redacted(),
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		opt:     opt,
		secrets: secrets(opt.Header),
		ctx:     ctx,
		cancel:  cancel,
	}
}

// Write POSTs batch, retrying as the type's documentation says. An empty batch is not
// sent.
func (s *httpSink) Write(batch []byte) error {
	return s.writeKeyed(batch, idempotencyKey())
}

// writeKeyed is Write with the Idempotency-Key given: a batch sent again (by a Spool)
// keeps its key.
func (s *httpSink) writeKeyed(batch []byte, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("output %s: sink closed", s.shown)
	}
	if len(batch) == 0 {
		return nil
	}
	if s.opt.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(batch) // a bytes.Buffer does not fail
		if err := zw.Close(); err != nil {
			return fmt.Errorf("output %s: gzip: %w", s.shown, err)
		}
		batch = buf.Bytes()
	}
	for attempt := 1; ; attempt++ {
		wait, retry, err := s.post(batch, key)
		if err == nil {
			return nil
		}
		if !retry {
			return fmt.Errorf("output: POST %s: %w", s.shown, err)
		}
		if attempt == s.opt.Attempts {
			return fmt.Errorf("output: POST %s: batch not delivered after %s: %w", s.shown, attempts(attempt), err)
		}
		delay := s.delay(attempt, wait)
		s.opt.Logf("output: POST %s: attempt %d of %d: %v; retrying in %v", s.shown, attempt, s.opt.Attempts, err, delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return fmt.Errorf("output: POST %s: batch not delivered: closed while waiting to retry after %s: %w", s.shown, attempts(attempt), err)
		}
	}
}

// attempts says "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// post makes one attempt. It returns whether a failure is worth retrying, and the
// delay the server asked for with Retry-After.
func (s *httpSink) post(batch []byte, key string) (wait time.Duration, retry bool, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(batch))
	if err != nil {
		return 0, false, err
	}
	for name, vs := range s.opt.Header {
		req.Header[name] = vs
	}
	if _, ok := req.Header["Content-Type"]; !ok {
		req.Header.Set("Content-Type", s.opt.ContentType)
	}
	if s.opt.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	ua := "fim"
	if s.opt.Version != "" {
		ua += "/" + s.opt.Version
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", ua)
	}
	req.Header.Set("Idempotency-Key", key)
	resp, err := s.client.Do(req)
	if err != nil {
		var cert *tls.CertificateVerificationError
		if errors.As(err, &cert) {
			return 0, false, cert
		}
		// crypto/tls reports an alert the collector sent (a client certificate it
		// requires or refuses) as this net.OpError; retrying cannot change it.
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "remote error" {
			return 0, false, fmt.Errorf("refused by the collector: %w", op.Err)
		}
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // the URL is named by the caller
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no response within %v", s.opt.Timeout)
		}
		return 0, s.ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	head := make([]byte, 200)
	n, _ := io.ReadFull(resp.Body, head)
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return 0, false, nil
	}
	err = statusError(code, []byte(scrub(string(head[:n]), s.secrets)))
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), true, err
	case code >= 300 && code <= 399:
		return 0, false, fmt.Errorf("%w (redirect to %q not followed)", err, scrub(resp.Header.Get("Location"), s.secrets))
	}
	return 0, false, err
}

// statusError describes a response that failed, with the start of its body.
func statusError(code int, body []byte) error {
	if i := bytes.IndexByte(body, '\n'); i >= 0 {
		body = body[:i]
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fmt.Errorf("%d %s", code, http.StatusText(code))
	}
	return fmt.Errorf("%d %s: %q", code, http.StatusText(code), body)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date. It returns 0
// when the header is absent or unusable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// delay is how long to wait after failed attempt number attempt (from 1): the
// exponential backoff, jittered, at least what the server asked for, and capped.
func (s *httpSink) delay(attempt int, asked time.Duration) time.Duration {
	d := s.opt.Backoff
	for i := 1; i < attempt && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	return min(max(d, asked), s.opt.MaxBackoff)
}

// idempotencyKey returns a random (version 4) UUID as a quoted string.
func idempotencyKey() string {
	var u [16]byte
	crand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [38]byte
	b[0], b[37] = '"', '"'
	hex.Encode(b[1:9], u[0:4])
	b[9] = '-'
	hex.Encode(b[10:14], u[4:6])
	b[14] = '-'
	hex.Encode(b[15:19], u[6:8])
	b[19] = '-'
	hex.Encode(b[20:24], u[8:10])
	b[24] = '-'
	hex.Encode(b[25:37], u[10:16])
	return string(b[:])
}

// Close stops any retry under way and closes idle connections.
func (s *httpSink) Close() error {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.client.CloseIdleConnections()
	return nil
}
