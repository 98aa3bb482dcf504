package main

import (
	"encoding/json"
	"fim/internal/fstest"
	"fim/internal/priority"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
