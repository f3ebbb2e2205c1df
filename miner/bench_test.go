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
	"github.com/minichain/minichain/miner/sha256d"
)

// The benchmarks count one op per nonce. Run them with
//
//	go test -run '^$' -bench 'SHA256Bulk|Scan|Hashrate' -benchmem -count 3 ./miner/
//
// limit-nonces/s is the machine's ceiling for one core at the single-stream
// rate: bulk SHA-256 over a 1 MiB buffer in compressions per second
// (bytes/s ÷ 64), divided by the 2 compressions a nonce costs with the
// midstate. ratio is nonces/s per worker divided by that limit. Both are
// medians over pairs of short runs that alternate bulk hashing and the
// benchmarked code, so that a busy machine slows both sides of each pair
// alike; nonces/s is the benchmark's own run.

// bulkRate hashes 1 MiB buffers for about d and returns the rate as nonces
// per second at 2 compressions per nonce.
func bulkRate(buf []byte, d time.Duration) float64 {
	start := time.Now()
	var n int
	for time.Since(start) < d {
		sha256.Sum256(buf)
		n++
	}
	return float64(n*len(buf)) / time.Since(start).Seconds() / sha256.BlockSize / 2
}

// pairedRatio alternates, pairs times, about 20 ms of bulk SHA-256 with
// about 20 ms of run (which hashes n nonces per call and returns how long
// they took), and returns the medians of the limit and of the ratio of run's
// rate per worker to the limit.
func pairedRatio(workers int, run func() (n int, d time.Duration)) (limit, ratio float64) {
	const pairs, slice = 7, 20 * time.Millisecond
	buf := make([]byte, 1<<20)
	var limits, ratios []float64
	for range pairs {
		l := bulkRate(buf, slice)
		var nonces int
		var took time.Duration
		for took < slice {
			n, d := run()
			nonces += n
			took += d
		}
		limits = append(limits, l)
		ratios = append(ratios, float64(nonces)/took.Seconds()/float64(workers)/l)
	}
	return median(limits), median(ratios)
}

// BenchmarkSHA256Bulk is the bulk rate the limit is derived from.
func BenchmarkSHA256Bulk(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sha256.Sum256(buf)
	}
}

// eachKernel runs f as a sub-benchmark per kernel; an unsupported kernel's
// is skipped, so the output says so.
func eachKernel(b *testing.B, f func(b *testing.B, k sha256d.Kernel)) {
	for _, k := range sha256d.Kernels() {
		b.Run(k.String(), func(b *testing.B) {
			if !k.Supported() {
				b.Skipf("kernel %v not supported by this CPU", k)
			}
			f(b, k)
		})
	}
}

// BenchmarkScan is the hot loop alone, one nonce per op, no checks, on
// each kernel.
func BenchmarkScan(b *testing.B) {
	tmpl := regtestTemplate(b)
	hdr, err := tmpl.Header(0)
	if err != nil {
		b.Fatal(err)
	}
	var raw [chain.HeaderSize]byte
	hdr.AppendTo(raw[:0])
	eachKernel(b, func(b *testing.B, k sha256d.Kernel) {
		sc, err := sha256d.New(k)
		if err != nil {
			b.Fatal(err)
		}
		if err := sc.Reset(&raw, impossible); err != nil {
			b.Fatal(err)
		}
		scan := func(n int) {
			if _, found, err := sc.Scan(0, uint32(n-1)); found || err != nil {
				b.Fatalf("scan: %v, %v", found, err)
			}
		}
		b.ResetTimer()
		for done := 0; done < b.N; {
			n := min(b.N-done, 1<<30)
			scan(n)
			done += n
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "nonces/s")
		limit, ratio := pairedRatio(1, func() (int, time.Duration) {
			start := time.Now()
			scan(1 << 14)
			return 1 << 14, time.Since(start)
		})
		b.ReportMetric(limit, "limit-nonces/s")
		b.ReportMetric(ratio, "ratio")
	})
}

// runWorkers runs the real worker code (search.work, with its context and
// tip checks) on workers goroutines, each over perWorker nonces of its own
// extra nonce, and returns the time it took.
func runWorkers(tb testing.TB, tmpl *Template, k sha256d.Kernel, workers, perWorker int) time.Duration {
	var hashes atomic.Uint64
	s := &search{tmpl: tmpl, kernel: k, target: *impossible, workers: workers, lastNonce: uint32(perWorker - 1),
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

// BenchmarkHashrate is the total hash rate of 1 and 2 workers on each
// kernel: one op is one nonce, spread evenly over the workers. ratio is
// per worker.
func BenchmarkHashrate(b *testing.B) {
	tmpl := regtestTemplate(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			eachKernel(b, func(b *testing.B, k sha256d.Kernel) {
				perWorker := (b.N + workers - 1) / workers
				b.ResetTimer()
				runWorkers(b, tmpl, k, workers, perWorker)
				b.StopTimer()
				b.ReportMetric(float64(workers*perWorker)/b.Elapsed().Seconds(), "nonces/s")
				limit, ratio := pairedRatio(workers, func() (int, time.Duration) {
					const per = 1 << 16
					return workers * per, runWorkers(b, tmpl, k, workers, per)
				})
				b.ReportMetric(limit, "limit-nonces/s")
				b.ReportMetric(ratio, "ratio")
			})
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
		t1 := runWorkers(b, tmpl, sha256d.Auto, 1, perWorker)
		t2 := runWorkers(b, tmpl, sha256d.Auto, 2, perWorker)
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
