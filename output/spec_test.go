package output

import (
	"strings"
	"testing"
)

// TestParseSpec covers every accepted form of --output and the mistakes a user makes,
// each of which must name the spec and what is wrong with it.
func TestParseSpec(t *testing.T) {
	ok := []struct {
		spec string
		want target // url compared as a string
		url  string
	}{
		{"", target{kind: kindStdout}, ""},
		{"-", target{kind: kindStdout}, ""},
		{"/var/log/fim.log", target{kind: kindFile, path: "/var/log/fim.log"}, ""},
		{"report.txt", target{kind: kindFile, path: "report.txt"}, ""},
		{"file:syslog", target{kind: kindFile, path: "syslog"}, ""},
		{"file:/a/b", target{kind: kindFile, path: "/a/b"}, ""},
		{"file:///a/b", target{kind: kindFile, path: "///a/b"}, ""},
		{"file:http://x", target{kind: kindFile, path: "http://x"}, ""},
		{"a:b", target{kind: kindFile, path: "a:b"}, ""},
		{"syslog", target{kind: kindSyslogLocal, facility: 10, max: 8096}, ""},
		{"syslog?facility=local0", target{kind: kindSyslogLocal, facility: 16, max: 8096}, ""},
		{"syslog?facility=AUTH", target{kind: kindSyslogLocal, facility: 4, max: 8096}, ""},
		{"syslog:///run/fim/log.sock", target{kind: kindSyslogUnix, path: "/run/fim/log.sock", facility: 10, max: 8096}, ""},
		{"syslog:///dev/log?facility=daemon", target{kind: kindSyslogUnix, path: "/dev/log", facility: 3, max: 8096}, ""},
		{"udp://10.0.0.1:514", target{kind: kindSyslogUDP, addr: "10.0.0.1:514", facility: 10, max: 8096}, ""},
		{"UDP://logs.example:514/?facility=local7", target{kind: kindSyslogUDP, addr: "logs.example:514", facility: 23, max: 8096}, ""},
		{"tcp://[::1]:6514?facility=kern", target{kind: kindSyslogTCP, addr: "[::1]:6514", facility: 0, max: 8096}, ""},
		{"tcp://[::1]:6514?max=65000", target{kind: kindSyslogTCP, addr: "[::1]:6514", facility: 10, max: 65000}, ""},
		{"udp://h:514?facility=local1&max=480", target{kind: kindSyslogUDP, addr: "h:514", facility: 17, max: 480}, ""},
		{"syslog?max=2048", target{kind: kindSyslogLocal, facility: 10, max: 2048}, ""},
		{"http://collector:8080/fim", target{kind: kindHTTP}, "http://collector:8080/fim"},
		{"https://u:p@collector/in?tag=fim", target{kind: kindHTTP}, "https://u:p@collector/in?tag=fim"},
	}
	for _, tc := range ok {
		got, err := parseSpec(tc.spec)
		if err != nil {
			t.Errorf("parseSpec(%q): %v", tc.spec, err)
			continue
		}
		gotURL := ""
		if got.url != nil {
			gotURL = got.url.String()
			got.url = nil
		}
		if got != tc.want || gotURL != tc.url {
			t.Errorf("parseSpec(%q) = %+v %q, want %+v %q", tc.spec, got, gotURL, tc.want, tc.url)
		}
	}

	bad := []struct{ spec, why string }{
		{"file:", "no file name"},
		{"file://host/x", "names no host"},
		{"ftp://x/y", "unknown scheme ftp"},
		{"syslog://host/dev/log", "want syslog:///"},
		{"syslog:///dev/log?facility=nope", `unknown facility "nope"`},
		{"syslog?level=info", `unknown parameter "level"`},
		{"syslog?facility=local0&facility=local1", "facility given 2 times"},
		{"syslog?facility=%zz", "bad query"},
		{"tcp://h:514?max=479", "max=479: want a message size in bytes from 480 to 65000"},
		{"udp://h:514?max=65001", "max=65001"},
		{"syslog?max=8k", "max=8k"},
		{"syslog?max=1&max=2", "max given 2 times"},
		{"udp://host", "want udp://HOST:PORT"},
		{"udp://:514", "want udp://HOST:PORT"},
		{"tcp://host:514/path", "no path"},
		{"tcp://u@host:514", "user information"},
		{"http://", "want http://HOST/PATH"},
		{"https://host/#frag", "fragment"},
		{"http://[::1", "missing ']'"},
	}
	for _, tc := range bad {
		_, err := parseSpec(tc.spec)
		if err == nil {
			t.Errorf("parseSpec(%q): no error, want one saying %q", tc.spec, tc.why)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.why) || !strings.Contains(msg, tc.spec) {
			t.Errorf("parseSpec(%q) error %q: want it to name the spec and say %q", tc.spec, msg, tc.why)
		}
		if form := !strings.Contains(tc.spec, "?"); form != strings.Contains(msg, "accepted: FILE, file:FILE") {
			t.Errorf("parseSpec(%q) error %q: the accepted forms belong to errors of form, not of the query", tc.spec, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("parseSpec(%q) error spans lines: %q", tc.spec, msg)
		}
	}
}

// FuzzParseSpec feeds arbitrary specs to the parser: it must never panic, and what it
// accepts must be a consistent target.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"", "-", "out.log", "file:x", "file:///x", "syslog", "syslog?facility=local3",
		"syslog:///dev/log?facility=authpriv", "udp://127.0.0.1:514", "tcp://[::1]:514?facility=user",
		"http://h/p", "https://u:p@h:1/p?q#f", "gopher://x", "syslog://%", "udp://h:1/?facility=a&b", "tcp://h:1?max=4096", "syslog?max=-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		tg, err := parseSpec(spec)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(spec, "\n") {
				t.Fatalf("parseSpec(%q): error spans lines: %v", spec, err)
			}
			return
		}
		switch tg.kind {
		case kindStdout:
		case kindFile:
			if tg.path == "" {
				t.Fatalf("parseSpec(%q): a file with no name", spec)
			}
		case kindSyslogLocal, kindSyslogUnix, kindSyslogUDP, kindSyslogTCP:
			if tg.facility < 0 || tg.facility > 23 {
				t.Fatalf("parseSpec(%q): facility %d", spec, tg.facility)
			}
			if tg.max < minMaxMessage || tg.max > maxDatagram {
				t.Fatalf("parseSpec(%q): max %d", spec, tg.max)
			}
			if tg.kind == kindSyslogUnix && !strings.HasPrefix(tg.path, "/") {
				t.Fatalf("parseSpec(%q): socket path %q is not absolute", spec, tg.path)
			}
			if (tg.kind == kindSyslogUDP || tg.kind == kindSyslogTCP) && tg.addr == "" {
				t.Fatalf("parseSpec(%q): no address", spec)
			}
		case kindHTTP:
			if tg.url == nil || tg.url.Host == "" {
				t.Fatalf("parseSpec(%q): http target without a host", spec)
			}
		default:
			t.Fatalf("parseSpec(%q): kind %d", spec, tg.kind)
		}
	})
}

// TestSpecCarries checks what a parsed spec says it can carry, which decides whether a
// whole-document format may go there and whether the HTTP flags apply: a file whose
// name starts like a syslog or URL form is a file.
func TestSpecCarries(t *testing.T) {
	for _, tc := range []struct {
		spec                 string
		stdout, lines, isURL bool
	}{
		{"", true, false, false},
		{"-", true, false, false},
		{"syslog-report2.xml", false, false, false},
		{"syslog-report.xml", false, false, false},
		{"tcp-report.xml", false, false, false},
		{"syslogs", false, false, false},
		{"http-out.json", false, false, false},
		{"file:syslog", false, false, false},
		{"syslog", false, true, false},
		{"syslog?facility=local0", false, true, false},
		{"syslog:///dev/log", false, true, false},
		{"udp://127.0.0.1:514", false, true, false},
		{"tcp://[::1]:6514", false, true, false},
		{"http://collector/in", false, false, true},
		{"https://collector/in", false, false, true},
	} {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if s.Stdout() != tc.stdout || s.Lines() != tc.lines || s.HTTP() != tc.isURL {
			t.Errorf("Parse(%q): Stdout %v, Lines %v, HTTP %v; want %v, %v, %v",
				tc.spec, s.Stdout(), s.Lines(), s.HTTP(), tc.stdout, tc.lines, tc.isURL)
		}
	}
}
