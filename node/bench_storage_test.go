package node_test

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
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

var (
	benchSyncBlocks = flag.Int("sync-blocks", 1000, "BenchmarkInitialSync: blocks in the chain to sync")
	benchSyncTxs    = flag.Int("sync-txs", 0, "BenchmarkInitialSync: P2PKH transactions per block (0: coinbase-only blocks from the miner)")
)

// buildTxChain builds, offline, blocks regtest blocks on genesis with txs
// transactions each: every transaction spends one earlier output (the
// genesis faucet first) and splits it in two, so the UTXO set grows and
// every block reads outputs created by recent blocks.
func buildTxChain(b *testing.B, blocks, txs int) []*chain.Block {
	p := chain.RegtestParams
	keys := make([]*chaintest.Key, 8)
	for i := range keys {
		keys[i] = chaintest.NewKey(fmt.Sprint("sync", i))
	}
	miner := chaintest.NewKey("sync miner")
	queue := []chaintest.Prev{chaintest.GenesisPrev(p, chaintest.RegtestFaucet)}
	const fee = 500
	var out []*chain.Block
	prev, height, ts := p.GenesisHash, int32(0), p.GenesisBlock.Header.Timestamp
	for i := 0; i < blocks; i++ {
		var blockTxs []*chain.Tx
		var created []chaintest.Prev
		for t := 0; t < txs && len(queue) > 0; t++ {
			in := queue[0]
			queue = queue[1:]
			half := (in.Value - fee) / 2
			if half < 10_000 {
				continue // too small to split further
			}
			k1, k2 := keys[(i+t)%len(keys)], keys[(i+t+1)%len(keys)]
			tx := chaintest.Spend([]chaintest.Prev{in}, []chain.TxOut{{Value: half, PkScript: k1.Script}, {Value: in.Value - fee - half, PkScript: k2.Script}})
			blockTxs = append(blockTxs, tx)
			id := tx.TxHash()
			created = append(created, chaintest.Prev{OutPoint: chain.OutPoint{Hash: id, Index: 0}, Value: half, Key: k1},
				chaintest.Prev{OutPoint: chain.OutPoint{Hash: id, Index: 1}, Value: in.Value - fee - half, Key: k2})
		}
		queue = append(queue, created...)
		blk := chaintest.BlockOn(p, prev, height, ts, miner, "", blockTxs...)
		out = append(out, blk)
		prev, height, ts = blk.BlockHash(), height+1, blk.Header.Timestamp
	}
	return out
}
