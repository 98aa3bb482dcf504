// Package output owns where rendered reports go: a file, the standard output, a syslog
// daemon or collector, or an HTTP endpoint. It takes each batch as the bytes a renderer
// of package report produced and delivers it whole; it never looks inside a batch
// beyond splitting it into lines for syslog.
//
// A Sink is chosen by a spec string (the --output flag), parsed by Parse:
//
//	-, ""                      standard output
//	PATH, file:PATH            append to a file (created 0600, fsync'd after each batch)
//	syslog                     the local daemon: /dev/log, /var/run/syslog or /var/run/log
//	syslog:///SOCKET           a daemon listening on the unix socket SOCKET
//	udp://HOST:PORT            a syslog collector over UDP (RFC 5426)
//	tcp://HOST:PORT            a syslog collector over TCP, octet-counting framing (RFC 6587)
//	http://URL, https://URL    POST each batch to URL, retried on failure
//
// The syslog forms take ?facility=NAME (default authpriv, as security tools use) and
// ?max=BYTES, the largest message the receiver accepts (default 8096, rsyslog's default;
// see syslogSink); every message has severity notice. A file whose name could be read as one of the other forms
// is written as file:NAME.
//
// A Spool sits in front of any Sink for a producer that must not wait for it (fim
// watch): it takes each batch at once into a bounded queue on disk and delivers the
// queue in order, retrying, from a goroutine of its own.
package output

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sink receives rendered batches: the whole report of a check, or one batch of fim
// watch. Write delivers one batch or returns an error saying why it could not; a Sink
// never drops a batch silently. Sinks are safe for concurrent use.
type Sink interface {
	Write(batch []byte) error
	Close() error
}

// Options tunes a Sink. The zero value works: every field has a default.
type Options struct {
	// ContentType is the media type of the rendered format, sent as the Content-Type of
	// each HTTP POST ("text/plain; charset=utf-8" for text, "application/x-ndjson" for
	// json). Default application/octet-stream.
	ContentType string
	// Version is fim's version, sent as User-Agent: fim/Version. Default: no version.
	Version string
	// AppName is the syslog APP-NAME (the tag, for the local daemon): 1 to 48 printable
	// ASCII characters other than '[', ']' and ':'. Default "fim".
	AppName string
	// Hostname is the syslog HOSTNAME sent to collectors. Default os.Hostname(). Bytes
	// outside printable ASCII become '_'; it is cut at 255 bytes (RFC 5424).
	Hostname string
	// Logf, when set, is told about retries and reconnections that end well, and about
	// report lines cut to fit a syslog message; failures that lose a batch are returned
	// by Write instead.
	Logf func(format string, args ...any)

	// Attempts is how many times an HTTP batch is sent before Write gives up. Default 6.
	Attempts int
	// Backoff is the delay before the second HTTP attempt; it doubles for each further
	// attempt, up to MaxBackoff, and is jittered. Default 250ms.
	Backoff time.Duration
	// MaxBackoff caps the delay between HTTP attempts, a Retry-After included. Default 10s.
	MaxBackoff time.Duration
	// Timeout bounds each HTTP attempt and each syslog connection or write. Default 10s.
	Timeout time.Duration
	// TLS configures https (trusted roots, client certificates; see LoadTLS). Default:
	// the system's roots.
	TLS *tls.Config
	// Header holds extra HTTP request headers (Authorization, a Splunk HEC token, …),
	// sent with every attempt (see ParseHeader). Their values are secrets: no error or
	// log message shows them, even when a collector echoes them back.
	Header http.Header
	// Gzip compresses each HTTP request body, sent with Content-Encoding: gzip.
	Gzip bool
}

// Defaults of Options.
const (
	defaultAppName     = "fim"
	defaultContentType = "application/octet-stream"
	defaultAttempts    = 6
	defaultBackoff     = 250 * time.Millisecond
	defaultMaxBackoff  = 10 * time.Second
	defaultTimeout     = 10 * time.Second
)

// withDefaults returns opt with every unset field given its default.
func (opt Options) withDefaults() Options {
	if opt.ContentType == "" {
		opt.ContentType = defaultContentType
	}
	if opt.AppName == "" {
		opt.AppName = defaultAppName
	}
	if opt.Hostname == "" {
		opt.Hostname, _ = os.Hostname()
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Attempts <= 0 {
		opt.Attempts = defaultAttempts
	}
	if opt.Backoff <= 0 {
		opt.Backoff = defaultBackoff
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = defaultMaxBackoff
	}
	if opt.Timeout <= 0 {
		opt.Timeout = defaultTimeout
	}
	return opt
}

// Spec is a parsed --output spec (see the package documentation): the one reading of
// a spec that says where a report goes and what it can carry.
type Spec struct {
	t target
}

// Parse parses an --output spec. It does no I/O; an error names the spec and what is
// wrong with it.
func Parse(spec string) (Spec, error) {
	t, err := parseSpec(spec)
	return Spec{t}, err
}

// Stdout reports whether the spec is the standard output.
func (s Spec) Stdout() bool { return s.t.kind == kindStdout }

// Lines reports whether the spec names a destination that takes a report line by line
// as separate messages (the syslog forms), which a whole-document format cannot go to.
func (s Spec) Lines() bool { return s.t.kind >= kindSyslogLocal && s.t.kind <= kindSyslogTCP }

// File returns the file the spec names ("file:" taken off), or "" when it names
// another destination.
func (s Spec) File() string {
	if s.t.kind != kindFile {
		return ""
	}
	return s.t.path
}

// HTTP reports whether the spec names an http:// or https:// endpoint.
func (s Spec) HTTP() bool { return s.t.kind == kindHTTP }

// Open returns the Sink that the spec names. It reaches the destination at once where
// it can (a file is opened, a syslog socket connected), so a mistake shows before the
// first batch; an HTTP endpoint is first contacted by Write.
func (s Spec) Open(opt Options) (Sink, error) {
	opt = opt.withDefaults()
	switch t := s.t; t.kind {
	case kindStdout:
		return stdoutSink{}, nil
	case kindFile:
		return openFile(t.path)
	case kindHTTP:
		return newHTTP(t.url, opt), nil
	default:
		return openSyslog(t, opt)
	}
}

// Open returns the Sink that spec names: Parse, then Spec.Open.
func Open(spec string, opt Options) (Sink, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	return s.Open(opt)
}

// kind is the sort of destination a spec names.
type kind int

const (
	kindStdout kind = iota
	kindFile
	kindSyslogLocal // the local daemon at one of the usual sockets
	kindSyslogUnix  // a daemon at a given unix socket
	kindSyslogUDP
	kindSyslogTCP
	kindHTTP
)

// target is a parsed spec.
type target struct {
	kind     kind
	path     string   // kindFile: the file; kindSyslogUnix: the socket
	addr     string   // kindSyslogUDP, kindSyslogTCP: host:port
	url      *url.URL // kindHTTP
	facility int      // syslog kinds
	max      int      // syslog kinds: the largest message, header included
}

// forms lists the accepted specs, for error messages.
const forms = "FILE, file:FILE, -, syslog, syslog:///SOCKET, udp://HOST:PORT, tcp://HOST:PORT, " +
	"http://URL or https://URL (the syslog forms take ?facility=NAME and ?max=BYTES)"

// parseSpec parses an --output spec. It does no I/O.
func parseSpec(spec string) (target, error) {
	bad := func(why string) (target, error) {
		return target{}, fmt.Errorf("output %q: %s (accepted: %s)", spec, why, forms)
	}
	badQuery := func(err error) (target, error) {
		return target{}, fmt.Errorf("output %q: %w", spec, err)
	}
	switch {
	case spec == "" || spec == "-":
		return target{kind: kindStdout}, nil
	case strings.HasPrefix(spec, "file:"):
		p := spec[len("file:"):]
		if p == "" {
			return bad("no file name")
		}
		if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
			return bad("a file URL names no host: use file:/PATH or file:///PATH")
		}
		return target{kind: kindFile, path: p}, nil
	case spec == "syslog" || strings.HasPrefix(spec, "syslog?"):
		fac, max, err := parseSyslogQuery(strings.TrimPrefix(spec[len("syslog"):], "?"))
		if err != nil {
			return badQuery(err)
		}
		return target{kind: kindSyslogLocal, facility: fac, max: max}, nil
	}
	i := strings.Index(spec, "://")
	if i < 0 {
		return target{kind: kindFile, path: spec}, nil
	}
	scheme := strings.ToLower(spec[:i])
	switch scheme {
	case "syslog", "udp", "tcp", "http", "https":
	default:
		return bad("unknown scheme " + strings.ToValidUTF8(spec[:i], "\uFFFD"))
	}
	u, err := url.Parse(spec)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return bad(err.Error())
	}
	if u.User != nil && scheme != "http" && scheme != "https" {
		return bad("user information is only for http and https")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return bad("a fragment (#…) means nothing here")
	}
	switch scheme {
	case "syslog":
		if u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
			return bad("want syslog:///ABSOLUTE/PATH/OF/SOCKET")
		}
		fac, max, err := parseSyslogQuery(u.RawQuery)
		if err != nil {
			return badQuery(err)
		}
		return target{kind: kindSyslogUnix, path: u.Path, facility: fac, max: max}, nil
	case "udp", "tcp":
		if u.Opaque != "" || u.Path != "" && u.Path != "/" {
			return bad("want " + scheme + "://HOST:PORT with no path")
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" || port == "" {
			return bad("want " + scheme + "://HOST:PORT")
		}
		fac, max, err := parseSyslogQuery(u.RawQuery)
		if err != nil {
			return badQuery(err)
		}
		k := kindSyslogUDP
		if scheme == "tcp" {
			k = kindSyslogTCP
		}
		return target{kind: k, addr: u.Host, facility: fac, max: max}, nil
	default: // http, https
		if u.Host == "" || u.Opaque != "" {
			return bad("want " + scheme + "://HOST/PATH")
		}
		return target{kind: kindHTTP, url: u}, nil
	}
}

// facilities maps the facility names syslog daemons use to their codes (RFC 5424 §6.2.1).
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
	"alert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// facilityAuthpriv is the default facility: where security tools log.
const facilityAuthpriv = 10

// parseSyslogQuery parses the query of a syslog spec: empty, or facility=NAME and
// max=BYTES, each at most once.
func parseSyslogQuery(query string) (facility, max int, err error) {
	facility, max = facilityAuthpriv, defaultMaxMessage
	if query == "" {
		return facility, max, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return 0, 0, fmt.Errorf("bad query: %w", err)
	}
	for k, v := range q {
		if k != "facility" && k != "max" {
			return 0, 0, fmt.Errorf("unknown parameter %q (only facility=NAME and max=BYTES)", k)
		}
		if len(v) != 1 {
			return 0, 0, fmt.Errorf("%s given %d times", k, len(v))
		}
		if k == "max" {
			n, err := strconv.Atoi(v[0])
			if err != nil || n < minMaxMessage || n > maxDatagram {
				return 0, 0, fmt.Errorf("max=%s: want a message size in bytes from %d to %d", v[0], minMaxMessage, maxDatagram)
			}
			max = n
			continue
		}
		f, ok := facilities[strings.ToLower(v[0])]
		if !ok {
			return 0, 0, fmt.Errorf("unknown facility %q (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, "+
				"cron, authpriv, ftp, ntp, audit, alert, clock, local0 … local7)", v[0])
		}
		facility = f
	}
	return facility, max, nil
}

// stdoutSink writes batches to the standard output, which it never closes.
type stdoutSink struct{}

func (stdoutSink) Write(batch []byte) error {
	_, err := os.Stdout.Write(batch)
	return err
}

func (stdoutSink) Close() error { return nil }
