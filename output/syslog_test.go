package output

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one message a test listener got, and on which connection.
type received struct {
	conn int
	msg  []byte
}

// receiver is a syslog listener on a real socket: it splits what arrives into messages
// by the framing of its network, failing the test on a framing error.
type receiver struct {
	t     *testing.T
	addr  string // host:port, or the socket path
	msgs  chan received
	mu    sync.Mutex
	conns []net.Conn
	close func()
}

// listen starts a receiver: network is udp, tcp, unixgram or unix; for the unix ones
// addr is the socket path.
func listen(t *testing.T, network, addr string) *receiver {
	t.Helper()
	r := &receiver{t: t, msgs: make(chan received, 10000)}
	switch network {
	case "udp", "unixgram":
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		r.addr, r.close = pc.LocalAddr().String(), func() { pc.Close() }
		go func() {
			buf := make([]byte, 1<<16)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				r.msgs <- received{0, bytes.Clone(buf[:n])}
			}
		}()
	case "tcp", "unix":
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		r.addr = l.Addr().String()
		r.close = func() {
			l.Close()
			r.dropConns()
		}
		go func() {
			for i := 0; ; i++ {
				c, err := l.Accept()
				if err != nil {
					return
				}
				r.mu.Lock()
				r.conns = append(r.conns, c)
				r.mu.Unlock()
				if network == "tcp" {
					go r.readOctetCounted(i, c)
				} else {
					go r.readLines(i, c)
				}
			}
		}()
	}
	t.Cleanup(r.close)
	return r
}

// dropConns closes every accepted connection, as a collector that restarts does.
func (r *receiver) dropConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// readOctetCounted splits a stream framed as RFC 6587 octet counting:
// MSG-LEN SP SYSLOG-MSG, MSG-LEN = NONZERO-DIGIT *DIGIT.
func (r *receiver) readOctetCounted(conn int, c net.Conn) {
	br := bufio.NewReader(c)
	for {
		field, err := br.ReadString(' ')
		if err != nil {
			if field != "" || err != io.EOF && !errors.Is(err, net.ErrClosed) {
				r.t.Errorf("connection %d: reading MSG-LEN: %q, %v", conn, field, err)
			}
			return
		}
		digits := strings.TrimSuffix(field, " ")
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 || digits[0] == '0' || strings.ContainsAny(digits, "+-") {
			r.t.Errorf("connection %d: bad MSG-LEN %q", conn, field)
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			r.t.Errorf("connection %d: a message of %d bytes: %v", conn, n, err)
			return
		}
		r.msgs <- received{conn, msg}
	}
}

// readLines splits a stream into newline-terminated messages.
func (r *receiver) readLines(conn int, c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			if len(line) > 0 {
				r.t.Errorf("connection %d: unterminated message %q", conn, line)
			}
			return
		}
		r.msgs <- received{conn, line[:len(line)-1]}
	}
}

// next returns the next n messages, failing the test if they do not come.
func (r *receiver) next(n int) []received {
	r.t.Helper()
	var got []received
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case m := <-r.msgs:
			got = append(got, m)
		case <-timeout:
			r.t.Fatalf("received %d of %d messages", len(got), n)
		}
	}
	select {
	case m := <-r.msgs:
		r.t.Fatalf("an extra message %q", m.msg)
	case <-time.After(20 * time.Millisecond):
	}
	return got
}

// rfc5424 is a message parsed by the grammar of RFC 5424 §6.
type rfc5424 struct {
	pri                               int
	ts                                time.Time
	host, app, procid, msgid, sd, msg string
}

var (
	priRE  = regexp.MustCompile(`^<(0|[1-9][0-9]{0,2})>`)
	timeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$`)
)

// parse5424 parses b strictly: PRI, VERSION 1, the header fields with their character
// set and lengths, structured data that is the NILVALUE, then SP MSG (or nothing).
func parse5424(b []byte) (rfc5424, error) {
	var m rfc5424
	loc := priRE.FindSubmatchIndex(b)
	if loc == nil {
		return m, errors.New("no PRI")
	}
	m.pri, _ = strconv.Atoi(string(b[loc[2]:loc[3]]))
	if m.pri > 191 {
		return m, fmt.Errorf("PRI %d", m.pri)
	}
	rest, ok := bytes.CutPrefix(b[loc[1]:], []byte("1 "))
	if !ok {
		return m, errors.New("VERSION is not 1")
	}
	fields := bytes.SplitN(rest, []byte(" "), 7)
	if len(fields) < 6 {
		return m, fmt.Errorf("%d header fields", len(fields))
	}
	for i, max := range []int{0, 255, 48, 128, 32} {
		f := fields[i]
		if len(f) == 0 || i > 0 && len(f) > max {
			return m, fmt.Errorf("header field %d: %q", i, f)
		}
		for _, c := range f {
			if c < 33 || c > 126 {
				return m, fmt.Errorf("header field %d: %q is not PRINTUSASCII", i, f)
			}
		}
	}
	if ts := string(fields[0]); ts != "-" {
		if !timeRE.MatchString(ts) {
			return m, fmt.Errorf("TIMESTAMP %q", ts)
		}
		var err error
		if m.ts, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return m, err
		}
	}
	m.host, m.app, m.procid, m.msgid, m.sd = string(fields[1]), string(fields[2]), string(fields[3]), string(fields[4]), string(fields[5])
	if m.sd != "-" {
		return m, fmt.Errorf("STRUCTURED-DATA %q", m.sd)
	}
	if len(fields) == 7 {
		m.msg = string(fields[6])
	}
	return m, nil
}

// local is a message in the format syslog(3) writes to the local daemon.
type local struct {
	pri      int
	stamp    string
	tag, pid string
	msg      string
}

var localRE = regexp.MustCompile(`(?s)^<(0|[1-9][0-9]{0,2})>([A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) ([!-9;-Z\\^-~]+)\[([0-9]+)\]: (.*)$`)

// parseLocal parses b as syslog(3) writes to /dev/log: <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG.
func parseLocal(b []byte) (local, error) {
	m := localRE.FindSubmatch(b)
	if m == nil {
		return local{}, fmt.Errorf("not a syslog(3) message: %q", b)
	}
	pri, _ := strconv.Atoi(string(m[1]))
	return local{pri: pri, stamp: string(m[2]), tag: string(m[3]), pid: string(m[4]), msg: string(m[5])}, nil
}

// batchLines is a batch as fim renders them, with what makes syslog framing hard: an
// empty line, non-ASCII text, escapes, a byte that is not UTF-8, spaces at the edges.
var batchLines = []string{
	"fim: 3 changes: 1 create, 1 change, 1 remove",
	"",
	"create  /etc/caf\u00e9.conf",
	`change  /etc/a\nb  content,mtime`,
	"{\"kind\":\"remove\",\"path\":\"/etc/\\u003cx\\u003e\",\"path_b64\":\"L2V0Yy//\"}",
	"raw \xff byte",
	"  indented line with a trailing space ",
}

func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestSyslogNetwork sends a batch to a collector over UDP and TCP: one RFC 5424 message
// per non-empty line, in order, with the facility asked for, severity notice, the
// sanitized hostname, APP-NAME and MSGID fim, our PID, one timestamp for the batch, and
// each line as MSG byte for byte.
func TestSyslogNetwork(t *testing.T) {
	osHost, _ := os.Hostname()
	for _, tc := range []struct {
		network, query string
		hostname       string
		pri            int
		wantHost       string
	}{
		{"udp", "?facility=local3", "web1.example.com", 19*8 + 5, "web1.example.com"},
		{"tcp", "", "web 1\u00e9", 10*8 + 5, "web_1__"},
		{"tcp", "?facility=kern", "", 0*8 + 5, headerField(osHost, 255)},
	} {
		t.Run(tc.network+tc.query, func(t *testing.T) {
			r := listen(t, tc.network, "127.0.0.1:0")
			s, err := Open(tc.network+"://"+r.addr+tc.query, Options{Hostname: tc.hostname})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before := time.Now().Truncate(time.Microsecond)
			if err := s.Write([]byte(strings.Join(batchLines, "\n") + "\n")); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			want := nonEmpty(batchLines)
			got := r.next(len(want))
			var ts time.Time
			for i, g := range got {
				m, err := parse5424(g.msg)
				if err != nil {
					t.Fatalf("message %d %q: %v", i, g.msg, err)
				}
				if m.pri != tc.pri || m.host != tc.wantHost || m.app != "fim" || m.procid != strconv.Itoa(os.Getpid()) || m.msgid != "fim" {
					t.Errorf("message %d: %+v, want PRI %d HOSTNAME %q APP-NAME fim PROCID %d MSGID fim", i, m, tc.pri, tc.wantHost, os.Getpid())
				}
				if m.msg != want[i] {
					t.Errorf("message %d: MSG %q, want %q", i, m.msg, want[i])
				}
				if m.ts.Before(before) || m.ts.After(after) || i > 0 && !m.ts.Equal(ts) {
					t.Errorf("message %d: TIMESTAMP %v, want one time within [%v, %v]", i, m.ts, before, after)
				}
				ts = m.ts
			}
			if err := s.Write([]byte("\n\n")); err != nil {
				t.Fatal(err)
			}
			r.next(0) // nothing for a batch of empty lines
		})
	}
}

// TestSyslogUnix sends a batch to a daemon on a unix socket, datagram and stream: each
// line is one message in the format syslog(3) writes there.
func TestSyslogUnix(t *testing.T) {
	for _, network := range []string{"unixgram", "unix"} {
		t.Run(network, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "log.sock")
			r := listen(t, network, sock)
			s, err := Open("syslog://"+sock+"?facility=local0", Options{Hostname: "ignored", AppName: "fim-test"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before := time.Now()
			if err := s.Write([]byte(strings.Join(batchLines, "\n"))); err != nil { // no final newline
				t.Fatal(err)
			}
			after := time.Now()
			want := nonEmpty(batchLines)
			for i, g := range r.next(len(want)) {
				m, err := parseLocal(g.msg)
				if err != nil {
					t.Fatal(err)
				}
				if m.pri != 16*8+5 || m.tag != "fim-test" || m.pid != strconv.Itoa(os.Getpid()) || m.msg != want[i] {
					t.Errorf("message %d: %+v, want PRI %d tag fim-test pid %d MSG %q", i, m, 16*8+5, os.Getpid(), want[i])
				}
				if m.stamp != before.Format(time.Stamp) && m.stamp != after.Format(time.Stamp) {
					t.Errorf("message %d: timestamp %q, want %q", i, m.stamp, before.Format(time.Stamp))
				}
			}
		})
	}
}

// TestSyslogReconnect restarts the receiver between two batches, as a daemon restart
// or a collector dropping idle connections does: the second batch still arrives, over a
// new connection, whole.
func TestSyslogReconnect(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		r := listen(t, "tcp", "127.0.0.1:0")
		var logs []string
		s, err := Open("tcp://"+r.addr, Options{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Write([]byte("one\n")); err != nil {
			t.Fatal(err)
		}
		if got := r.next(1); got[0].conn != 0 {
			t.Fatalf("first message on connection %d", got[0].conn)
		}
		r.dropConns()
		var big strings.Builder
		for i := range 500 {
			fmt.Fprintf(&big, "line %d %s\n", i, strings.Repeat("x", i))
		}
		if err := s.Write([]byte(big.String())); err != nil {
			t.Fatal(err)
		}
		got := r.next(500)
		for i, g := range got {
			m, err := parse5424(g.msg)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i)); g.conn != 1 || m.msg != want {
				t.Fatalf("message %d on connection %d: %q, want %q on connection 1", i, g.conn, m.msg, want)
			}
		}
		if len(logs) != 1 || !strings.Contains(logs[0], "closed the connection; reconnecting") {
			t.Errorf("logs %q, want one reconnection", logs)
		}
	})
	t.Run("unixgram", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "log.sock")
		r := listen(t, "unixgram", sock)
		var logs []string
		s, err := Open("syslog://"+sock, Options{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Write([]byte("one\n")); err != nil {
			t.Fatal(err)
		}
		r.next(1)
		r.close()
		os.Remove(sock)
		r = listen(t, "unixgram", sock)
		if err := s.Write([]byte("two\nthree\n")); err != nil {
			t.Fatal(err)
		}
		for i, g := range r.next(2) {
			if m, err := parseLocal(g.msg); err != nil || m.msg != []string{"two", "three"}[i] {
				t.Errorf("message %d: %q %v", i, g.msg, err)
			}
		}
		if len(logs) != 1 || !strings.Contains(logs[0], "sent again after reconnecting") {
			t.Errorf("logs %q, want one reconnection", logs)
		}
	})
	t.Run("gone", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "log.sock")
		r := listen(t, "unixgram", sock)
		s, err := Open("syslog://"+sock, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r.close()
		os.Remove(sock)
		err = s.Write([]byte("lost?\n"))
		if err == nil || !strings.Contains(err.Error(), "output syslog://"+sock) || !strings.Contains(err.Error(), "reconnecting") {
			t.Errorf("Write to a daemon that is gone = %v, want an error naming the socket", err)
		}
	})
}

// TestSyslogLocal finds the local daemon at the first of the usual sockets that
// accepts, and names them all when none does.
func TestSyslogLocal(t *testing.T) {
	dir := t.TempDir()
	saved := localSockets
	defer func() { localSockets = saved }()
	localSockets = []string{filepath.Join(dir, "missing"), filepath.Join(dir, "stream"), filepath.Join(dir, "dgram")}
	r := listen(t, "unix", localSockets[1])
	listen(t, "unixgram", localSockets[2])
	s, err := Open("syslog?facility=auth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if m, err := parseLocal(r.next(1)[0].msg); err != nil || m.pri != 4*8+5 || m.tag != "fim" || m.msg != "hello" {
		t.Errorf("got %+v, %v", m, err)
	}

	localSockets = []string{filepath.Join(dir, "missing"), filepath.Join(dir, "also-missing")}
	_, err = Open("syslog", Options{})
	if err == nil || !strings.Contains(err.Error(), "no local syslog daemon at "+localSockets[0]+", "+localSockets[1]) {
		t.Errorf("Open(syslog) with no daemon = %v, want an error naming where it looked", err)
	}
}

// TestHeaderField: RFC 5424 header fields are printable US-ASCII of bounded length, or
// the NILVALUE.
func TestHeaderField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 255, "-"},
		{"web1.example.com", 255, "web1.example.com"},
		{"a b\tc\x7f\u00e9", 255, "a_b_c___"},
		{strings.Repeat("h", 300), 255, strings.Repeat("h", 255)},
		{"abcdef", 3, "abc"},
	} {
		if got := headerField(tc.in, tc.max); got != tc.want {
			t.Errorf("headerField(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestAppNameChecked refuses an APP-NAME that RFC 5424 or a syslog(3) tag cannot carry.
func TestAppNameChecked(t *testing.T) {
	r := listen(t, "udp", "127.0.0.1:0")
	for _, name := range []string{"fim:x", "fim[1]", "f m", "caf\u00e9", strings.Repeat("a", 49)} {
		s, err := Open("udp://"+r.addr, Options{AppName: name})
		if err == nil {
			s.Close()
			t.Errorf("AppName %q: no error", name)
		} else if !strings.Contains(err.Error(), "syslog app name") {
			t.Errorf("AppName %q: %v", name, err)
		}
	}
	s, err := Open("udp://"+r.addr, Options{AppName: strings.Repeat("a", 48)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestSyslogOversizedLine: a report line longer than a syslog message is sent cut to
// the limit and marked, the lines after it still arrive, and the cut is told to Logf.
func TestSyslogOversizedLine(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var logged []string
	logf := func(f string, args ...any) { logged = append(logged, fmt.Sprintf(f, args...)) }
	s, err := Open("udp://"+pc.LocalAddr().String()+"?max=1000", Options{Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A line that ends in a 3-byte rune across the limit is cut before the rune.
	long := strings.Repeat("x", 70000)
	header := s.(*syslogSink).appendHeader(nil, time.Now())
	room := 1000 - len(header) - len(truncated)
	long = long[:room-1] + "€" + long[room+2:]
	if err := s.Write([]byte("first\n" + long + "\nthird\n")); err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 1<<17)
	for len(got) < 3 {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		got = append(got, string(buf[:n]))
	}
	if !strings.HasSuffix(got[0], " first") || !strings.HasSuffix(got[2], " third") {
		t.Errorf("first and third messages: %q, %q", got[0], got[2])
	}
	if len(got[1]) != 1000-1 || !strings.HasSuffix(got[1], "xxx [truncated by fim]") {
		t.Errorf("oversized message: %d bytes ending %q, want 999 ending xxx [truncated by fim]",
			len(got[1]), got[1][max(0, len(got[1])-30):])
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "1 report line(s) (the longest 70000 bytes) cut to fit a syslog message of 1000 bytes") {
		t.Errorf("told %q, want one line about the cut", logged)
	}
}
