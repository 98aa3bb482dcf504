package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $FIM_CPUPROFILE, when set, until the returned
// function is called: how the benchmarks in BENCHMARKS.md were profiled.
func startProfile() (stop func()) {
	file := os.Getenv("FIM_CPUPROFILE")
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		logf("FIM_CPUPROFILE: %v", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
