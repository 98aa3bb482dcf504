package priority

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestApply runs itself as a child that starts threads, applies a nice value and an
// I/O class, starts more threads, and reads back every thread's nice from
// /proc/self/task/*/stat and its class from ioprio_get: all threads have both.
func TestApply(t *testing.T) {
	if os.Getenv("FIM_PRIORITY_CHILD") != "" {
		return
	}
	for _, tt := range []struct {
		nice  int
		class string
	}{{7, "idle"}, {3, "best-effort"}} {
		t.Run(tt.class, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
			cmd.Env = append(os.Environ(), "FIM_PRIORITY_CHILD="+strconv.Itoa(tt.nice)+","+tt.class)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "threads checked") {
				t.Fatalf("child checked nothing:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestChild is TestApply's child.
func TestChild(t *testing.T) {
	spec := os.Getenv("FIM_PRIORITY_CHILD")
	if spec == "" {
		t.Skip("run by TestApply")
	}
	niceStr, className, _ := strings.Cut(spec, ",")
	nice, _ := strconv.Atoi(niceStr)
	class, err := ParseIOClass(className)
	if err != nil {
		t.Fatal(err)
	}
	stopBefore := busyThreads(4)
	defer stopBefore()
	if err := Apply(Settings{Nice: nice, SetNice: true, IO: class}); err != nil {
		t.Fatal(err)
	}
	stopAfter := busyThreads(4)
	defer stopAfter()
	tids, err := Threads()
	if err != nil {
		t.Fatal(err)
	}
	if len(tids) < 9 {
		t.Fatalf("%d threads, want at least 9", len(tids))
	}
	for _, tid := range tids {
		n, c, level, err := Of(0, tid)
		if err != nil {
			t.Fatal(err)
		}
		if n != nice || c != class || (class == IOBestEffort && level != bestEffortLevel) {
			t.Errorf("thread %d: nice %d, I/O class %s level %d; want nice %d, class %s", tid, n, c, level, nice, class)
		}
	}
	fmt.Printf("%d threads checked\n", len(tids))
}

// busyThreads starts n goroutines, each locked to a thread of its own, until the
// function it returns is called.
func busyThreads(n int) func() {
	var ready, done sync.WaitGroup
	stop := make(chan struct{})
	for range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread() // the thread ends with the goroutine: never reused
			ready.Done()
			<-stop
		}()
	}
	ready.Wait()
	return func() { close(stop); done.Wait() }
}

func TestParseIOClass(t *testing.T) {
	for _, s := range []string{"", "idle", "best-effort"} {
		c, err := ParseIOClass(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseIOClass(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"realtime", "IDLE", "rt", "none"} {
		if _, err := ParseIOClass(s); err == nil || !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("ParseIOClass(%q): %v, want an error naming it", s, err)
		}
	}
	if err := Apply(Settings{Nice: 20, SetNice: true}); err == nil {
		t.Errorf("Apply(nice 20): no error")
	}
}
