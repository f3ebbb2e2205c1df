package sha256d

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"
)

// The benchmarks count one op per nonce:
//
//	go test -run '^$' -bench . -benchmem -count 3 ./miner/sha256d/
//
// limit-nonces/s is the single-stream bulk SHA-256 rate measured in the
// same run (crypto/sha256 over 1 MiB, compressions per second) divided by
// the 2 compressions a nonce costs from the midstate; ratio is the
// kernel's nonces/s over it.

// LimitNoncesPerSec measures the single-core bulk SHA-256 rate for about
// d and returns it as nonces per second at 2 compressions per nonce.
func limitNoncesPerSec(d time.Duration) float64 {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	var n int
	for time.Since(start) < d {
		sha256.Sum256(buf)
		n++
	}
	return float64(n*len(buf)) / time.Since(start).Seconds() / sha256.BlockSize / 2
}

// BenchmarkKernel is the scan alone on each supported kernel.
func BenchmarkKernel(b *testing.B) {
	header := randomHeader(rand.New(rand.NewPCG(1, 1)))
	for _, k := range Kernels() {
		b.Run(k.String(), func(b *testing.B) {
			if !k.Supported() {
				b.Skipf("%v not supported by this CPU", k)
			}
			s, err := New(k)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Reset(&header, &[32]byte{}); err != nil {
				b.Fatal(err)
			}
			limit := limitNoncesPerSec(200 * time.Millisecond)
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(b.N-done, 1<<30)
				if _, found, err := s.Scan(0, uint32(n-1)); found || err != nil {
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
