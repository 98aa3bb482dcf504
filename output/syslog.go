package output

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Syslog messages.
//
// Collectors reached over the network (udp://, tcp://) get RFC 5424 messages:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// with PRI = facility*8 + 5 (notice), TIMESTAMP in RFC 3339 with microseconds, MSGID
// "fim" and no structured data. HOSTNAME (at most 255 bytes), APP-NAME (48) and PROCID
// are printable US-ASCII (%d33-126) as the RFC requires; a hostname byte outside that
// range is sent as '_', and an empty hostname as the NILVALUE "-". MSG is sent as
// octets (MSG-ANY) with no byte order mark: report lines are already UTF-8 and escaped,
// and receivers such as rsyslog keep a BOM as the first three bytes of the message text.
//
// A daemon on a unix socket (syslog, syslog:///SOCKET) gets the format syslog(3) writes
// there instead:
//
//	<PRI>Mmm dd hh:mm:ss APP-NAME[PROCID]: MSG
//
// because that is what both daemons that own /dev/log on Linux parse: systemd-journald
// does not parse RFC 5424, and rsyslog's imuxsock does so only with its special parser
// turned off; the RFC 5424 header would otherwise end up inside the message text. The
// local daemon adds its own host name.
//
// Each non-empty line of a batch is one message, and all messages of a batch carry the
// same timestamp. Over a datagram socket (udp, unixgram) each message is one datagram;
// over TCP each is framed by octet counting (RFC 6587 §3.4.1: "LEN SP MSG"); over a
// unix stream socket each ends with a newline. Report lines hold no newline, carriage
// return or other control byte (the line formats escape them), so nothing inside a
// message can end it early on any of these framings.
//
// No message is longer than the receiver accepts: ?max=BYTES in the spec, default
// defaultMaxMessage, counted over the whole message, header included, as receivers count
// it (the "LEN " of TCP framing and the newline of a unix stream are not part of it).
// A receiver that gets more does not drop the rest: rsyslog cuts an octet-counted frame
// at its limit and parses what follows as a new message, whose header the tail of the
// line, and so a file name, would choose. So a longer line is cut here, on a UTF-8
// boundary, and ends in the marker " [truncated by fim]"; one message goes out for it,
// never two, and Options.Logf is told. The same cut serves every transport.

// localSockets are where the local syslog daemon listens, in the order tried.
var localSockets = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// severityNotice is the severity of every message: a normal but significant condition.
const severityNotice = 5

// syslogSink sends each line of a batch as one syslog message.
type syslogSink struct {
	mu      sync.Mutex
	name    string // the destination, for errors
	dial    func() (net.Conn, string, error)
	conn    net.Conn
	network string // of conn: "udp", "tcp", "unixgram" or "unix"
	local   bool   // syslog(3) format, for a daemon on a unix socket
	pri     string
	host    string
	app     string
	pid     string
	timeout time.Duration
	logf    func(string, ...any)
	max     int // the largest message, header included
	closed  bool
	buf     []byte
	lines   [][]byte
}

// openSyslog connects to the syslog destination of t.
func openSyslog(t target, opt Options) (*syslogSink, error) {
	if err := checkAppName(opt.AppName); err != nil {
		return nil, err
	}
	s := &syslogSink{
		pri:     "<" + strconv.Itoa(t.facility*8+severityNotice) + ">",
		host:    headerField(opt.Hostname, 255),
		app:     opt.AppName,
		pid:     strconv.Itoa(os.Getpid()),
		timeout: opt.Timeout,
		logf:    opt.Logf,
		max:     t.max,
	}
	if s.max == 0 {
		s.max = defaultMaxMessage
	}
	switch t.kind {
	case kindSyslogLocal:
		s.name, s.local = "syslog", true
		s.dial = func() (net.Conn, string, error) {
			var first error
			for _, p := range localSockets {
				c, network, err := dialUnix(p, opt.Timeout)
				if err == nil {
					return c, network, nil
				}
				if first == nil {
					first = err
				}
			}
			return nil, "", fmt.Errorf("no local syslog daemon at %s: %w", strings.Join(localSockets, ", "), first)
		}
	case kindSyslogUnix:
		s.name, s.local = "syslog://"+t.path, true
		s.dial = func() (net.Conn, string, error) { return dialUnix(t.path, opt.Timeout) }
	case kindSyslogUDP:
		s.name = "udp://" + t.addr
		s.dial = func() (net.Conn, string, error) { return dialNet("udp", t.addr, opt.Timeout) }
	case kindSyslogTCP:
		s.name = "tcp://" + t.addr
		s.dial = func() (net.Conn, string, error) { return dialNet("tcp", t.addr, opt.Timeout) }
	}
	if err := s.connect(); err != nil {
		return nil, fmt.Errorf("output %s: %w", s.name, err)
	}
	return s, nil
}

// connect dials the destination.
func (s *syslogSink) connect() error {
	c, network, err := s.dial()
	if err != nil {
		return err
	}
	s.conn, s.network = c, network
	return nil
}

// disconnect closes the connection.
func (s *syslogSink) disconnect() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// dialNet connects to a collector over udp or tcp.
func dialNet(network, addr string, timeout time.Duration) (net.Conn, string, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	return c, network, err
}

// dialUnix connects to a syslog daemon's unix socket: a datagram socket as daemons
// usually offer, else a stream socket.
func dialUnix(path string, timeout time.Duration) (net.Conn, string, error) {
	c, err := net.DialTimeout("unixgram", path, timeout)
	if err == nil {
		return c, "unixgram", nil
	}
	if c, err2 := net.DialTimeout("unix", path, timeout); err2 == nil {
		return c, "unix", nil
	}
	return nil, "", err
}

// checkAppName reports whether name is a valid APP-NAME (RFC 5424: 1*48PRINTUSASCII)
// that the local format can carry too (no '[', ']' or ':', which end a syslog(3) tag).
func checkAppName(name string) error {
	if len(name) > 48 {
		return fmt.Errorf("output: syslog app name %q: longer than 48 bytes", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == ':' {
			return fmt.Errorf("output: syslog app name %q: byte %#x is not allowed", name, c)
		}
	}
	return nil
}

// headerField makes s a header field of RFC 5424: at most max bytes of printable
// US-ASCII, other bytes replaced by '_', and the NILVALUE "-" when s is empty.
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	b := []byte(s[:min(len(s), max)])
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}

// appendHeader appends the part of a message that precedes MSG.
func (s *syslogSink) appendHeader(b []byte, now time.Time) []byte {
	b = append(b, s.pri...)
	if s.local {
		b = now.AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		b = append(b, s.app...)
		b = append(b, '[')
		b = append(b, s.pid...)
		return append(b, "]: "...)
	}
	b = append(b, "1 "...)
	b = now.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, s.host...)
	b = append(b, ' ')
	b = append(b, s.app...)
	b = append(b, ' ')
	b = append(b, s.pid...)
	return append(b, " fim - "...)
}

// Write sends each non-empty line of batch as one message. A stream connection the
// peer has closed is re-established first; a send that fails is retried once on a new
// connection, from the first message not sent (over a stream, the whole batch: a
// collector may then see some messages twice, but none is lost silently).
func (s *syslogSink) Write(batch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("output %s: %w", s.name, net.ErrClosed)
	}
	header := s.appendHeader(nil, time.Now())
	s.lines = s.lines[:0]
	defer clear(s.lines) // keep no reference to the caller's batch
	cut, longest := 0, 0
	for line := range bytes.Lines(batch) {
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		if len(header)+len(line) > s.max {
			cut, longest = cut+1, max(longest, len(line))
			line = cutLine(line, s.max-len(header))
		}
		s.lines = append(s.lines, line)
	}
	if len(s.lines) == 0 {
		return nil
	}
	if cut > 0 {
		s.logf("output %s: %d report line(s) (the longest %d bytes) cut to fit a syslog message of %d bytes and marked%s",
			s.name, cut, longest, s.max, truncated)
	}
	if s.conn != nil && (s.network == "tcp" || s.network == "unix") && !alive(s.conn) {
		s.logf("output %s: the receiver closed the connection; reconnecting", s.name)
		s.disconnect()
	}
	if s.conn == nil {
		if err := s.connect(); err != nil {
			return fmt.Errorf("output %s: %w", s.name, err)
		}
	}
	sent, err := s.send(header, 0)
	if err == nil {
		return nil
	}
	s.disconnect()
	if derr := s.connect(); derr != nil {
		return fmt.Errorf("output %s: %w; reconnecting: %w", s.name, err, derr)
	}
	if _, err2 := s.send(header, sent); err2 != nil {
		s.disconnect()
		return fmt.Errorf("output %s: %w; after reconnecting: %w", s.name, err, err2)
	}
	s.logf("output %s: %v; sent again after reconnecting", s.name, err)
	return nil
}

// Sizes of a syslog message, header included.
const (
	// defaultMaxMessage is the largest message sent unless the spec says otherwise:
	// rsyslog's default maxMessageSize (8096 bytes; syslog-ng's default is larger).
	defaultMaxMessage = 8096
	// minMaxMessage is the smallest limit a spec may set: every receiver accepts 480
	// bytes (RFC 5424 §6.1), and the longest header leaves room there for the marker.
	minMaxMessage = 480
	// maxDatagram is the largest limit a spec may set: what one UDP datagram over IPv4
	// carries (65,507 bytes), less a margin.
	maxDatagram = 65000
)

// truncated ends a line cut to fit a message.
var truncated = []byte(" [truncated by fim]")

// cutLine returns line cut to room bytes, marker included, on a UTF-8 boundary, in a
// new slice (line belongs to the caller's batch).
func cutLine(line []byte, room int) []byte {
	n := max(room-len(truncated), 0)
	for n > 0 && n < len(line) && !utf8.RuneStart(line[n]) {
		n--
	}
	return append(line[:n:n], truncated...)
}

// send writes s.lines[from:] as messages and returns how many of s.lines are sent
// when it fails.
func (s *syslogSink) send(header []byte, from int) (int, error) {
	network := s.network
	if network == "udp" || network == "unixgram" {
		for i := from; i < len(s.lines); i++ {
			s.buf = append(append(s.buf[:0], header...), s.lines[i]...)
			s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
			if _, err := s.conn.Write(s.buf); err != nil {
				return i, err
			}
		}
		return len(s.lines), nil
	}
	s.buf = s.buf[:0]
	for _, line := range s.lines {
		if network == "tcp" {
			s.buf = strconv.AppendInt(s.buf, int64(len(header)+len(line)), 10)
			s.buf = append(s.buf, ' ')
		}
		s.buf = append(s.buf, header...)
		s.buf = append(s.buf, line...)
		if network != "tcp" {
			s.buf = append(s.buf, '\n')
		}
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.conn.Write(s.buf); err != nil {
		return 0, err
	}
	return len(s.lines), nil
}

// alive reports whether the stream connection c is still open. A syslog receiver never
// sends anything, so a socket that reads as end-of-file or fails has been closed or
// reset by the peer, and a write to it could vanish unnoticed in the kernel's buffer.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = n > 0 || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)
		return true
	})
	return err == nil && open
}

// Close closes the connection.
func (s *syslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.disconnect()
}
