package miner

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
)

// The benchmarks count one op per nonce. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 3 ./miner/
//
// limit-nonces/s is the machine's ceiling for one core, measured in the same
// run: the bulk SHA-256 rate over a 1 MiB buffer in compressions per second
// (bytes/s ÷ 64), divided by the 2 compressions a nonce costs with the
// midstate. ratio is nonces/s per worker divided by that limit.

// limitNoncesPerSec measures the single-core bulk SHA-256 rate and returns
// it as nonces per second at 2 compressions per nonce.
func limitNoncesPerSec() float64 {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	var n int
	for time.Since(start) < 200*time.Millisecond {
		sha256.Sum256(buf)
		n++
	}
	bytesPerSec := float64(n*len(buf)) / time.Since(start).Seconds()
	return bytesPerSec / sha256.BlockSize / 2
}

// BenchmarkSHA256Bulk is the bulk rate the limit is derived from.
func BenchmarkSHA256Bulk(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sha256.Sum256(buf)
	}
}

// BenchmarkScan is the hot loop alone, one nonce per op, no checks, on the
// padded path (the one the miner uses) and on the Sum path.
func BenchmarkScan(b *testing.B) {
	tmpl := regtestTemplate(b)
	hdr, err := tmpl.Header(0)
	if err != nil {
		b.Fatal(err)
	}
	var raw [chain.HeaderSize]byte
	hdr.AppendTo(raw[:0])
	for _, path := range []string{"padded", "sum"} {
		b.Run(path, func(b *testing.B) {
			hs := hasherPaths(b)[path]
			if err := hs.setHeader(&raw); err != nil {
				b.Fatal(err)
			}
			limit := limitNoncesPerSec()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(b.N-done, 1<<30)
				if _, found, err := hs.scan(0, uint32(n-1), impossible, nil); found || err != nil {
					b.Fatalf("scan: %v, %v", found, err)
				}
				done += n
			}
			b.StopTimer()
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "nonces/s")
			b.ReportMetric(limit, "limit-nonces/s")
			b.ReportMetric(rate/limit, "ratio")
		})
	}
}

// runWorkers runs the real worker code (search.work, with its context and
// tip checks) on workers goroutines, each over perWorker nonces of its own
// extra nonce, and returns the time it took.
func runWorkers(tb testing.TB, tmpl *Template, workers, perWorker int) time.Duration {
	var hashes atomic.Uint64
	s := &search{tmpl: tmpl, target: *impossible, workers: workers, lastNonce: uint32(perWorker - 1),
		extraNonces: uint64(workers), hashes: &hashes, stale: func() bool { return false }}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if _, err := s.work(context.Background(), w); !errors.Is(err, errExhausted) {
				tb.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if got := hashes.Load(); got != uint64(workers*perWorker) {
		tb.Errorf("%d hashes counted, want %d", got, workers*perWorker)
	}
	return elapsed
}

// BenchmarkHashrate is the total hash rate of 1 and 2 workers: one op is one
// nonce, spread evenly over the workers.
func BenchmarkHashrate(b *testing.B) {
	tmpl := regtestTemplate(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			limit := limitNoncesPerSec()
			perWorker := (b.N + workers - 1) / workers
			b.ResetTimer()
			runWorkers(b, tmpl, workers, perWorker)
			b.StopTimer()
			rate := float64(workers*perWorker) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "nonces/s")
			b.ReportMetric(limit, "limit-nonces/s")
			b.ReportMetric(rate/float64(workers)/limit, "ratio")
		})
	}
}

// bulkHash hashes perWorker MiB on each of workers goroutines and returns
// the time it took: the machine's own scaling, for comparison.
func bulkHash(workers, perWorker int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for range perWorker {
				sha256.Sum256(buf)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkScaling measures, in alternation, 1 worker and 2 workers over
// the same number of nonces each, and reports the median speedup of the
// total hash rate. For comparison, bulk-speedup is the same ratio for plain
// SHA-256 over 1 MiB buffers measured between them: when it is low too, the
// machine (another process, a busy host) was the limit, not the miner.
// Each iteration takes about 2 s; use -benchtime 5x or more.
func BenchmarkScaling(b *testing.B) {
	tmpl := regtestTemplate(b)
	const perWorker = 1 << 23
	const bulkMiB = 512
	var speedups, bulk []float64
	var one, two time.Duration
	for b.Loop() {
		t1 := runWorkers(b, tmpl, 1, perWorker)
		t2 := runWorkers(b, tmpl, 2, perWorker)
		speedups = append(speedups, 2*t1.Seconds()/t2.Seconds())
		bulk = append(bulk, 2*bulkHash(1, bulkMiB).Seconds()/bulkHash(2, bulkMiB).Seconds())
		one += t1
		two += t2
	}
	n := float64(len(speedups))
	b.ReportMetric(n*perWorker/one.Seconds(), "1-worker-nonces/s")
	b.ReportMetric(n*2*perWorker/two.Seconds(), "2-worker-nonces/s")
	b.ReportMetric(median(speedups), "speedup")
	b.ReportMetric(median(bulk), "bulk-speedup")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
