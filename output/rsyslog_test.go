package output

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/report"
	"fim/tree"
)

const rsyslogd = "/usr/sbin/rsyslogd"

// rsyslogConf is a configuration for an rsyslogd of the test's own: everything in dir,
// no system log socket (SysSock.Use="off" keeps it off /dev/log) and no kernel log; each
// message is written as its parsed fields, separated by '|'. The imuxsock input keeps
// its defaults, as on a stock system, where its special parser reads the syslog(3)
// format.
const rsyslogConf = `global(workDirectory="DIR")
module(load="imuxsock" SysSock.Use="off")
module(load="imudp")
module(load="imtcp")
input(type="imuxsock" Socket="DIR/log.sock")
input(type="imudp" address="127.0.0.1" port="UDPPORT")
input(type="imtcp" address="127.0.0.1" port="TCPPORT")
template(name="fields" type="string"
         string="%inputname%|%HOSTNAME%|%APP-NAME%|%PROCID%|%MSGID%|%syslogfacility-text%|%syslogseverity-text%|%msg%\n")
if $inputname != "rsyslogd" then {
  action(type="omfile" file="DIR/out.log" template="fields")
}
`

// freePort returns a port on 127.0.0.1 that nothing listens on at the moment.
func freePort(t *testing.T, network string) string {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// startRsyslog runs rsyslogd in the foreground with rsyslogConf, killed at the end of
// the test, and returns its directory and ports.
func startRsyslog(t *testing.T) (dir, udpPort, tcpPort string) {
	if _, err := os.Stat(rsyslogd); err != nil {
		fstest.Skipf(t, "%s: %v (Debian package rsyslog)", rsyslogd, err)
	}
	dir = t.TempDir()
	udpPort, tcpPort = freePort(t, "udp"), freePort(t, "tcp")
	conf := strings.NewReplacer("DIR", dir, "UDPPORT", udpPort, "TCPPORT", tcpPort).Replace(rsyslogConf)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "rsyslogd.out"))
			t.Logf("rsyslogd said:\n%s", out)
		}
	})
	return dir, udpPort, tcpPort
}

// rsyslogLine is one message as rsyslogd parsed and wrote it.
type rsyslogLine struct {
	input, host, app, procid, msgid, facility, severity, msg string
}

// readRsyslog returns the messages rsyslogd has written so far.
func readRsyslog(t *testing.T, dir string) []rsyslogLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "out.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []rsyslogLine
	for line := range bytes.Lines(b) {
		f := strings.SplitN(strings.TrimSuffix(string(line), "\n"), "|", 8)
		if len(f) != 8 {
			t.Fatalf("rsyslogd wrote %q", line)
		}
		out = append(out, rsyslogLine{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]})
	}
	return out
}

// reports renders events as fim check does, in text and json: what the sinks carry.
func reports(t *testing.T) (text, json []byte) {
	mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	f := func(path string, size int64) *tree.Entry {
		return &tree.Entry{Path: path, Type: tree.TypeFile, Mode: 0o644, Size: size, Nlink: 1, Mtime: mtime, Ctime: mtime}
	}
	events := []diff.Event{
		{Kind: diff.Create, Path: "/etc/caf\u00e9.conf", After: f("/etc/caf\u00e9.conf", 12)},
		{Kind: diff.Change, Path: "/etc/passwd", Changed: diff.AttrSet(0).With(diff.AttrSize), Before: f("/etc/passwd", 10), After: f("/etc/passwd", 20)},
		{Kind: diff.Remove, Path: "/etc/a\nb", Before: f("/etc/a\nb", 1)},
	}
	info := report.Info{Time: time.Date(2024, 5, 1, 14, 30, 0, 0, time.UTC), Host: report.Host{Name: "web1"}}
	var tb, jb bytes.Buffer
	if err := report.Text(&tb, events, info); err != nil {
		t.Fatal(err)
	}
	if err := report.JSON(&jb, events, info); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), jb.Bytes()
}

// openRsyslog starts rsyslogd and returns its directory and, once rsyslogd takes
// messages, a sink to each of its inputs by input name (imudp, imtcp, imuxsock), opened
// with opt and the query of that input in queries ("" for none).
func openRsyslog(t *testing.T, queries map[string]string, opt Options) (string, map[string]Sink) {
	dir, udpPort, tcpPort := startRsyslog(t)
	query := func(input string) string {
		if q := queries[input]; q != "" {
			return "?" + q
		}
		return ""
	}
	// rsyslogd is ready when its inputs are: the socket exists, TCP accepts, and a UDP
	// probe comes out.
	deadline := time.Now().Add(10 * time.Second)
	var udp, tcp Sink
	for udp == nil || tcp == nil {
		if time.Now().After(deadline) {
			t.Fatal("rsyslogd did not come up")
		}
		var err error
		if udp == nil {
			udp, _ = Open("udp://127.0.0.1:"+udpPort+query("imudp"), opt)
		}
		if tcp == nil {
			if tcp, err = Open("tcp://127.0.0.1:"+tcpPort+query("imtcp"), opt); err != nil {
				tcp = nil
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	probed := func() bool {
		for _, l := range readRsyslog(t, dir) {
			if l.msg == "probe" {
				return true
			}
		}
		return false
	}
	for !probed() {
		if time.Now().After(deadline) {
			t.Fatal("rsyslogd never wrote the UDP probe")
		}
		if err := udp.Write([]byte("probe\n")); err != nil {
			t.Logf("probe: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sock, err := Open("syslog://"+dir+"/log.sock"+query("imuxsock"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	return dir, map[string]Sink{"imudp": udp, "imtcp": tcp, "imuxsock": sock}
}

// untilEnd sends the line "end" through each sink and returns, by input, every message
// rsyslogd wrote before it, the probe left out. Each input keeps the order of its
// messages, so nothing sent before the end is still on its way.
func untilEnd(t *testing.T, dir string, sinks map[string]Sink) map[string][]rsyslogLine {
	t.Helper()
	for _, s := range sinks {
		if err := s.Write([]byte("end\n")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ended := map[string][]rsyslogLine{}, map[string]bool{}
		for _, l := range readRsyslog(t, dir) {
			switch strings.TrimPrefix(l.msg, " ") {
			case "probe":
			case "end":
				ended[l.input] = true
			default:
				if !ended[l.input] {
					got[l.input] = append(got[l.input], l)
				}
			}
		}
		if len(ended) == len(sinks) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s rsyslogd has written the end of only %v", ended)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRsyslog sends a text report and a json report to a real rsyslogd over UDP, TCP
// and its unix socket, and checks that rsyslogd parsed every line into the fields fim
// meant: host, app name, PID, MSGID (the RFC 5424 transports), facility, severity and
// the line itself as the message.
func TestRsyslog(t *testing.T) {
	text, json := reports(t)
	var want []string
	for _, b := range [][]byte{text, json} {
		for line := range bytes.Lines(b) {
			want = append(want, strings.TrimSuffix(string(line), "\n"))
		}
	}
	if len(want) != 7 || !strings.Contains(string(text), `/etc/a\nb`) {
		t.Fatalf("unexpected reports:\n%s%s", text, json)
	}
	dir, sinks := openRsyslog(t, map[string]string{"imudp": "facility=local4", "imtcp": "facility=local5"},
		Options{Hostname: "fim-test.example"})
	for _, input := range []string{"imudp", "imtcp", "imuxsock"} {
		for _, batch := range [][]byte{text, json} {
			if err := sinks[input].Write(batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := untilEnd(t, dir, sinks)

	pid := strconv.Itoa(os.Getpid())
	// On its unix socket rsyslogd names the host itself (its short host name), has no
	// MSGID, and keeps the space that follows "tag[pid]:" in the message, as it does
	// for every message in that format.
	localHost, _ := os.Hostname()
	localHost, _, _ = strings.Cut(localHost, ".")
	for _, tc := range []struct {
		input                            string
		host, msgid, facility, msgPrefix string
	}{
		{"imudp", "fim-test.example", "fim", "local4", ""},
		{"imtcp", "fim-test.example", "fim", "local5", ""},
		{"imuxsock", localHost, "-", "authpriv", " "},
	} {
		lines := got[tc.input]
		if len(lines) != len(want) {
			t.Errorf("%s: %d messages, want %d", tc.input, len(lines), len(want))
			continue
		}
		for i, l := range lines {
			w := rsyslogLine{tc.input, tc.host, "fim", pid, tc.msgid, tc.facility, "notice", tc.msgPrefix + want[i]}
			if l != w {
				t.Errorf("%s message %d:\n got %+v\nwant %+v", tc.input, i, l, w)
			}
		}
	}
}

// forged is what a hostile file name carries to pose as a second syslog message.
const forged = "<38>1 2024-05-01T14:30:00Z web1 sshd 4242 - - Accepted password for root from 203.0.113.9"

// TestRsyslogLongLine: a report line longer than rsyslogd's message size reaches it as
// one message, cut and marked, over UDP, TCP and the unix socket; a file name that puts
// a syslog header exactly where rsyslogd would cut the message cannot make it read a
// second message (over TCP it did: rsyslogd parses the rest of an oversized frame as a
// message of its own). A message of exactly the limit arrives whole.
func TestRsyslogLongLine(t *testing.T) {
	dir, sinks := openRsyslog(t, nil, Options{Hostname: "fim-test.example"})
	want := map[string][]string{}
	for input, s := range sinks {
		header := s.(*syslogSink).appendHeader(nil, time.Now())
		room := defaultMaxMessage - len(header)
		// The name pads the line so that the forged header starts at the limit.
		line := func(pad int) string {
			mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano()
			name := "/tmp/" + strings.Repeat("a", pad) + forged
			ev := diff.Event{Kind: diff.Create, Path: name,
				After: &tree.Entry{Path: name, Type: tree.TypeFile, Mode: 0o644, Nlink: 1, Mtime: mtime, Ctime: mtime}}
			var b bytes.Buffer
			if err := report.Text(&b, []diff.Event{ev}, report.Info{Stream: true}); err != nil {
				t.Fatal(err)
			}
			return strings.TrimSuffix(b.String(), "\n")
		}
		hostile := line(room - strings.Index(line(0), "<38>"))
		if strings.Index(hostile, "<38>") != room {
			t.Fatalf("%s: the forged header is at %d of the line, want %d", input, strings.Index(hostile, "<38>"), room)
		}
		exact, over := strings.Repeat("e", room), strings.Repeat("o", room+1)
		if err := s.Write([]byte(hostile + "\n" + exact + "\n" + over + "\n")); err != nil {
			t.Fatal(err)
		}
		want[input] = []string{
			hostile[:room-len(truncated)] + string(truncated),
			exact,
			over[:room-len(truncated)] + string(truncated),
		}
	}
	got := untilEnd(t, dir, sinks)
	for input, w := range want {
		var msgs []string
		for _, l := range got[input] {
			if l.app != "fim" {
				t.Errorf("%s: a message from %q: %.100q", input, l.app, l.msg)
			}
			msgs = append(msgs, strings.TrimPrefix(l.msg, " "))
		}
		if len(msgs) != len(w) {
			t.Errorf("%s: %d messages, want %d", input, len(msgs), len(w))
			continue
		}
		for i := range w {
			if msgs[i] != w[i] {
				t.Errorf("%s message %d: %d bytes ending %q, want %d bytes ending %q", input, i,
					len(msgs[i]), msgs[i][max(0, len(msgs[i])-40):], len(w[i]), w[i][max(0, len(w[i])-40):])
			}
		}
	}
}

// TestRsyslogControlBytes: names holding a newline, carriage return, NUL, escape, C1
// control, line separator or bytes that are not UTF-8, some followed by a forged
// header, give one message per event at rsyslogd in every format syslog takes, over
// every transport, and each message is the report line unchanged.
func TestRsyslogControlBytes(t *testing.T) {
	mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	var events []diff.Event
	for _, name := range []string{"a\nb", "a\rb", "a\r\n" + forged, "a\x00b", "a\x1b[2Jb", "a\u0085b", "a\x85b",
		"a\u2028b", "a\u2029" + forged, "a\xffb", "a\tb\vc\fd", "a\x7fb", "a\n\n\n" + forged} {
		path := "/etc/" + name
		events = append(events, diff.Event{Kind: diff.Create, Path: path,
			After: &tree.Entry{Path: path, Type: tree.TypeFile, Mode: 0o644, Nlink: 1, Mtime: mtime, Ctime: mtime}})
	}
	var formats []report.Format
	for _, f := range report.Formats {
		if !f.Document {
			formats = append(formats, f)
		}
	}
	var want []string
	var batches [][]byte
	for _, f := range formats {
		var b bytes.Buffer
		if err := f.Render(&b, events, report.Info{Stream: true, Host: report.Host{Name: "web1"}}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != len(events) {
			t.Fatalf("%s: %d lines for %d events:\n%s", f.Name, len(lines), len(events), b.Bytes())
		}
		for _, l := range lines {
			if i := strings.IndexFunc(l, func(r rune) bool { return r < 0x20 }); i >= 0 {
				t.Errorf("%s: control byte %#x in %q", f.Name, l[i], l)
			}
		}
		want = append(want, lines...)
		batches = append(batches, b.Bytes())
	}
	dir, sinks := openRsyslog(t, nil, Options{Hostname: "fim-test.example"})
	for _, s := range sinks {
		for _, b := range batches {
			if err := s.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := untilEnd(t, dir, sinks)
	for input := range sinks {
		if len(got[input]) != len(want) {
			t.Errorf("%s: %d messages, want %d", input, len(got[input]), len(want))
			continue
		}
		for i, l := range got[input] {
			if l.app != "fim" || strings.TrimPrefix(l.msg, " ") != want[i] {
				t.Errorf("%s message %d from %q: %q, want %q", input, i, l.app, l.msg, want[i])
			}
		}
	}
}
