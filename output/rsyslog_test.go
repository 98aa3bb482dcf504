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
	"fim/report"
	"fim/walk"
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
		skipf(t, "%s: %v (Debian package rsyslog)", rsyslogd, err)
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
	f := func(path string, size int64) *walk.Entry {
		return &walk.Entry{Path: path, Type: walk.TypeFile, Mode: 0o644, Size: size, Nlink: 1, Mtime: mtime, Ctime: mtime}
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

// TestRsyslog sends a text report and a json report to a real rsyslogd over UDP, TCP
// and its unix socket, and checks that rsyslogd parsed every line into the fields fim
// meant: host, app name, PID, MSGID (the RFC 5424 transports), facility, severity and
// the line itself as the message.
func TestRsyslog(t *testing.T) {
	dir, udpPort, tcpPort := startRsyslog(t)
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

	// rsyslogd is ready when its inputs are: the socket exists, TCP accepts, and a UDP
	// probe comes out.
	deadline := time.Now().Add(10 * time.Second)
	opt := Options{Hostname: "fim-test.example"}
	var udp, tcp Sink
	for udp == nil || tcp == nil {
		if time.Now().After(deadline) {
			t.Fatal("rsyslogd did not come up")
		}
		var err error
		if udp == nil {
			udp, _ = Open("udp://127.0.0.1:"+udpPort+"?facility=local4", opt)
		}
		if tcp == nil {
			if tcp, err = Open("tcp://127.0.0.1:"+tcpPort+"?facility=local5", opt); err != nil {
				tcp = nil
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	defer udp.Close()
	defer tcp.Close()
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
	sock, err := Open("syslog://"+dir+"/log.sock", opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	for _, s := range []Sink{udp, tcp, sock} {
		for _, batch := range [][]byte{text, json} {
			if err := s.Write(batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got map[string][]rsyslogLine
	for {
		got = map[string][]rsyslogLine{}
		for _, l := range readRsyslog(t, dir) {
			if l.msg != "probe" {
				got[l.input] = append(got[l.input], l)
			}
		}
		if len(got["imudp"]) >= len(want) && len(got["imtcp"]) >= len(want) && len(got["imuxsock"]) >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s rsyslogd wrote %d udp, %d tcp, %d unix socket messages; want %d each",
				len(got["imudp"]), len(got["imtcp"]), len(got["imuxsock"]), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}

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
