package main

import (
	"encoding/json"
	"fim/config"
	"fim/internal/fstest"
	"fim/internal/priority"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWatchPriority starts fim watch with --nice and --io-class and reads back every
// thread of it: each has the nice value in /proc/PID/task/TID/stat and the class
// ioprio_get gives.
func TestWatchPriority(t *testing.T) {
	for _, tt := range []struct {
		class priority.IOClass
		nice  int
	}{{priority.IOIdle, 9}, {priority.IOBestEffort, 4}} {
		t.Run(tt.class.String(), func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			fstest.Tree{"w/a": fstest.File("a")}.Build(t, mnt)
			r := startWatch(t, fsnotifyBackend, root, "--nice", strconv.Itoa(tt.nice), "--io-class", tt.class.String(), root)
			pid := r.cmd.Process.Pid
			tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			must(t, err)
			if len(tasks) < 2 {
				t.Fatalf("fim watch runs %d threads: want several to check", len(tasks))
			}
			for _, task := range tasks {
				tid, _ := strconv.Atoi(task.Name())
				nice, class, _, err := priority.Of(pid, tid)
				must(t, err)
				if nice != tt.nice || class != tt.class {
					t.Errorf("thread %d: nice %d, I/O class %s; want %d, %s", tid, nice, class, tt.nice, tt.class)
				}
			}
			appendTo(t, filepath.Join(root, "a"), "more")
			r.expect("change T/a [content,size,mtime,ctime]")
		})
	}
}

// TestCheckReadRate checks a tree of 3 MiB with --max-read-rate 2MiB/s: the check
// takes at least as long as the rate allows for what it read beyond one buffer.
func TestCheckReadRate(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.Blob(2<<20, 1), "b": fstest.Blob(1<<20, 2)}.Build(t, root)
	mustRun(t, 0, "baseline", "--no-provenance", "--db", db, root)
	start := time.Now()
	mustRun(t, 0, "check", "--no-provenance", "--max-read-rate", "2MiB/s", "--workers", "4", "--db", db)
	if took, floor := time.Since(start), 1250*time.Millisecond; took < floor {
		t.Errorf("check read 3 MiB at 2MiB/s in %v: under %v", took, floor)
	}
}

// TestWatchHeartbeat runs fim watch --heartbeat on a baseline: its heartbeat lines
// are valid json lines naming the digest fim info gives, the entries and the marks.
func TestWatchHeartbeat(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root, db := filepath.Join(mnt, "w"), filepath.Join(mnt, "db", "fim.db")
	fstest.Tree{"w/a": fstest.File("a"), "w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
	mustRun(t, 0, "baseline", "--db", db, root)
	out, _ := mustRun(t, 0, "info", "--format", "json", "--db", db)
	var info struct {
		Digest  string `json:"digest"`
		Entries int    `json:"entries"`
	}
	must(t, json.Unmarshal([]byte(out), &info))
	r := startWatch(t, fsnotifyBackend, root, "--db", db, "--heartbeat", "200ms")
	got := r.await("two heartbeats", func(evs []watchEvent) bool {
		return len(evs) >= 2 && evs[len(evs)-1].Type == "heartbeat" && evs[len(evs)-2].Type == "heartbeat"
	})
	for _, ev := range got[len(got)-2:] {
		validLines(t, "json", ev.raw+"\n")
		var line struct {
			Notice struct {
				Digest  string         `json:"baseline_digest"`
				Entries int            `json:"entries"`
				Marks   map[string]int `json:"marks"`
			} `json:"notice"`
		}
		must(t, json.Unmarshal([]byte(ev.raw), &line))
		if n := line.Notice; n.Digest != info.Digest || n.Entries != info.Entries || n.Marks["fsnotify"] < 1 || ev.Path != "" {
			t.Errorf("heartbeat %s: want digest %s, %d entries, fsnotify marks", ev.raw, info.Digest, info.Entries)
		}
	}
}

// TestWatchKeys checks that every flag of fim watch but --config, --db and --help has
// a key in the configuration's watch mapping, and that every key sets a flag of it.
func TestWatchKeys(t *testing.T) {
	flags := map[string]bool{}
	for _, f := range newApp().Command("watch").Flags {
		for _, name := range f.Names() {
			flags[name] = true
		}
		switch name := f.Names()[0]; name {
		case "config", "db", "help":
		default:
			if !slices.Contains(slices.Collect(maps.Values(config.WatchKeys)), name) {
				t.Errorf("--%s has no key in the watch mapping (config.WatchKeys)", name)
			}
		}
	}
	for key, flag := range config.WatchKeys {
		if !flags[flag] {
			t.Errorf("watch.%s sets --%s, which fim watch does not have", key, flag)
		}
	}
}

// TestWatchConfigSettings runs fim watch with a configuration whose watch mapping sets
// a heartbeat and the text format: the heartbeat comes, and the command line's
// --format json wins over the key (the report is json lines). A value the flag does not
// take is a usage error naming the file, the line and the key.
func TestWatchConfigSettings(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	fstest.Tree{"w/a": fstest.File("a"), "w/" + syncDir: fstest.Dir()}.Build(t, mnt)
	cfg := filepath.Join(t.TempDir(), "fim.yaml")
	must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\nwatch:\n  heartbeat: 200ms\n  format: text\n"), 0o644))
	r := startWatch(t, fsnotifyBackend, root, "--config", cfg)
	r.await("a heartbeat", func(evs []watchEvent) bool { return len(evs) > 0 && evs[len(evs)-1].Type == "heartbeat" })
	appendTo(t, filepath.Join(root, "a"), "1")
	r.expect("change T/a [content,size,mtime,ctime]")

	must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\nwatch:\n  batch_size: many\n"), 0o644))
	_, stderr, code := run(t, "watch", "--config", cfg)
	if want := cfg + `:4: watch.batch_size: invalid value "many" for --batch-size`; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}
