// Command pkgdbbench measures package provenance against debsums on this host: fim's
// package database reader loading the whole dpkg database (var/lib/dpkg) and then
// giving the verdict of every file of N packages, against `debsums -a` (conffiles
// included) on the same packages. Each side runs as a process of its own, alternately,
// -runs times; the figures are the median wall time and the peak RSS, and the ratios
// ours/debsums. It also prints what each side found changed, to show the findings
// agree.
//
//	go run ./bench/pkgdbbench -packages 20 -runs 5
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"fim/pkgdb"
)

var (
	root     = flag.String("root", "/", "root whose dpkg database is read")
	nPkgs    = flag.Int("packages", 20, "packages whose files are verified")
	runs     = flag.Int("runs", 5, "runs of each side")
	self     = flag.String("self", "", "internal: verify these comma-separated packages and print JSON")
	pkgsFlag = flag.String("names", "", "comma-separated packages to verify (default: -packages spread over the installed ones)")
)

type result struct {
	Load, Verify time.Duration
	Files        int
	Kinds        map[pkgdb.Kind]int
	Changed      []string
}

func main() {
	flag.Parse()
	if *self != "" {
		r, err := verify(strings.Split(*self, ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	names := strings.Split(*pkgsFlag, ",")
	if *pkgsFlag == "" {
		var err error
		if names, err = choose(*nPkgs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Printf("packages (%d): %s\n", len(names), strings.Join(names, " "))
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	var oursWall, debWall []time.Duration
	var oursRSS, debRSS int64
	var last result
	var debChanged []string
	for i := 0; i < *runs; i++ {
		out, wall, rss, err := measure(exe, "-root", *root, "-self", strings.Join(names, ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, "ours:", err)
			os.Exit(1)
		}
		if err := json.Unmarshal(out, &last); err != nil {
			panic(err)
		}
		oursWall, oursRSS = append(oursWall, wall), max(oursRSS, rss)
		// debsums exits 2 when it finds changed files: that is not a failure here.
		out, wall, rss, _ = measure("debsums", append([]string{"-a", "-c"}, names...)...)
		debWall, debRSS = append(debWall, wall), max(debRSS, rss)
		debChanged = strings.Fields(string(out))
	}
	om, dm := median(oursWall), median(debWall)
	fmt.Printf("files with a verdict: %d %v\n", last.Files, last.Kinds)
	fmt.Printf("ours (last run): load %v, verdicts %v\n", last.Load.Round(time.Millisecond), last.Verify.Round(time.Millisecond))
	fmt.Printf("| side | wall (median of %d) | peak RSS |\n|---|---|---|\n", *runs)
	fmt.Printf("| pkgdb: load all of dpkg + verdicts of %d packages | %v | %.1f MiB |\n", len(names), om.Round(time.Millisecond), float64(oursRSS)/1024)
	fmt.Printf("| debsums -a -c on the same packages | %v | %.1f MiB |\n", dm.Round(time.Millisecond), float64(debRSS)/1024)
	fmt.Printf("| ratio ours/debsums | %.2f× | %.2f× |\n", float64(om)/float64(dm), float64(oursRSS)/float64(debRSS))
	sort.Strings(debChanged)
	fmt.Printf("changed, ours (mismatch, conffile, missing): %v\nchanged, debsums -a -c: %v\n", last.Changed, debChanged)
}

// measure runs a program and returns its output, wall time and peak RSS in KiB.
func measure(name string, args ...string) ([]byte, time.Duration, int64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
	}
	return out, wall, rss, err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// choose picks n installed packages with digests, spread evenly over them by name.
func choose(n int) ([]string, error) {
	db, err := pkgdb.Open(*root)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var names []string
	for _, p := range db.Packages() {
		for _, f := range db.Files(p) {
			if f.Digest != nil {
				names = append(names, p.Name)
				break
			}
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	if len(names) <= n {
		return names, nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, names[i*len(names)/n])
	}
	return out, nil
}

// verify loads the database and gives the verdict of every file of the packages.
func verify(names []string) (result, error) {
	start := time.Now()
	db, err := pkgdb.Open(*root)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	r := result{Load: time.Since(start), Kinds: make(map[pkgdb.Kind]int)}
	want := make(map[string]bool)
	for _, n := range names {
		want[n] = true
	}
	start = time.Now()
	for _, p := range db.Packages() {
		if !want[p.Name] {
			continue
		}
		for _, f := range db.Files(p) {
			if f.Digest == nil {
				continue // directories and symlinks: debsums does not check them either
			}
			v := db.Verdict(f.Path, db.Opener(f.Path))
			r.Files++
			r.Kinds[v.Kind]++
			switch v.Kind {
			case pkgdb.Mismatch, pkgdb.Conffile, pkgdb.Missing:
				r.Changed = append(r.Changed, f.Path)
			}
		}
	}
	r.Verify = time.Since(start)
	sort.Strings(r.Changed)
	return r, nil
}
