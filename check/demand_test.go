package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fim/baseline"
)

// TestDemand: a baseline is opened and described only as signed and as fresh as
// demanded, the generation file raising the generation demanded; Record keeps the
// highest generation noted there.
func TestDemand(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/motd": "hello\n"})
	keyFile := filepath.Join(f.dir, "key")
	if _, err := baseline.GenerateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	key, err := baseline.LoadPrivateKey(keyFile)
	must(t, err)
	f.signedBaseline(t, key, 5, time.Now().UTC().Add(-2*time.Hour))
	genFile := filepath.Join(f.dir, "generation")
	for _, c := range []struct {
		name     string
		d        Demand
		recorded string // the generation file's content before; "" for none
		refused  string // "": opened
		option   bool   // refused with an *OptionError
	}{
		{"nothing demanded", Demand{}, "", "", false},
		{"signed with the key", Demand{KeyFlag: "verify", KeyFile: keyFile + ".pub"}, "", "", false},
		{"a key that is not one", Demand{KeyFlag: "key", KeyFile: f.db}, "", "--key: ", true},
		{"a bad age", Demand{MaxAge: "soon"}, "", "--max-age: ", true},
		{"young enough", Demand{MaxAge: "3h"}, "", "", false},
		{"too old", Demand{MaxAge: "1h"}, "", "older than", false},
		{"a generation file without a key", Demand{GenerationFile: genFile}, "", "--generation-file goes with --verify", true},
		{"a generation file behind", Demand{KeyFlag: "verify", KeyFile: keyFile + ".pub", GenerationFile: genFile}, "4\n", "", false},
		{"a generation file ahead", Demand{KeyFlag: "verify", KeyFile: keyFile + ".pub", GenerationFile: genFile}, "6\n", "generation 5", false},
		{"a generation file that is not one", Demand{KeyFlag: "verify", KeyFile: keyFile + ".pub", GenerationFile: genFile}, "five\n", "--generation-file: ", true},
		{"a minimum generation ahead", Demand{MinGeneration: 6}, "", "generation 5", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(genFile)
			if c.recorded != "" {
				must(t, os.WriteFile(genFile, []byte(c.recorded), 0o600))
			}
			d := c.d
			b, err := d.Open(f.db, OpenOptions{})
			if err == nil {
				b.Close()
			}
			_, _, derr := (&c.d).Describe(f.db)
			for _, err := range []error{err, derr} {
				switch {
				case c.refused == "" && err != nil:
					t.Fatal(err)
				case c.refused == "":
				case err == nil || !strings.Contains(err.Error(), c.refused):
					t.Fatalf("err = %v, want %q", err, c.refused)
				case c.option != errors.As(err, new(*OptionError)):
					t.Errorf("err = %v (%T): an *OptionError is %v", err, err, c.option)
				case !c.option && !errors.Is(err, baseline.ErrBadBaseline):
					t.Errorf("err = %v: not a refusal of the baseline", err)
				}
			}
		})
	}
}

func TestDemandRecord(t *testing.T) {
	genFile := filepath.Join(t.TempDir(), "generation")
	d := &Demand{GenerationFile: genFile}
	for _, c := range []struct {
		gen  uint64
		want string
	}{{0, ""}, {7, "7\n"}, {3, "7\n"}, {9, "9\n"}} {
		must(t, d.Record(c.gen))
		got, err := os.ReadFile(genFile)
		if c.want == "" && !os.IsNotExist(err) {
			t.Fatalf("Record(%d) wrote %q", c.gen, got)
		}
		if c.want != "" && string(got) != c.want {
			t.Errorf("after Record(%d): %q, %v; want %q", c.gen, got, err, c.want)
		}
	}
}

// TestOpenChecked: a baseline opened to be checked gets the tree's root, a reporter
// that knows the baseline (and its roots, to redact), and lets go of the baseline
// when what the check needs cannot be had.
func TestOpenChecked(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/motd": "hello\n"})
	f.signedBaseline(t, nil, 3, time.Now().UTC())
	text := ReporterOptions{Format: "text", Color: "never"}
	k, err := (&Demand{}).OpenChecked(f.db, CheckedOptions{Root: ".", Report: text, Redact: true})
	must(t, err)
	wd, _ := os.Getwd()
	if k.Root != wd || k.Reporter.Root != wd || k.Reporter.Base.Generation != 3 || len(k.Reporter.Redact) != 1 || k.Reporter.Redact[0] != f.tree {
		t.Errorf("root %q, reporter's root %q, generation %d, redacted %q; want %q, %q, 3, [%q]",
			k.Root, k.Reporter.Root, k.Reporter.Base.Generation, k.Reporter.Redact, wd, wd, f.tree)
	}
	k.Close()

	// A bad format is refused after the baseline is opened, which is let go: its
	// successor's lock is free again.
	for range 2 {
		_, err := (&Demand{}).OpenChecked(f.db, CheckedOptions{OpenOptions: OpenOptions{Replace: true}, Report: ReporterOptions{Format: "yaml"}})
		if err == nil || !strings.HasPrefix(err.Error(), "--format: ") {
			t.Fatalf("err = %v, want --format refused", err)
		}
	}

	// A baseline read from an image is checked only under --root.
	f.pol.Source = "tar:image.tar"
	f.signedBaseline(t, nil, 4, time.Now().UTC())
	_, err = (&Demand{}).OpenChecked(f.db, CheckedOptions{Report: text})
	if want := f.db + " was read from tar:image.tar, not from this host: give --root DIR"; err == nil ||
		!strings.HasPrefix(err.Error(), want) || !errors.As(err, new(*OptionError)) {
		t.Errorf("err = %v, want an *OptionError %q…", err, want)
	}
	k, err = (&Demand{}).OpenChecked(f.db, CheckedOptions{Root: f.tree, Report: text})
	must(t, err)
	if k.Root != f.tree {
		t.Errorf("root %q, want %q", k.Root, f.tree)
	}
	k.Close()
}

// TestDiffInfo: fim diff reports with NEW's time and host, OLD as the baseline, and
// reads files (SHA-256, owners' names) only under the root NEW was taken of.
func TestDiffInfo(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/motd": "hello\n"})
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	f.signedBaseline(t, nil, 2, created)
	b, err := Open(f.db, OpenOptions{})
	must(t, err)
	defer b.Close()
	wd, _ := os.Getwd()
	for _, c := range []struct {
		root, want string
	}{{"", ""}, {".", wd}} {
		r, err := NewReporter(ReporterOptions{Format: "ecs", Color: "never"})
		must(t, err)
		in, err := r.DiffInfo(b, b, c.root)
		must(t, err)
		if !in.Time.Equal(created) || in.Baseline.Generation != 2 || in.Root != c.want || r.Root != c.want ||
			r.SHA256 != (c.want != "") || (in.Names != nil) != (c.want != "") {
			t.Errorf("root %q: time %v, generation %d, root %q (reporter's %q), SHA-256 %v, names %v; want %v, 2, %q, read files %v",
				c.root, in.Time, in.Baseline.Generation, in.Root, r.Root, r.SHA256, in.Names, created, c.want, c.want != "")
		}
		r.Close()
	}
}
