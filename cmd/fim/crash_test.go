package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fim/baseline"
)

var (
	crashBuild    sync.Once
	crashBin      string
	crashBuildErr error
)

// buildFimForCrash builds the fim command once for the crash tests, into a directory
// removed when the test that built it ends (a later caller builds it again).
func buildFimForCrash(t *testing.T) string {
	t.Helper()
	crashBuild.Do(func() {
		dir, err := os.MkdirTemp("", "fim-crash-bin-")
		if err != nil {
			crashBuildErr = err
			return
		}
		t.Cleanup(func() {
			os.RemoveAll(dir)
			crashBuild = sync.Once{}
		})
		crashBin = filepath.Join(dir, "fim")
		out, err := exec.Command("go", "build", "-o", crashBin, ".").CombinedOutput()
		if err != nil {
			crashBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if crashBuildErr != nil {
		t.Fatal(crashBuildErr)
	}
	return crashBin
}

// crashRig is a tree of small files, its baseline, and what changed in the tree since
// the last baseline known to be complete.
type crashRig struct {
	t       *testing.T
	bin     string
	tree    string
	db      string
	keep    string            // hard links that keep removed files' inodes from reuse
	pending map[string]string // path -> event type a check must report against the old baseline
}

const (
	crashDirs  = 100
	crashFiles = 200 // per directory
)

func newCrashRig(t *testing.T) *crashRig {
	base := t.TempDir()
	r := &crashRig{t: t, bin: buildFimForCrash(t), tree: filepath.Join(base, "tree"),
		db: filepath.Join(base, "db", "baseline.db"), keep: filepath.Join(base, "keep"), pending: map[string]string{}}
	for _, d := range []string{r.tree, r.keep} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// One goroutine per directory: creating files is slow on a busy disk.
	errs := make(chan error, crashDirs)
	for d := 0; d < crashDirs; d++ {
		go func() {
			dir := filepath.Join(r.tree, fmt.Sprintf("d%03d", d))
			err := os.Mkdir(dir, 0o755)
			for f := 0; f < crashFiles && err == nil; f++ {
				err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", f)), fmt.Appendf(nil, "file %d %d\n", d, f), 0o644)
			}
			errs <- err
		}()
	}
	for range crashDirs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// fim runs fim with args and returns its exit code and output.
func (r *crashRig) fim(args ...string) (code int, stdout, stderr string) {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.t.Fatalf("fim %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// baseline runs `fim baseline` to completion and returns how long it took.
func (r *crashRig) baseline() time.Duration {
	r.t.Helper()
	start := time.Now()
	if code, _, stderr := r.fim("baseline", "--db", r.db, r.tree); code != 0 {
		r.t.Fatalf("fim baseline: exit %d\n%s", code, stderr)
	}
	return time.Since(start)
}

// change makes one change, one removal and one creation in directories picked by n,
// and records them as pending.
func (r *crashRig) change(n int) {
	r.t.Helper()
	dir := func(i int) string { return filepath.Join(r.tree, fmt.Sprintf("d%03d", (3*n+i)%crashDirs)) }
	changed := filepath.Join(dir(0), "f000")
	if err := os.WriteFile(changed, fmt.Appendf(nil, "changed in round %d\n", n), 0o644); err != nil {
		r.t.Fatal(err)
	}
	removed := filepath.Join(dir(1), "f001")
	if err := os.Link(removed, filepath.Join(r.keep, fmt.Sprint(n))); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Remove(removed); err != nil {
		r.t.Fatal(err)
	}
	created := filepath.Join(dir(2), fmt.Sprintf("new%03d", n))
	if err := os.WriteFile(created, fmt.Appendf(nil, "created in round %d\n", n), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.pending[changed], r.pending[removed], r.pending[created] = "change", "remove", "create"
}

// killDuring starts fim with args, kills it with SIGKILL after delay, and reports
// whether it was still running then. A run that finished first must have succeeded
// (with a report's exit code, for a check).
func (r *crashRig) killDuring(delay time.Duration, args ...string) bool {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if code := cmd.ProcessState.ExitCode(); code < 0 || code >= exitUsage {
			r.t.Fatalf("fim %s finished before it was killed: %v\n%s", strings.Join(args, " "), cmd.ProcessState, errb.String())
		}
		return false
	case <-time.After(delay):
	}
	cmd.Process.Kill()
	<-done
	if st := cmd.ProcessState; st.Exited() { // it finished as the delay ran out
		if st.ExitCode() >= exitUsage {
			r.t.Fatalf("fim %s: exit %d\n%s", strings.Join(args, " "), st.ExitCode(), errb.String())
		}
		return false
	}
	return true
}

// verify runs `fim check` and requires a valid report of exactly the pending changes
// (the old baseline survived) or of nothing (the killed fim had committed the new
// one, which then becomes the reference). It returns which it was.
func (r *crashRig) verify(what string) (committed bool) {
	r.t.Helper()
	code, stdout, stderr := r.fim("check", "--db", r.db, "--format", "json")
	if code >= exitUsage {
		r.t.Fatalf("%s: fim check: exit %d, want a report\n%s", what, code, stderr)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct{ Type, Path string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			r.t.Fatalf("%s: fim check: bad JSON line %q: %v", what, sc.Text(), err)
		}
		if _, dup := got[ev.Path]; dup {
			r.t.Fatalf("%s: fim check reports %s twice", what, ev.Path)
		}
		got[ev.Path] = ev.Type
	}
	wantCode := 0
	for _, typ := range got {
		wantCode |= map[string]int{"create": exitCreated, "remove": exitRemoved}[typ]
		if typ != "create" && typ != "remove" {
			wantCode |= exitChanged
		}
	}
	if code != wantCode {
		r.t.Errorf("%s: fim check exit %d for events %v", what, code, got)
	}
	if len(got) == 0 {
		clear(r.pending)
		return true
	}
	if !maps.Equal(got, r.pending) {
		r.t.Fatalf("%s: fim check reports\n%s\nwant nothing (new baseline) or exactly\n%s", what, crashShow(got), crashShow(r.pending))
	}
	return false
}

func crashShow(m map[string]string) string {
	var lines []string
	for p, typ := range m {
		lines = append(lines, "\t"+typ+" "+p)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// temps returns the temporary baseline files beside the database.
func (r *crashRig) temps() []string {
	_, prefix := baseline.TempPattern(r.db)
	m, _ := filepath.Glob(prefix + "*")
	return m
}

// TestCrash kills `fim baseline` and `fim check --update` with SIGKILL at points spread
// over their run time and checks after each kill that the baseline on disk is the old
// or the new one, whole: `fim check` gives a valid report of exactly the changes against
// it. A killed writer's temporary file may stay until the next writer removes it.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes 20,000 files and runs fim many times")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()
	buildFimForCrash(t)
	t.Logf("build: %v", time.Since(start))
	start = time.Now()
	r := newCrashRig(t)
	t.Logf("tree: %v", time.Since(start))

	took := r.baseline()
	t.Logf("fim baseline of %d files: %v", crashDirs*crashFiles, took)
	if !r.verify("after the first baseline") {
		t.Fatal("fim check reports changes right after fim baseline")
	}
	const rounds = 6
	// delays spreads the kills over (0, run time): one in each of rounds equal slices.
	delays := func(run time.Duration) []time.Duration {
		d := make([]time.Duration, rounds)
		for i := range d {
			d[i] = time.Duration((float64(i) + rng.Float64()) / rounds * float64(run))
			d[i] = max(d[i], time.Millisecond)
		}
		rng.Shuffle(len(d), func(i, j int) { d[i], d[j] = d[j], d[i] })
		return d
	}

	// killRounds makes changes and kills fim with args after each delay in turn.
	round := 0
	killRounds := func(t *testing.T, took time.Duration, args ...string) {
		var killed, committed int
		for _, delay := range delays(took) {
			r.change(round)
			round++
			what := fmt.Sprintf("fim %s killed after %v", args[0], delay)
			if r.killDuring(delay, args...) {
				killed++
			}
			if r.verify(what) {
				committed++
			}
			if tmp := r.temps(); len(tmp) > 1 {
				t.Fatalf("%s: temporary files accumulate: %v", what, tmp)
			}
		}
		t.Logf("%d of %d runs killed while running; %d had committed", killed, rounds, committed)
	}

	t.Run("baseline", func(t *testing.T) {
		r.t = t
		killRounds(t, took, "baseline", "--db", r.db, r.tree)
		r.baseline()
		if tmp := r.temps(); len(tmp) != 0 {
			t.Errorf("temporary files left after a complete baseline: %v", tmp)
		}
		if !r.verify("after a complete baseline") {
			t.Error("fim check reports changes right after fim baseline")
		}
	})

	t.Run("check-update", func(t *testing.T) {
		r.t = t
		start := time.Now()
		if code, _, stderr := r.fim("check", "--update", "--db", r.db, "--format", "json"); code != 0 {
			t.Fatalf("fim check --update with no change: exit %d\n%s", code, stderr)
		}
		took := time.Since(start)
		t.Logf("fim check --update: %v", took)
		killRounds(t, took, "check", "--update", "--db", r.db, "--format", "json")
		r.change(round)
		if code, _, stderr := r.fim("check", "--update", "--db", r.db, "--format", "json"); code == 0 || code >= exitUsage {
			t.Fatalf("fim check --update after changes: exit %d\n%s", code, stderr)
		}
		clear(r.pending)
		if tmp := r.temps(); len(tmp) != 0 {
			t.Errorf("temporary files left after a complete check --update: %v", tmp)
		}
		if !r.verify("after a complete check --update") {
			t.Error("fim check reports changes right after fim check --update")
		}
	})
}
