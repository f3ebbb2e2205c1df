package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbnjay/memory"

	"github.com/minichain/minichain/sim"
)

// memLimitFlag is the simulator's --memory-limit: a soft limit on the Go
// runtime's memory, in GOMEMLIMIT's syntax. The simulator collects at four
// times the live heap (GOGC=300) to save CPU; the limit bounds what that
// headroom may cost: near it the collector runs as often as it takes to
// stay under it instead of growing past it.
type memLimitFlag struct {
	bytes int64 // 0: no limit
	set   bool
}

func (f *memLimitFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	if f.bytes == 0 {
		return "off"
	}
	return sim.FormatBytes(f.bytes)
}

func (f *memLimitFlag) Set(s string) error {
	v, err := parseMemLimit(s)
	if err != nil {
		return err
	}
	f.bytes, f.set = v, true
	return nil
}

// parseMemLimit reads a size as GOMEMLIMIT does: a number of bytes with an
// optional unit B, KiB, MiB, GiB or TiB (e.g. 7GiB, 1500MiB), or "off".
func parseMemLimit(s string) (int64, error) {
	if s == "off" {
		return 0, nil
	}
	num, mult := s, 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v > 0) || v*mult > math.MaxInt64/2 { // !(v > 0) also refuses NaN
		return 0, fmt.Errorf("want a size such as 7GiB or 1500MiB (units B, KiB, MiB, GiB, TiB), or off")
	}
	if v*mult < 64<<20 {
		return 0, fmt.Errorf("%s is below 64MiB, too little for any simulation", s)
	}
	return int64(v * mult), nil
}

// applySimMemoryPolicy sets the simulator's garbage collection: GOGC=300
// unless GOGC is set, and the soft memory limit the flag gives, else
// GOMEMLIMIT's, else three quarters of the machine's memory (none if that
// is unknown). It returns a description for the run's last line.
func applySimMemoryPolicy(f *memLimitFlag) string {
	gc := "GOGC=" + os.Getenv("GOGC")
	if os.Getenv("GOGC") == "" {
		// The nodes share their chain state (sim/sharedstore), so the
		// live heap is small next to what the run allocates and throws
		// away; collecting at 4x the live heap instead of 2x saves CPU.
		debug.SetGCPercent(300)
		gc = "GOGC=300"
	}
	var limit int64
	switch {
	case f.set:
		limit = f.bytes
		if limit == 0 {
			limit = math.MaxInt64 // off
		}
		debug.SetMemoryLimit(limit)
	case os.Getenv("GOMEMLIMIT") != "":
		limit = debug.SetMemoryLimit(-1) // the runtime read it
	default:
		if total := machineMemory(); total > 0 {
			limit = total / 4 * 3
			debug.SetMemoryLimit(limit)
		}
	}
	if limit == 0 || limit == math.MaxInt64 {
		return gc + ", no memory limit"
	}
	return gc + ", soft memory limit " + sim.FormatBytes(limit)
}

// machineMemory is the memory the process may use: the machine's, or its
// control group's limit if that is lower (a container); 0 if unknown.
func machineMemory() int64 {
	total := memory.TotalMemory()
	if total == 0 || total > math.MaxInt64 {
		return 0
	}
	m := int64(total)
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "max" (cgroup v2) or a huge number (v1) mean no limit.
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && v < m {
			m = v
		}
	}
	return m
}

// heapWatch samples the live heap (what the last collection kept) while a
// run goes on and keeps the largest value: the memory the simulation
// itself needs, apart from the collector's headroom. Stop ends its
// goroutine and returns the peak.
type heapWatch struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func watchHeap(every time.Duration) *heapWatch {
	w := &heapWatch{stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				w.peak = max(w.peak, sample[0].Value.Uint64())
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop stops the sampling and returns the largest live heap seen.
func (w *heapWatch) Stop() uint64 {
	close(w.stop)
	w.done.Wait()
	return w.peak
}
