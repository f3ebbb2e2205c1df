package chain_test

import (
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/node/badgerdb"
)

// benchFixture is a chain whose tip holds 2,000 confirmed P2PKH outputs of
// one fan-out transaction, and a block spending all of them: 100
// transactions of 20 inputs each.
type benchFixture struct {
	c     *chain.Chain
	block *chain.Block
	txids []chain.Hash
}

const (
	benchTxs    = 100
	benchInputs = 20
)

func newBenchFixture(tb testing.TB, db store.DB) *benchFixture {
	tb.Helper()
	p := chain.RegtestParams
	c, err := chain.New(chain.Config{Params: p, DB: db})
	if err != nil {
		tb.Fatal(err)
	}
	keys := make([]*chaintest.Key, benchTxs)
	for i := range keys {
		keys[i] = chaintest.NewKey("bench" + itoa(i))
	}
	fp := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	const value = 1_000_000
	var outs []chain.TxOut
	for i := 0; i < benchTxs*benchInputs; i++ {
		outs = append(outs, chain.TxOut{Value: value, PkScript: keys[i/benchInputs].Script})
	}
	outs = append(outs, chain.TxOut{Value: fp.Value - value*benchTxs*benchInputs - 1_000_000, PkScript: chaintest.RegtestFaucet.Script})
	fan := chaintest.Spend([]chaintest.Prev{fp}, outs)
	miner := chaintest.NewKey("miner")
	chaintest.MineOnTip(c, miner, "fan", fan)
	var txs []*chain.Tx
	for t := 0; t < benchTxs; t++ {
		var prevs []chaintest.Prev
		for i := 0; i < benchInputs; i++ {
			prevs = append(prevs, chaintest.Prev{OutPoint: chain.OutPoint{Hash: fan.TxHash(), Index: uint32(t*benchInputs + i)},
				Value: value, Key: keys[t]})
		}
		txs = append(txs, chaintest.Spend(prevs, []chain.TxOut{{Value: value*benchInputs - 10_000, PkScript: miner.Script}}))
	}
	best := c.BestSnapshot()
	b := chaintest.BlockOn(p, best.Hash, best.Height, uint32(best.Timestamp), miner, "big", txs...)
	return &benchFixture{c: c, block: b, txids: b.TxHashes()}
}

func (f *benchFixture) connect(b *testing.B, workers int, cache *chain.SigCache) {
	best := f.c.BestSnapshot()
	view := chain.NewUtxoView(f.c)
	if _, err := chain.ConnectBlock(f.block, f.txids, best.Height+1, best.MedianTime, view, chain.RegtestParams,
		chain.ConnectOptions{ScriptWorkers: workers, SigCache: cache}); err != nil {
		b.Fatal(err)
	}
}

// warmSignatures verifies every input of the fixture's block through
// cache, which then holds every signature but no transaction's scripts.
func (f *benchFixture) warmSignatures(b *testing.B, cache *chain.SigCache) {
	view := chain.NewUtxoView(f.c)
	var jobs []chain.ScriptJob
	for _, tx := range f.block.Transactions[1:] {
		sh := chain.NewSigHashes(tx)
		for k := range tx.TxIn {
			e, err := view.Lookup(tx.TxIn[k].PrevOut)
			if err != nil || e == nil {
				b.Fatalf("input %d: %v", k, err)
			}
			jobs = append(jobs, chain.ScriptJob{Tx: tx, Index: k, PkScript: e.PkScript, Amount: e.Value, SigHashes: sh, Cache: cache})
		}
	}
	if err := chain.CheckScripts(jobs, 1); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConnectBlock2000Inputs validates a block of 2,000 P2PKH inputs
// (all rules, every signature) single-threaded and on all cores; with a
// signature cache that already holds every signature; and with one that
// also records every transaction's scripts as verified, as it does when the
// block's transactions came through the mempool first.
func BenchmarkConnectBlock2000Inputs(b *testing.B) {
	f := newBenchFixture(b, store.NewMemory())
	sigsOnly := chain.NewSigCache(0)
	f.warmSignatures(b, sigsOnly)
	scripts := chain.NewSigCache(0)
	f.connect(b, 1, scripts)
	for _, tc := range []struct {
		name    string
		workers int
		cache   *chain.SigCache
	}{{"serial", 1, nil}, {"parallel", 0, nil}, {"serial-sigcache-warm", 1, sigsOnly}, {"serial-scripts-verified", 1, scripts}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f.connect(b, tc.workers, tc.cache)
			}
			b.ReportMetric(float64(b.N*benchTxs*benchInputs)/b.Elapsed().Seconds(), "inputs/s")
		})
	}
}

// BenchmarkProcessBlockBadger connects the same block through ProcessBlock
// into a Badger store on disk: validation plus the one synced write.
func BenchmarkProcessBlockBadger(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := badgerdb.Open(b.TempDir(), badgerdb.Options{})
		if err != nil {
			b.Fatal(err)
		}
		f := newBenchFixture(b, db)
		b.StartTimer()
		if _, err := f.c.ProcessBlock(f.block, chaintest.Now); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
