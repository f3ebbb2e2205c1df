package sim

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSimulatedDay simulates one day of a network of 20, 100 and
// 1,000 nodes (a block every 10 minutes, 8 peers dialled each, 100 ms
// links at 20 Mbit/s, 0.1 transactions per second, gossipsub mesh, the
// calibrated validation cost) and reports simulated seconds per wall-clock
// second, the peak heap and the peak heap per node. Run it with
//
//	go test -run '^$' -bench SimulatedDay -benchtime 1x ./sim
//
// The figures are in docs/PERFORMANCE.md.
func BenchmarkSimulatedDay(b *testing.B) {
	for _, nodes := range []int{20, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			var peak uint64
			sample := func() {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
			var simulated float64
			for i := 0; i < b.N; i++ {
				s, err := New(Config{Nodes: nodes, Duration: 24 * time.Hour, BlockInterval: 10 * time.Minute,
					Peers: 8, Latency: 100 * time.Millisecond, Bandwidth: 20e6, TxRate: 0.1, Seed: uint64(i + 1), Validation: DefaultValidationCost,
					Progress: func(time.Duration, int) { sample() }})
				if err != nil {
					b.Fatal(err)
				}
				r, err := s.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				sample()
				simulated += r.EndSeconds
			}
			b.ReportMetric(simulated/b.Elapsed().Seconds(), "sim-s/wall-s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peak)/(1<<10)/float64(nodes), "peak-heap-KiB/node")
		})
	}
}
