package sha256d

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkKernel is the scan alone on each supported kernel, one op per
// nonce:
//
//	go test -run '^$' -bench . -benchmem -count 3 ./miner/sha256d/
//
// The miner's BenchmarkScan and BenchmarkHashrate run the same kernels and
// also report the ratio to the single-stream SHA-256 rate.
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
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(b.N-done, 1<<30)
				if _, found, err := s.Scan(0, uint32(n-1)); found || err != nil {
					b.Fatalf("scan: %v, %v", found, err)
				}
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "nonces/s")
		})
	}
}
