// Command watchbench measures `fim watch` end to end, per backend (fanotify, fsnotify):
//
//   - latency: paced single writes, each creating a new file; the latency of one write
//     is the time the bench reads its event line on fim's stdout minus the wall-clock
//     time just before the open(O_CREAT) that starts the write. Run at several
//     --batch-timeout values, since batching dominates it.
//   - load: a writer pacing a sustained rate of writes (by default 10,000/s for 10 s),
//     a mix of new files and appends to existing ones spread over a set of directories;
//     fim's CPU (utime+stime from /proc/PID/stat) over the burst, its peak RSS (VmHWM),
//     whether every created file and the final state of every appended file were
//     reported, how long fim took to catch up after the burst, and the latency of the
//     create events under load. With -stall D the bench stops reading fim's standard
//     output for D from the start of the burst, as a collector that stalls: fim must
//     keep watching, deliver everything afterwards, and hold in memory no more than its
//     spool's limit.
//   - with -scrape D, the load scenario runs a second time next to the first with
//     `--listen` and the bench scraping /metrics and /healthz every D: the CPU of the two
//     rows, run round-robin, is the cost of serving the metrics.
//   - creates: a writer creating only new files, at -rate per second for -duration,
//     spread over -dirs directories (and, with -new-dir-every N, into a new
//     subdirectory every N files): how many files were first reported by an event that
//     names their process (never, with inotify), how many by a rescan, how many never;
//     the kernel queue overflows fim reported, the latency of the first event of each
//     file, fim's CPU and peak RSS. -rate 5000 -duration 200s makes the 1M-file run.
//   - attribution: the load scenario twice, with fim naming the writer of each change
//     (its default) and with --no-process, run round-robin; a ratio line gives the
//     median and the spread of the per-round ratios of fim's CPU (cores) and of the p99
//     latency. The load's writer is the bench itself: one long-lived process.
//   - shortlived: a new process per write (tee, creating one file and exiting at once;
//     the bench reaps it at once, as a shell does), -short-rate a second for -duration,
//     with and without --no-process: how many files were first reported with their
//     writer named, named as exiting (its exe and args already gone), as gone (its pid
//     alone), or with no process; fim's CPU ratio with attribution on over off, now
//     one /proc read for every event.
//
// Every run gets a fresh tmpfs (so that a fanotify filesystem mark sees only the bench)
// and a fresh fim. Each row of the table is the median of -runs runs; missed counts are
// the worst run. It needs root (mount, fanotify filesystem marks) and a built fim:
//
//	go build -o bin/fim ./cmd/fim && go run ./bench/watchbench -fim bin/fim
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

var (
	fimBin      = flag.String("fim", "bin/fim", "fim binary to run")
	backends    = flag.String("backends", "fanotify,fsnotify", "comma-separated --backend values")
	scenarios   = flag.String("scenarios", "latency,load", "comma-separated: latency, load, creates, attribution, shortlived")
	runs        = flag.Int("runs", 3, "runs per backend and scenario; the table shows medians")
	latN        = flag.Int("lat-n", 2000, "latency: number of paced writes")
	latInterval = flag.Duration("lat-interval", 5*time.Millisecond, "latency: time between writes")
	latTimeouts = flag.String("lat-batch-timeouts", "10ms,1s", "latency: comma-separated --batch-timeout values")
	rate        = flag.Int("rate", 10000, "load: writes per second")
	duration    = flag.Duration("duration", 10*time.Second, "load: how long the writer runs")
	nFiles      = flag.Int("files", 1000, "load: existing files that are appended to")
	nDirs       = flag.Int("dirs", 20, "load: directories the files are spread over")
	newDirEvery = flag.Int("new-dir-every", 0, "creates: make a new subdirectory every N files and create the next ones in it (0: never)")
	createFrac  = flag.Float64("create-frac", 0.1, "load: fraction of writes that create a new file (the rest append)")
	stall       = flag.Duration("stall", 0, "load: stop reading fim's output for this long from the start of the burst")
	loadTimeout = flag.Duration("load-batch-timeout", time.Second, "load: --batch-timeout")
	writeSize   = flag.Int("write-size", 64, "bytes per write")
	settle      = flag.Duration("settle", 60*time.Second, "how long to wait, after the last write, for the last expected event")
	tmpfsSize   = flag.String("tmpfs-size", "1g", "size of each tmpfs")
	verbose     = flag.Bool("v", false, "print fim's stderr and per-run results as they come")
	fimFlags    = flag.String("fim-flags", "", "more flags for fim watch, space-separated (e.g. \"--workers 16\")")
	scrape      = flag.Duration("scrape", 0, "load: also run it with --listen, scraping /metrics and /healthz this often (0: not)")
	eventsOut   = flag.String("events-out", "", "append every event line fim prints to `FILE`, for a closer look")
	shortRate   = flag.Int("short-rate", 200, "shortlived: new writer processes per second")
)

func main() {
	flag.Parse()
	if os.Geteuid() != 0 {
		fatalf("needs root: it mounts a tmpfs and fanotify filesystem marks need CAP_SYS_ADMIN")
	}
	bin, err := filepath.Abs(*fimBin)
	if err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		fatalf("%v (build it with: go build -o bin/fim ./cmd/fim)", err)
	}
	*fimBin = bin
	handleSignals()
	defer cleanup()

	fmt.Println(machine())
	var rows []*row
	for _, backend := range split(*backends) {
		for _, sc := range split(*scenarios) {
			switch sc {
			case "latency":
				for _, t := range split(*latTimeouts) {
					bt, err := time.ParseDuration(t)
					if err != nil {
						fatalf("-lat-batch-timeouts: %v", err)
					}
					rows = append(rows, &row{backend: backend, scenario: fmt.Sprintf("latency bt=%v", bt),
						run: func() (result, error) { return latencyRun(backend, bt) }})
				}
			case "load":
				name := fmt.Sprintf("load %d/s bt=%v", *rate, *loadTimeout)
				if *stall > 0 {
					name += fmt.Sprintf(" stall=%v", *stall)
				}
				rows = append(rows, &row{backend: backend, scenario: name,
					run: func() (result, error) { return loadRun(backend, 0, false) }})
				if *scrape > 0 {
					rows = append(rows, &row{backend: backend, scenario: name + fmt.Sprintf(" scrape=%v", *scrape),
						run: func() (result, error) { return loadRun(backend, *scrape, false) }})
				}
			case "creates":
				name := fmt.Sprintf("creates %d/s %v bt=%v", *rate, *duration, *loadTimeout)
				if *newDirEvery > 0 {
					name += fmt.Sprintf(" newdir/%d", *newDirEvery)
				}
				rows = append(rows, &row{backend: backend, scenario: name,
					run: func() (result, error) { return createsRun(backend, *rate, false, createFile) }})
			case "attribution":
				name := fmt.Sprintf("load %d/s bt=%v", *rate, *loadTimeout)
				on := &row{backend: backend, scenario: name + " attribution",
					run: func() (result, error) { return loadRun(backend, 0, false) }}
				off := &row{backend: backend, scenario: name + " --no-process",
					run: func() (result, error) { return loadRun(backend, 0, true) }}
				on.without = off
				rows = append(rows, on, off)
			case "shortlived":
				name := fmt.Sprintf("shortlived %d/s %v bt=%v", *shortRate, *duration, *loadTimeout)
				on := &row{backend: backend, scenario: name + " attribution",
					run: func() (result, error) { return createsRun(backend, *shortRate, false, spawnCreate) }}
				off := &row{backend: backend, scenario: name + " --no-process",
					run: func() (result, error) { return createsRun(backend, *shortRate, true, spawnCreate) }}
				on.without = off
				rows = append(rows, on, off)
			default:
				fatalf("unknown scenario %q", sc)
			}
		}
	}
	// Round-robin, so that a noisy spell on the shared machine hits one run of every
	// row rather than every run of one row.
	for i := range *runs {
		for _, r := range rows {
			res, err := r.run()
			if err != nil {
				fmt.Fprintf(os.Stderr, "watchbench: %s %s run %d: %v\n", r.backend, r.scenario, i+1, err)
				r.errs = append(r.errs, err)
				continue
			}
			if *verbose {
				fmt.Fprintf(os.Stderr, "watchbench: %s %s run %d: %s\n", r.backend, r.scenario, i+1, res.summary())
			}
			r.runs, r.rounds = append(r.runs, res), append(r.rounds, i)
		}
	}
	printTable(rows)
}

// result is what one run measured. Durations are zero where a scenario does not
// measure them.
type result struct {
	lat       []time.Duration // per matched write
	writes    int
	missed    int     // created files never reported
	stale     int     // appended files whose final size was never reported
	rate      float64 // writes per second achieved
	cores     float64 // fim CPU seconds per wall second during the writes
	cpu       float64 // fim CPU seconds from the first write until caught up
	rssKiB    int     // VmHWM
	catchUp   time.Duration
	events    int
	overflows int
	withProc  int // created files whose first event names a process
	// shortlived: created files whose first event names the writer with its exe, as
	// exiting (no exe), as gone, or no process.
	named, exiting, gone, noProc int
	rescanned                    int // created files first reported by a rescan
	sources                      map[string]int
	notes                        []string // what fim said on stderr beyond readiness
}

type row struct {
	backend, scenario string
	run               func() (result, error)
	runs              []result
	rounds            []int // the round of each run
	errs              []error
	// without is the same scenario with --no-process, run in the same rounds: the
	// table is followed by the ratios of this row's figures over its.
	without *row
}

func (r result) summary() string {
	s := fmt.Sprintf("writes %d, rate %.0f/s, p50 %v, p99 %v, max %v, missed %d, stale %d, events %d, overflows %d, with process %d, by rescan %d, sources %v",
		r.writes, r.rate, ms(pct(r.lat, 50)), ms(pct(r.lat, 99)), ms(pct(r.lat, 100)), r.missed, r.stale, r.events, r.overflows, r.withProc, r.rescanned, r.sources)
	if r.rssKiB > 0 {
		s += fmt.Sprintf(", cores %.2f, cpu %.1fs, rss %.1f MiB, catch-up %s", r.cores, r.cpu, float64(r.rssKiB)/1024, catchUp([]result{r}))
	}
	for _, n := range r.notes {
		s += "\n    fim: " + n
	}
	return s
}

// latencyRun writes lat-n new files, one every lat-interval, and times their events.
func latencyRun(backend string, bt time.Duration) (result, error) {
	dir, err := mountTmpfs()
	if err != nil {
		return result{}, err
	}
	defer unmount(dir)
	sub := filepath.Join(dir, "lat")
	if err := os.Mkdir(sub, 0o755); err != nil {
		return result{}, err
	}
	f, err := startFim(backend, bt, dir, 0, false)
	if err != nil {
		return result{}, err
	}
	defer f.stop()

	data := bytes.Repeat([]byte("x"), *writeSize)
	written := make(map[string]time.Time, *latN)
	names := make([]string, *latN)
	start := time.Now()
	for i := range *latN {
		time.Sleep(time.Until(start.Add(time.Duration(i) * *latInterval)))
		names[i] = filepath.Join(sub, fmt.Sprintf("f%06d", i))
		t, err := createFile(names[i], data)
		if err != nil {
			return result{}, err
		}
		written[names[i]] = t
	}
	end := time.Now()
	pending := slices.Clone(names) // shrinks as events come, so that a check is cheap
	f.waitFor(*settle+bt, func(seen map[string]*seenPath) bool {
		pending = slices.DeleteFunc(pending, func(n string) bool { return seen[n] != nil })
		return len(pending) == 0
	})
	if err := f.exited(); err != nil {
		return result{}, err
	}
	res := result{writes: *latN, rate: float64(*latN) / end.Sub(start).Seconds()}
	f.mu.Lock()
	for _, n := range names {
		if s := f.seen[n]; s != nil {
			res.lat = append(res.lat, s.first.Sub(written[n]))
		} else {
			res.missed++
		}
	}
	f.mu.Unlock()
	f.fill(&res)
	return res, nil
}

// makeDirs makes the -dirs directories the writers spread their files over.
func makeDirs(dir string) ([]string, error) {
	dirs := make([]string, *nDirs)
	for i := range dirs {
		dirs[i] = filepath.Join(dir, fmt.Sprintf("d%02d", i))
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

// loadRun paces rate writes per second for duration over files existing files in dirs
// directories, a create-frac share of them creating new files.
func loadRun(backend string, scrapeEvery time.Duration, noProcess bool) (result, error) {
	dir, err := mountTmpfs()
	if err != nil {
		return result{}, err
	}
	defer unmount(dir)
	data := bytes.Repeat([]byte("y"), *writeSize)
	dirs, err := makeDirs(dir)
	if err != nil {
		return result{}, err
	}
	files := make([]string, *nFiles)
	sizes := make([]int64, *nFiles)
	for i := range files {
		files[i] = filepath.Join(dirs[i%len(dirs)], fmt.Sprintf("a%05d", i))
		if _, err := createFile(files[i], data); err != nil {
			return result{}, err
		}
		sizes[i] = int64(len(data))
	}
	f, err := startFim(backend, *loadTimeout, dir, scrapeEvery, noProcess)
	if err != nil {
		return result{}, err
	}
	defer f.stop()

	// The writer runs on its own thread and keeps to the schedule: after each write it
	// catches up with rate × elapsed, and sleeps only when it is ahead.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rng := rand.New(rand.NewPCG(1, 2))
	created := map[string]time.Time{}
	appended := make([]bool, len(files))
	cpu0, err := cpuTicks(f.pid)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	f.mu.Lock()
	f.stallUntil = start.Add(*stall)
	f.mu.Unlock()
	ops := 0
	for {
		now := time.Now()
		elapsed := now.Sub(start)
		if elapsed >= *duration {
			break
		}
		if due := int(elapsed.Seconds() * float64(*rate)); ops >= due {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		if rng.Float64() < *createFrac {
			name := filepath.Join(dirs[len(created)%len(dirs)], fmt.Sprintf("n%07d", len(created)))
			t, err := createFile(name, data)
			if err != nil {
				return result{}, err
			}
			created[name] = t
		} else {
			i := rng.IntN(len(files))
			if err := appendFile(files[i], data); err != nil {
				return result{}, err
			}
			sizes[i] += int64(len(data))
			appended[i] = true
		}
		ops++
	}
	end := time.Now()
	cpu1, err := cpuTicks(f.pid)
	if err != nil {
		return result{}, err
	}
	// Caught up: every created file reported, and every appended file reported at its
	// final size.
	var last time.Time
	pendingNew := slices.Collect(maps.Keys(created)) // both shrink as events come
	var pendingAppended []int
	for i := range files {
		if appended[i] {
			pendingAppended = append(pendingAppended, i)
		}
	}
	caughtUp := f.waitFor(*settle, func(seen map[string]*seenPath) bool {
		pendingNew = slices.DeleteFunc(pendingNew, func(name string) bool {
			s := seen[name]
			if s != nil && s.first.After(last) {
				last = s.first
			}
			return s != nil
		})
		pendingAppended = slices.DeleteFunc(pendingAppended, func(i int) bool {
			s := seen[files[i]]
			if s == nil || s.size != sizes[i] {
				return false
			}
			if s.sized.After(last) {
				last = s.sized
			}
			return true
		})
		return len(pendingNew) == 0 && len(pendingAppended) == 0
	})
	res, err := f.measured(ops, start, end, last, cpu0, cpu1, caughtUp)
	if err != nil {
		return result{}, err
	}
	f.mu.Lock()
	for name, t := range created {
		if s := f.seen[name]; s != nil {
			res.lat = append(res.lat, s.first.Sub(t))
		} else {
			res.missed++
		}
	}
	for i, name := range files {
		if s := f.seen[name]; appended[i] && (s == nil || s.size != sizes[i]) {
			res.stale++
		}
	}
	f.mu.Unlock()
	f.fill(&res)
	return res, nil
}

// createsRun creates rate new files per second for duration with create, over dirs
// directories (and new subdirectories of them with -new-dir-every), and sorts each file
// by how it was reported.
func createsRun(backend string, rate int, noProcess bool, create func(string, []byte) (time.Time, error)) (result, error) {
	dir, err := mountTmpfs()
	if err != nil {
		return result{}, err
	}
	defer unmount(dir)
	data := bytes.Repeat([]byte("z"), *writeSize)
	dirs, err := makeDirs(dir)
	if err != nil {
		return result{}, err
	}
	f, err := startFim(backend, *loadTimeout, dir, 0, noProcess)
	if err != nil {
		return result{}, err
	}
	defer f.stop()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	total := int(duration.Seconds() * float64(rate))
	names := make([]string, 0, total)
	created := make([]time.Time, 0, total)
	cpu0, err := cpuTicks(f.pid)
	if err != nil {
		return result{}, err
	}
	into := slices.Clone(dirs)
	start := time.Now()
	for len(names) < total {
		elapsed := time.Since(start)
		if due := int(elapsed.Seconds() * float64(rate)); len(names) >= due {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		i := len(names)
		d := i % len(into)
		if *newDirEvery > 0 && i > 0 && i%*newDirEvery == 0 {
			sub := filepath.Join(dirs[d%len(dirs)], fmt.Sprintf("s%07d", i))
			if err := os.Mkdir(sub, 0o755); err != nil {
				return result{}, err
			}
			into[d] = sub
		}
		name := filepath.Join(into[d], fmt.Sprintf("c%07d", i))
		t, err := create(name, data)
		if err != nil {
			return result{}, err
		}
		names, created = append(names, name), append(created, t)
	}
	end := time.Now()
	cpu1, err := cpuTicks(f.pid)
	if err != nil {
		return result{}, err
	}
	var last time.Time
	pending := slices.Clone(names)
	caughtUp := f.waitFor(*settle, func(seen map[string]*seenPath) bool {
		pending = slices.DeleteFunc(pending, func(name string) bool {
			s := seen[name]
			if s != nil && s.first.After(last) {
				last = s.first
			}
			return s != nil
		})
		return len(pending) == 0
	})
	res, err := f.measured(len(names), start, end, last, cpu0, cpu1, caughtUp)
	if err != nil {
		return result{}, err
	}
	f.mu.Lock()
	res.lat = make([]time.Duration, 0, len(names))
	for i, name := range names {
		s := f.seen[name]
		if s == nil {
			res.missed++
			continue
		}
		switch {
		case !s.process:
			res.noProc++
		case s.procGone:
			res.gone++
		case s.procExe:
			res.named++
		default:
			res.exiting++
		}
		if s.process {
			res.withProc++
		}
		if s.source == "rescan" || s.source == "periodic" {
			res.rescanned++
		}
		res.lat = append(res.lat, s.first.Sub(created[i]))
	}
	f.mu.Unlock()
	f.fill(&res)
	return res, nil
}

// createFile creates a new file holding data and returns the time just before the
// open that created it.
func createFile(name string, data []byte) (time.Time, error) {
	t := time.Now()
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return t, fmt.Errorf("create %s: %w", name, err)
	}
	_, err = unix.Write(fd, data)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return t, fmt.Errorf("write %s: %w", name, err)
	}
	return t, nil
}

// spawnCreate creates the new file name by running tee, which creates it and exits at
// once (its standard input is empty: data is not written), and waits for it as a shell
// does. It returns the time just before the fork.
func spawnCreate(name string, _ []byte) (time.Time, error) {
	cmd := exec.Command("tee", name)
	t := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return t, fmt.Errorf("tee %s: %v: %s", name, err, out)
	}
	return t, nil
}

func appendFile(name string, data []byte) error {
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	_, err = unix.Write(fd, data)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", name, err)
	}
	return nil
}

// seenPath is what the bench has read about one path on fim's stdout.
type seenPath struct {
	first time.Time // first event line naming the path
	size  int64     // largest file.size reported
	sized time.Time // when that size was first reported
	// Of the first event: its source, whether it names a process, and whether that
	// process was gone or had no exe (exiting) when fim read /proc.
	source            string
	process           bool
	procGone, procExe bool
}

// fimProc is one running `fim watch` and what it has printed.
type fimProc struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed when fim has exited
	werr error         // fim's exit status, once done is closed

	mu         sync.Mutex
	stallUntil time.Time // the events are not read before then
	seen       map[string]*seenPath
	events     int
	overflows  int
	sources    map[string]int
	stderr     []string
	badLines   int
}

// startFim runs fim watch on dir and waits for its readiness line. With scrapeEvery,
// fim serves its metrics (--listen) and a goroutine scrapes /metrics and /healthz that
// often until fim exits.
func startFim(backend string, bt time.Duration, dir string, scrapeEvery time.Duration, noProcess bool) (*fimProc, error) {
	args := []string{"watch", "--format", "json", "--backend", backend,
		"--batch-timeout", bt.String(), "--dedup-window", "0", "--interval", "0"}
	if noProcess {
		args = append(args, "--no-process")
	}
	var addr string
	if scrapeEvery > 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = l.Addr().String()
		l.Close()
		args = append(args, "--listen", addr)
	}
	args = append(append(args, strings.Fields(*fimFlags)...), dir)
	cmd := exec.Command(*fimBin, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FIM_DB=") })
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &fimProc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}),
		seen: map[string]*seenPath{}, sources: map[string]int{}}
	atCleanup(f.stop)
	ready := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		f.readEvents(stdout)
	}()
	go func() {
		defer readers.Done()
		f.readStderr(stderr, ready)
	}()
	go func() {
		readers.Wait()
		f.werr = cmd.Wait()
		close(f.done)
	}()
	select {
	case <-ready:
		if scrapeEvery > 0 {
			go scrapeUntil(f.done, addr, scrapeEvery)
		}
		return f, nil
	case <-f.done:
		return nil, fmt.Errorf("fim exited before it was ready: %v: %s", f.werr, strings.Join(f.stderr, "; "))
	case <-time.After(60 * time.Second):
		f.stop()
		return nil, errors.New("fim not ready after 60s")
	}
}

// scrapeUntil gets /metrics and /healthz from addr every interval until done closes,
// as a Prometheus server and a liveness probe would.
func scrapeUntil(done <-chan struct{}, addr string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		for _, p := range []string{"/metrics", "/healthz"} {
			resp, err := http.Get("http://" + addr + p)
			if err != nil {
				select {
				case <-done: // fim stops: its listener is closed before it exits
				default:
					fmt.Fprintf(os.Stderr, "watchbench: scrape %s: %v\n", p, err)
				}
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// readEvents stamps each line as it is read and hands it to decodeEvents, which
// decodes what the bench needs of it: the time a line is read does not wait for the
// decoding of the lines before it, so that larger events (a process named in each) cost
// the bench's decoder, not the latency measured.
// measured is the result of writes writes made from start to end, fim's CPU ticks
// read at start (cpu0) and at end (cpu1): its CPU and peak memory are read now, once it
// caught up with them (at last; caughtUp false: it never did).
func (f *fimProc) measured(writes int, start, end, last time.Time, cpu0, cpu1 int64, caughtUp bool) (result, error) {
	cpu2, err := cpuTicks(f.pid)
	if err != nil {
		return result{}, f.exitedOr(err)
	}
	rss, err := hwmKiB(f.pid)
	if err != nil {
		return result{}, f.exitedOr(err)
	}
	wall := end.Sub(start).Seconds()
	res := result{
		writes: writes,
		rate:   float64(writes) / wall,
		cores:  float64(cpu1-cpu0) / clockTicks / wall,
		cpu:    float64(cpu2-cpu0) / clockTicks,
		rssKiB: rss,
	}
	switch {
	case !caughtUp:
		res.catchUp = -1
	case last.After(end):
		res.catchUp = last.Sub(end)
	}
	return res, nil
}

func (f *fimProc) readEvents(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	lines := make(chan stampedLine, 1<<16)
	decoded := make(chan struct{})
	go func() {
		f.decodeEvents(lines)
		close(decoded)
	}()
	for {
		f.mu.Lock()
		until := f.stallUntil
		f.mu.Unlock()
		if d := time.Until(until); d > 0 {
			time.Sleep(d)
		}
		if !sc.Scan() {
			break
		}
		lines <- stampedLine{time.Now(), slices.Clone(sc.Bytes())}
	}
	close(lines)
	<-decoded
}

// stampedLine is one line of fim's standard output and when the bench read it.
type stampedLine struct {
	read time.Time
	line []byte
}

func (f *fimProc) decodeEvents(lines <-chan stampedLine) {
	var ev struct {
		Type    string `json:"type"`
		Path    string `json:"path"`
		Source  string `json:"source"`
		Process *struct {
			Exe  string `json:"exe"`
			Gone bool   `json:"gone"`
		} `json:"process"`
		File *struct {
			Size int64 `json:"size"`
		} `json:"file"`
	}
	var keep *os.File
	if *eventsOut != "" {
		var err error
		if keep, err = os.OpenFile(*eventsOut, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "watchbench: %v\n", err)
		} else {
			defer keep.Close()
		}
	}
	for l := range lines {
		now := l.read
		if keep != nil {
			keep.Write(l.line)
			keep.Write([]byte{'\n'})
		}
		ev.Type, ev.Path, ev.Source, ev.Process, ev.File = "", "", "", nil, nil
		err := json.Unmarshal(l.line, &ev)
		f.mu.Lock()
		if err != nil {
			f.badLines++
			f.mu.Unlock()
			continue
		}
		f.events++
		f.sources[ev.Source]++
		s := f.seen[ev.Path]
		if s == nil {
			s = &seenPath{first: now, source: ev.Source, process: ev.Process != nil}
			if ev.Process != nil {
				s.procGone, s.procExe = ev.Process.Gone, ev.Process.Exe != ""
			}
			f.seen[ev.Path] = s
		}
		if ev.File != nil && ev.File.Size > s.size {
			s.size, s.sized = ev.File.Size, now
		}
		f.mu.Unlock()
	}
}

func (f *fimProc) readStderr(r interface{ Read([]byte) (int, error) }, ready chan<- struct{}) {
	sc := bufio.NewScanner(r)
	isReady := false
	for sc.Scan() {
		line := sc.Text()
		if *verbose {
			fmt.Fprintf(os.Stderr, "  [fim %d] %s\n", f.pid, line)
		}
		if !isReady && strings.HasPrefix(line, "fim: watch: ready:") {
			isReady = true
			close(ready)
			continue
		}
		f.mu.Lock()
		if strings.Contains(line, "overflow") {
			f.overflows++
		}
		f.stderr = append(f.stderr, line)
		f.mu.Unlock()
	}
}

// waitFor polls done over what fim has reported until it holds, fim exits, or timeout.
func (f *fimProc) waitFor(timeout time.Duration, done func(map[string]*seenPath) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		ok := done(f.seen)
		f.mu.Unlock()
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-f.done:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// exited returns an error when fim has exited on its own.
func (f *fimProc) exited() error {
	select {
	case <-f.done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return fmt.Errorf("fim exited during the run: %v: %s", f.werr, strings.Join(tail(f.stderr, 5), "; "))
	default:
		return nil
	}
}

func (f *fimProc) exitedOr(err error) error {
	if e := f.exited(); e != nil {
		return e
	}
	return err
}

// fill copies fim's counters into res.
func (f *fimProc) fill(res *result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res.events, res.overflows = f.events, f.overflows
	res.sources = maps.Clone(f.sources)
	res.notes = tail(f.stderr, 5)
	if f.badLines > 0 {
		res.notes = append(res.notes, fmt.Sprintf("(bench: %d stdout lines were not JSON)", f.badLines))
	}
}

// stop ends fim with SIGTERM, as a service manager would, and kills it after 10 s.
func (f *fimProc) stop() {
	select {
	case <-f.done:
		return
	default:
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		f.cmd.Process.Kill()
		<-f.done
	}
}

// cpuTicks returns utime+stime of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from the
	// last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return ut + st, nil
}

// hwmKiB returns the peak resident set size of pid (VmHWM), in KiB.
func hwmKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// mountTmpfs mounts a fresh tmpfs on a new temporary directory.
func mountTmpfs() (string, error) {
	dir, err := os.MkdirTemp("", "watchbench.")
	if err != nil {
		return "", err
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil { // fim reports real paths
		return "", err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+*tmpfsSize+",mode=0755"); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	atCleanup(func() { unmount(dir) })
	return dir, nil
}

func unmount(dir string) {
	if err := unix.Unmount(dir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		unix.Unmount(dir, unix.MNT_DETACH)
	}
	os.Remove(dir)
}

// Cleanup runs on return from main and on SIGINT, SIGTERM or SIGHUP, so that neither a
// fim nor a tmpfs outlives the bench. Each function is idempotent.
var (
	cleanMu  sync.Mutex
	cleanups []func()
)

func atCleanup(fn func()) {
	cleanMu.Lock()
	cleanups = append(cleanups, fn)
	cleanMu.Unlock()
}

func cleanup() {
	cleanMu.Lock()
	fns := cleanups
	cleanups = nil
	cleanMu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func handleSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-ch
		cleanup()
		os.Exit(130)
	}()
}

func machine() string {
	var u unix.Utsname
	unix.Uname(&u)
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("machine: nproc %d (%s), kernel %s, %s, loadavg %s; %s\nfim %s %s; writes of %d bytes on tmpfs, medians of %d runs",
		runtime.NumCPU(), model, unix.ByteSliceToString(u.Release[:]), runtime.Version(), loadavg(), queueLimits(),
		*fimBin, *fimFlags, *writeSize, *runs)
}

// queueLimits reports the kernel's event queue sizes, read when a group is made: a
// smaller queue than the default 16384 overflows sooner, and fim then rescans.
func queueLimits() string {
	var s []string
	for _, name := range []string{"inotify", "fanotify"} {
		b, err := os.ReadFile("/proc/sys/fs/" + name + "/max_queued_events")
		v := strings.TrimSpace(string(b))
		if err != nil {
			v = "?"
		} else if n, err := strconv.Atoi(v); err == nil && n < 16384 {
			v += " (below the default 16384!)"
		}
		s = append(s, name+" max_queued_events "+v)
	}
	return strings.Join(s, ", ")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	l := strings.Fields(string(b))
	return strings.Join(l[:min(3, len(l))], " ")
}

func printTable(rows []*row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tscenario\truns\twrites/s\tp50\tp90\tp99\tmax\tmissed\tstale\tcores\tcpu-s\tRSS MiB\tcatch-up\toverflows\tw/ process\tby rescan\t")
	for _, r := range rows {
		if len(r.runs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t0/%d\tfailed: %v\t\n", r.backend, r.scenario, *runs, r.errs[0])
			continue
		}
		med := func(get func(result) float64) float64 {
			v := make([]float64, len(r.runs))
			for i, res := range r.runs {
				v[i] = get(res)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		worst := func(get func(result) int) int {
			m := 0
			for _, res := range r.runs {
				m = max(m, get(res))
			}
			return m
		}
		latCol := func(p float64) string {
			return ms(time.Duration(med(func(res result) float64 { return float64(pct(res.lat, p)) })))
		}
		load := r.runs[0].rssKiB > 0
		col := func(s string) string {
			if !load {
				return "-"
			}
			return s
		}
		onCreates := func(s string) string {
			if !strings.HasPrefix(r.scenario, "creates") && !strings.HasPrefix(r.scenario, "shortlived") {
				return "-"
			}
			return s
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n",
			r.backend, r.scenario, len(r.runs), *runs, med(func(res result) float64 { return res.rate }),
			latCol(50), latCol(90), latCol(99), latCol(100),
			worst(func(res result) int { return res.missed }),
			col(strconv.Itoa(worst(func(res result) int { return res.stale }))),
			col(fmt.Sprintf("%.2f", med(func(res result) float64 { return res.cores }))),
			col(fmt.Sprintf("%.1f", med(func(res result) float64 { return res.cpu }))),
			col(fmt.Sprintf("%.1f", med(func(res result) float64 { return float64(res.rssKiB) / 1024 }))),
			col(catchUp(r.runs)),
			worst(func(res result) int { return res.overflows }),
			onCreates(strconv.Itoa(int(med(func(res result) float64 { return float64(res.withProc) })))),
			onCreates(strconv.Itoa(worst(func(res result) int { return res.rescanned }))))
	}
	tw.Flush()
	fmt.Printf("at the end: loadavg %s; %s\n", loadavg(), queueLimits())
	fmt.Println(`latency: event line read by the bench − time before the open(O_CREAT) of the write (load rows: creates under load).
missed: created files never reported; stale: appended files whose final size was never reported (worst run).
cores: fim utime+stime ÷ wall time while writing; cpu-s: fim CPU from the first write until caught up;
catch-up: last expected event − last write ("timeout" when a run never caught up); overflows: worst run.
creates rows: w/ process: created files whose first event names its process (median); by rescan: first
reported by a rescan (worst run).`)
	for _, r := range rows {
		if strings.HasPrefix(r.scenario, "shortlived") && len(r.runs) > 0 {
			fmt.Printf("%s %s: first events naming the writer with its exe / as exiting (no exe) / as gone / no process: %s\n",
				r.backend, r.scenario, shortlivedCounts(r.runs))
		}
		if r.without != nil {
			fmt.Printf("%s %s over %s: %s\n", r.backend, r.scenario, r.without.scenario, ratios(r, r.without))
		}
	}
	for _, r := range rows {
		var notes []string
		for _, res := range r.runs {
			notes = append(notes, res.notes...)
		}
		for _, e := range r.errs {
			notes = append(notes, "bench: "+e.Error())
		}
		if len(notes) > 0 {
			fmt.Printf("%s %s: %s\n", r.backend, r.scenario, strings.Join(slices.Compact(notes), " | "))
		}
	}
}

// shortlivedCounts says, run by run, how the first event of each created file named
// its writer.
func shortlivedCounts(runs []result) string {
	var s []string
	for _, r := range runs {
		n := r.named + r.exiting + r.gone + r.noProc
		s = append(s, fmt.Sprintf("%d / %d / %d / %d of %d (%.1f%% gone)", r.named, r.exiting, r.gone, r.noProc, n,
			100*float64(r.gone)/float64(max(n, 1))))
	}
	return strings.Join(s, "; ")
}

// ratios gives the median and the range of the ratios of a's CPU (cores) and p99
// latency over b's, each ratio of two runs of one round.
func ratios(a, b *row) string {
	var cpu, p99 []float64
	for i, round := range a.rounds {
		j := slices.Index(b.rounds, round)
		if j < 0 {
			continue
		}
		x, y := a.runs[i], b.runs[j]
		if y.cores > 0 {
			cpu = append(cpu, x.cores/y.cores)
		}
		if q := pct(y.lat, 99); q > 0 {
			p99 = append(p99, float64(pct(x.lat, 99))/float64(q))
		}
	}
	spread := func(v []float64) string {
		if len(v) == 0 {
			return "none"
		}
		slices.Sort(v)
		return fmt.Sprintf("%.2f× (%.2f–%.2f, %d rounds)", v[len(v)/2], v[0], v[len(v)-1], len(v))
	}
	return "CPU " + spread(cpu) + ", p99 " + spread(p99)
}

// pct returns the p-th percentile of d (nearest rank; 100 is the maximum).
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// catchUp is the median catch-up time, or "timeout" when a run never caught up.
func catchUp(runs []result) string {
	var d []time.Duration
	for _, r := range runs {
		if r.catchUp < 0 {
			return "timeout"
		}
		d = append(d, r.catchUp)
	}
	return ms(pct(d, 50))
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < 10*time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func tail(s []string, n int) []string {
	return slices.Clone(s[max(0, len(s)-n):])
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "watchbench: "+format+"\n", args...)
	cleanup()
	os.Exit(2)
}
