package main

import (
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
