package main

import (
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// startProfile writes a CPU profile to $FIM_CPUPROFILE, when set, until the returned
// function is called, and a heap profile to $FIM_MEMPROFILE, when set, taken when the
// heap's live objects were largest (looked at four times a second): how the
// benchmarks in BENCHMARKS.md were profiled.
func startProfile() (stop func()) {
	stopCPU := func() {}
	if file := os.Getenv("FIM_CPUPROFILE"); file != "" {
		f, err := os.Create(file)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			logf("FIM_CPUPROFILE: %v", err)
		} else {
			stopCPU = func() {
				pprof.StopCPUProfile()
				f.Close()
			}
		}
	}
	stopHeap := func() {}
	if file := os.Getenv("FIM_MEMPROFILE"); file != "" {
		stopHeap = peakHeapProfile(file)
	}
	return func() {
		stopCPU()
		stopHeap()
	}
}

// peakHeapProfile writes the heap profile to file whenever the live heap has grown by
// a tenth since it was last written, until the returned function is called.
func peakHeapProfile(file string) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(stopped)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		var written uint64
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > written+written/10 {
				written = live
				f, err := os.Create(file)
				if err == nil {
					err = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
				if err != nil {
					logf("FIM_MEMPROFILE: %v", err)
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
