package node_test

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/nodetest"
)

var benchGenerateBlocks = flag.Int("generate-blocks", 1000, "BenchmarkRegtestGenerate: blocks per op")

// BenchmarkRegtestGenerate measures what `POST /api/v1/mining/generate`
// does, minus HTTP: a regtest node with no peers mines and connects
// -generate-blocks blocks (default 1,000) per op, into a fresh Badger
// store each op, with the default chain-state cache and with a 1-byte one
// (a flush per block, the cost without write-back). Compare with btcd's
// `btcctl generate` (docs/PERFORMANCE.md). Run with -benchtime 3x.
func BenchmarkRegtestGenerate(b *testing.B) {
	for _, tc := range []struct {
		name  string
		bytes int64
	}{{"default-cache", 0}, {"flush-every-block", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			blocks := *benchGenerateBlocks
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				n := nodetest.Start(b, nodetest.Options{Quiet: true, Tweak: func(c *node.Config) { c.UtxoCacheBytes = tc.bytes }})
				b.StartTimer()
				hashes, err := n.Miner().Generate(context.Background(), blocks)
				b.StopTimer()
				if err != nil || len(hashes) != blocks {
					b.Fatal(fmt.Sprint(len(hashes), " blocks: ", err))
				}
				n.Stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*blocks)/b.Elapsed().Seconds(), "blocks/s")
		})
	}
}
