package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse does not panic, that its errors are one line naming the
// file, and that whatever it accepts compiles, also after the JSON round trip through
// the baseline. Seeds: testdata/*.yaml, the cases below and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("paths:\n  - path: /etc\n    events: [create, chmod]\n    ignore: [mtime]\n"))
	f.Add([]byte("exclude: [\"**/*.swp\", \"/proc/**\"]\npaths:\n  - {path: /, max_file_size: 1GiB}\n  - {path: /etc/ssh, max_depth: 1}\n"))
	f.Add([]byte("paths:\n  - path: &p /etc\n  - path: *p\n"))
	f.Add([]byte("paths:\n  - {path: /var/log, growing: true}\n  - {path: /var/log/x, growing: no}\n"))
	f.Add([]byte("severity:\n  - {name: setuid-gained, level: off}\n  - {name: x, paths: [/srv/**], gained: [executable], verdicts: [tampered], max: low}\npaths:\n  - path: /\n"))
	f.Add([]byte("root: /mnt\nmax_entries: 5\ncross_mounts: true\npaths:\n- path: /a/../b/\n  include_hidden: false\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		c, err := Parse(name, data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, name+":") || strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
			return
		}
		p := c.Policy()
		if _, err := p.Compile(); err != nil {
			t.Fatalf("Parse accepted a policy that does not compile: %v\n%+v", err, p)
		}
		stored, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Policy
		if err := json.Unmarshal(stored, &q); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, &q) {
			t.Fatalf("JSON round trip changed the policy:\n got  %+v\n want %+v", &q, p)
		}
	})
}

// FuzzParseSize checks that ParseSize does not panic, never returns a negative size,
// and that a size it returns reads back as itself.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "1234", "64KiB", "64MB", "1g", "2TiB", "8388608TiB", "-1", "12QB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is more than one line: %q", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if m, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || m != n {
			t.Fatalf("ParseSize(%q) = %d, but %d reads back as %d, %v", s, n, n, m, err)
		}
	})
}

// FuzzParseRate checks that ParseRate does not panic, errs in one line, never returns
// a negative rate, and that a rate it returns reads back as itself from its String.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "50MB/s", "50M", "1GiB/s", "/s", "12QB/s", "-1/s", "5/s/s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is more than one line: %q", err)
			}
			return
		}
		if r < 0 {
			t.Fatalf("ParseRate(%q) = %d", s, r)
		}
		if r == 0 {
			return // String is "": no limit
		}
		if back, err := ParseRate(r.String()); err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %d, but %q reads back as %d, %v", s, r, r.String(), back, err)
		}
	})
}
