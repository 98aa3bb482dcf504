package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fim/baseline"
	"fim/config"
	"fim/diff"
)

// TestLoadSigner: no file is no key; a key fim keygen wrote is read; anything else is
// an OptionError naming --sign.
func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	if key, err := LoadSigner(""); key != nil || err != nil {
		t.Errorf("no file: %v, %v", key, err)
	}
	pub, err := baseline.GenerateKey(filepath.Join(dir, "k"))
	must(t, err)
	key, err := LoadSigner(filepath.Join(dir, "k"))
	must(t, err)
	if !pub.Equal(key.Public()) {
		t.Error("the key read is not the one written")
	}
	_, err = LoadSigner(filepath.Join(dir, "k.pub"))
	if !errors.As(err, new(*OptionError)) || !strings.HasPrefix(err.Error(), "--sign: ") {
		t.Errorf("a public key: %v, want an OptionError of --sign", err)
	}
}

// TestUpdateSigner: a key is for the baseline an update writes: without the update it
// is refused, before it is read; with it, or with no key, it is LoadSigner.
func TestUpdateSigner(t *testing.T) {
	dir := t.TempDir()
	pub, err := baseline.GenerateKey(filepath.Join(dir, "k"))
	must(t, err)
	for _, file := range []string{filepath.Join(dir, "k"), filepath.Join(dir, "none")} {
		_, err := UpdateSigner(file, false)
		if !errors.As(err, new(*OptionError)) || err.Error() != "--sign goes with --update (it signs the updated baseline)" {
			t.Errorf("%s without an update: %v, want the OptionError of --sign without --update", file, err)
		}
	}
	key, err := UpdateSigner(filepath.Join(dir, "k"), true)
	if err != nil || !pub.Equal(key.Public()) {
		t.Errorf("with an update: %v, %v; want the key written", key, err)
	}
	for _, update := range []bool{false, true} {
		if key, err := UpdateSigner("", update); key != nil || err != nil {
			t.Errorf("no file, update %v: %v, %v", update, key, err)
		}
	}
	if _, err := UpdateSigner(filepath.Join(dir, "none"), true); !errors.As(err, new(*OptionError)) || !strings.HasPrefix(err.Error(), "--sign: ") {
		t.Errorf("no such key, with an update: %v, want the OptionError of --sign", err)
	}
}

// TestParseIgnore: the lists of every --ignore, comma-separated, together; an unknown
// attribute is an OptionError naming --ignore.
func TestParseIgnore(t *testing.T) {
	got, err := ParseIgnore([]string{"mtime,ctime", "inode"})
	must(t, err)
	want, err := diff.ParseAttrs([]string{"mtime", "ctime", "inode"})
	must(t, err)
	if got != want || got == 0 {
		t.Errorf("ignore %v, want %v", got, want)
	}
	if got, err := ParseIgnore(nil); got != 0 || err != nil {
		t.Errorf("none: %v, %v", got, err)
	}
	if _, err := ParseIgnore([]string{"mtime,colour"}); !errors.As(err, new(*OptionError)) || !strings.HasPrefix(err.Error(), "--ignore: ") {
		t.Errorf("an unknown attribute: %v", err)
	}
}

// TestSeverityTable: only a configuration with severity rules has a table of its own.
func TestSeverityTable(t *testing.T) {
	for _, tt := range []struct {
		yaml  string
		table bool
	}{
		{"", false},
		{"paths:\n  - path: /etc\n", false},
		{"severity:\n  - name: x\n    level: high\n    paths: [/etc/**]\npaths:\n  - path: /etc\n", true},
	} {
		var cfg *config.Config
		if tt.yaml != "" {
			var err error
			cfg, err = config.Parse("fim.yaml", []byte(tt.yaml))
			must(t, err)
		}
		table, err := SeverityTable(cfg)
		if err != nil || (table != nil) != tt.table {
			t.Errorf("%q: table %v, %v, want one: %v", tt.yaml, table, err, tt.table)
		}
	}
}

// TestImageOpen: an image is read from standard input, a file or a pipe; a directory
// or a device is an OptionError naming the flag.
func TestImageOpen(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "image.tar"), "tar")
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	go func() { // the writer of the pipe, as <(docker export …) is
		if f, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0); err == nil {
			f.WriteString("piped")
			f.Close()
		}
	}()
	for _, tt := range []struct {
		im   Image
		want string // the content, or the error
	}{
		{Image{Name: filepath.Join(dir, "image.tar")}, "tar"},
		{Image{Name: filepath.Join(dir, "fifo")}, "piped"},
		{Image{Name: dir}, "--from-tar: open " + dir + ": not a regular file"},
		{Image{Name: "/dev/null", Mtree: true}, "--from-mtree: open /dev/null: not a regular file"},
	} {
		done, err := tt.im.Open()
		if err != nil {
			if !errors.As(err, new(*OptionError)) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s: %v, want %q", tt.im.Name, err, tt.want)
			}
			continue
		}
		buf := make([]byte, 10)
		n, _ := tt.im.In.Read(buf)
		done()
		if string(buf[:n]) != tt.want {
			t.Errorf("%s: read %q, want %q", tt.im.Name, buf[:n], tt.want)
		}
	}
	im := Image{Name: "-"}
	done, err := im.Open()
	must(t, err)
	done()
	if im.In != os.Stdin {
		t.Errorf("-: reads %v, want standard input", im.In)
	}
}
