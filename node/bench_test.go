package node_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/badgerdb"
	"github.com/minichain/minichain/node/nodetest"
)

// benchNode starts a regtest node for a benchmark: p2p on loopback, a
// Badger store in a temporary directory, quiet logs.
func benchNode(b *testing.B, bootstrap []string, p2pOn bool) (*node.Node, func()) {
	b.Helper()
	n := nodetest.Start(b, nodetest.Options{P2P: p2pOn, Bootstrap: bootstrap, Quiet: true})
	return n.Node, n.Stop
}

func benchWait(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	nodetest.WaitFor(b, timeout, what, cond)
}

// tipTimes records when each node connected each block.
type tipTimes struct {
	mu sync.Mutex
	at map[chain.Hash][]time.Time // per node index
}

// propagate has m mine a block and waits until every node has connected
// it; it returns the block's hash.
func (tt *tipTimes) propagate(b *testing.B, m *node.Node) chain.Hash {
	b.Helper()
	hs, err := m.Miner().Generate(context.Background(), 1)
	if err != nil {
		b.Fatal(err)
	}
	h := hs[0]
	benchWait(b, 30*time.Second, "the block to reach every node", func() bool {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		for _, at := range tt.at[h] {
			if at.IsZero() {
				return false
			}
		}
		return tt.at[h] != nil
	})
	return h
}

// BenchmarkBlockPropagation measures, in a 10-node network on loopback TCP,
// the time from a block being connected (and published) by the node that
// mined it to the last of the other nine connecting it. One op is one block;
// run with -benchtime 40x.
func BenchmarkBlockPropagation(b *testing.B) {
	const nodes = 10
	var ns []*node.Node
	first, stop := benchNode(b, nil, true)
	defer stop()
	ns = append(ns, first)
	boot := []string{first.P2P().Addrs()[0]}
	for i := 1; i < nodes; i++ {
		n, stop := benchNode(b, boot, true)
		defer stop()
		ns = append(ns, n)
	}
	benchWait(b, 60*time.Second, "every node to have 3 peers", func() bool {
		for _, n := range ns {
			if len(n.P2P().Peers()) < 3 {
				return false
			}
		}
		return true
	})
	tt := &tipTimes{at: map[chain.Hash][]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i, n := range ns {
		sub := n.Chain().Subscribe(0)
		wg.Go(func() {
			defer sub.Close()
			for {
				ev, err := sub.Next(ctx)
				if err != nil {
					return
				}
				if ev.Type == chain.BlockConnected {
					now := time.Now()
					tt.mu.Lock()
					if tt.at[ev.Hash] == nil {
						tt.at[ev.Hash] = make([]time.Time, nodes)
					}
					tt.at[ev.Hash][i] = now
					tt.mu.Unlock()
				}
			}
		})
	}
	// Warm-up, rather than a fixed wait for the gossip mesh to form: a
	// probe block from each node must reach every node before the timer
	// starts, so every node has published and been heard by all nine.
	for _, m := range ns {
		tt.propagate(b, m)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := tt.propagate(b, ns[i%nodes])
		tt.mu.Lock()
		src := tt.at[h][i%nodes]
		var last time.Time
		for _, at := range tt.at[h] {
			if at.After(last) {
				last = at
			}
		}
		tt.mu.Unlock()
		lat = append(lat, last.Sub(src))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkInitialSync compares, for a chain of 1,000 blocks, the rate at
// which a late joiner syncs them from a peer over loopback with the rate at
// which the same blocks connect from local memory into a fresh node's store
// (the same ProcessBlock path, no network). One op is one full sync; run
// with -benchtime 3x.
//
// -sync-blocks changes the chain's length and -sync-txs gives each block
// that many one-input, two-output P2PKH transactions (built offline and
// submitted to the source node): the figure is
// -sync-blocks 20000 -sync-txs 5 -benchtime 1x.
func BenchmarkInitialSync(b *testing.B) {
	blocks := *benchSyncBlocks
	src, stop := benchNode(b, nil, true)
	defer stop()
	if *benchSyncTxs > 0 {
		for _, blk := range buildTxChain(b, blocks, *benchSyncTxs) {
			if _, err := src.SubmitBlock(blk); err != nil {
				b.Fatal(err)
			}
		}
	}
	for done := int(src.Chain().BestSnapshot().Height); done < blocks; done += 200 {
		if _, err := src.Miner().Generate(context.Background(), min(200, blocks-done)); err != nil {
			b.Fatal(err)
		}
	}
	var chainBlocks []*chain.Block
	for h := int32(1); h <= int32(blocks); h++ {
		hash, _ := src.Chain().BlockHashByHeight(h)
		blk, err := src.Chain().BlockByHash(hash)
		if err != nil {
			b.Fatal(err)
		}
		chainBlocks = append(chainBlocks, blk)
	}
	var local, synced time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Local: the same blocks into a fresh Badger-backed chain.
		b.StopTimer()
		db, err := badgerdb.Open(b.TempDir(), badgerdb.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: db})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for _, blk := range chainBlocks {
			if _, err := c.ProcessBlock(blk, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		local += time.Since(start)
		b.StopTimer()
		db.Close()

		// Over the network: a late joiner bootstrapped from src.
		b.StartTimer()
		start = time.Now()
		n, stopN := benchNode(b, []string{src.P2P().Addrs()[0]}, true)
		benchWait(b, 5*time.Minute, "the late joiner to sync", func() bool {
			return n.Chain().BestSnapshot().Height == int32(blocks)
		})
		synced += time.Since(start)
		b.StopTimer()
		stopN()
		b.StartTimer()
	}
	b.StopTimer()
	localRate := float64(b.N*blocks) / local.Seconds()
	syncRate := float64(b.N*blocks) / synced.Seconds()
	b.ReportMetric(localRate, "local-blocks/s")
	b.ReportMetric(syncRate, "sync-blocks/s")
	b.ReportMetric(syncRate/localRate, "ratio")
}
