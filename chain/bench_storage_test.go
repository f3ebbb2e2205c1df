package chain_test

import (
	"flag"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node/badgerdb"
)

var (
	benchP2PKHBlocks = flag.Int("p2pkh-blocks", 200, "BenchmarkConnectP2PKHBlocks: blocks of 1,000 P2PKH inputs")
)

const (
	p2pkhInputs    = 1000 // inputs per block
	p2pkhPerTx     = 10   // inputs per transaction
	p2pkhFansBlock = 20   // fan-out transactions per setup block
	p2pkhValue     = 100_000
)

// p2pkhFixture is a chain of setup blocks creating the outputs, then
// blocks each spending 1,000 of them.
type p2pkhFixture struct {
	setup, spend []*chain.Block
	raws         []rawSig // the first spending block's signatures
}

type rawSig struct {
	pub    *secp256k1.PublicKey
	sig    *ecdsa.Signature
	digest chain.Hash
}

func newP2PKHFixture(tb testing.TB, blocks int) *p2pkhFixture {
	p := chain.RegtestParams
	keys := make([]*chaintest.Key, 16)
	for i := range keys {
		keys[i] = chaintest.NewKey("p2pkh" + itoa(i))
	}
	miner := chaintest.NewKey("miner")
	f := &p2pkhFixture{}
	prevHash, prevHeight, prevTime := p.GenesisHash, int32(0), p.GenesisBlock.Header.Timestamp
	add := func(list *[]*chain.Block, txs []*chain.Tx) {
		b := chaintest.BlockOn(p, prevHash, prevHeight, prevTime, miner, "", txs...)
		*list = append(*list, b)
		prevHash, prevHeight, prevTime = b.BlockHash(), prevHeight+1, b.Header.Timestamp
	}
	// A root transaction splits the faucet output in one per spending
	// block; each of those fans out into the block's 1,000 outputs.
	faucet := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	perBlock := uint64(p2pkhInputs*p2pkhValue + 10_000)
	var rootOuts []chain.TxOut
	for i := 0; i < blocks; i++ {
		rootOuts = append(rootOuts, chain.TxOut{Value: perBlock, PkScript: chaintest.RegtestFaucet.Script})
	}
	root := chaintest.Spend([]chaintest.Prev{faucet}, rootOuts)
	add(&f.setup, []*chain.Tx{root})
	fans := make([]*chain.Tx, blocks)
	var pending []*chain.Tx
	for i := range fans {
		var outs []chain.TxOut
		for j := 0; j < p2pkhInputs; j++ {
			outs = append(outs, chain.TxOut{Value: p2pkhValue, PkScript: keys[j%len(keys)].Script})
		}
		fans[i] = chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: root.TxHash(), Index: uint32(i)},
			Value: perBlock, Key: chaintest.RegtestFaucet}}, outs)
		if pending = append(pending, fans[i]); len(pending) == p2pkhFansBlock || i == len(fans)-1 {
			add(&f.setup, pending)
			pending = nil
		}
	}
	for i, fan := range fans {
		var txs []*chain.Tx
		for t := 0; t < p2pkhInputs/p2pkhPerTx; t++ {
			var prevs []chaintest.Prev
			for j := t * p2pkhPerTx; j < (t+1)*p2pkhPerTx; j++ {
				prevs = append(prevs, chaintest.Prev{OutPoint: chain.OutPoint{Hash: fan.TxHash(), Index: uint32(j)},
					Value: p2pkhValue, Key: keys[j%len(keys)]})
			}
			txs = append(txs, chaintest.Spend(prevs, []chain.TxOut{{Value: p2pkhValue*p2pkhPerTx - 1000, PkScript: miner.Script}}))
		}
		add(&f.spend, txs)
		if i == 0 {
			f.raws = rawSigs(tb, txs, keys)
		}
	}
	return f
}

// rawSigs parses the signatures of txs' inputs (each spends a P2PKH output
// of p2pkhValue to keys[j%len(keys)], j its index in the fan-out).
func rawSigs(tb testing.TB, txs []*chain.Tx, keys []*chaintest.Key) []rawSig {
	var raws []rawSig
	for t, tx := range txs {
		for i, in := range tx.TxIn {
			ops, err := chain.ParseScript(in.SigScript)
			if err != nil || len(ops) != 2 {
				tb.Fatalf("signature script: %v", err)
			}
			pub, err1 := chain.ParsePubKey(ops[1].Data)
			sig, err2 := chain.ParseSignature(ops[0].Data[:len(ops[0].Data)-1])
			key := keys[(t*p2pkhPerTx+i)%len(keys)]
			d, err3 := chain.CalcSignatureHash(tx, i, key.Script, p2pkhValue, chain.SigHashAll, nil)
			if err1 != nil || err2 != nil || err3 != nil {
				tb.Fatal(err1, err2, err3)
			}
			raws = append(raws, rawSig{pub, sig, d})
		}
	}
	return raws
}

// verifyParallel verifies raws on GOMAXPROCS goroutines.
func verifyParallel(tb testing.TB, raws []rawSig) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(raws); i += workers {
				if !raws[i].sig.Verify(raws[i].digest[:], raws[i].pub) {
					tb.Error("signature does not verify")
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// BenchmarkConnectP2PKHBlocks connects -p2pkh-blocks blocks (default 200)
// of 1,000 P2PKH inputs each (100 transactions of 10 inputs) through
// ProcessBlock into a fresh Badger store, with the final flush included,
// and measures in the same op the rate of bare ECDSA verifications on all
// cores (parsed keys and signatures, precomputed digests), the ceiling for
// connecting: after each block, 1,000 of them, so both rates sample the
// same machine load. It reports both rates and their ratio (target >= 0.8).
// One op is the whole chain; run with -benchtime 1x -count 3.
func BenchmarkConnectP2PKHBlocks(b *testing.B) {
	f := newP2PKHFixture(b, *benchP2PKHBlocks)
	inputs := len(f.spend) * p2pkhInputs
	for _, tc := range []struct {
		name  string
		bytes int64
	}{{"default-cache", 0}, {"flush-every-block", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			var connect, verify time.Duration
			verified := 0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := badgerdb.Open(b.TempDir(), badgerdb.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: db, StateCacheBytes: tc.bytes})
				if err != nil {
					b.Fatal(err)
				}
				for _, blk := range f.setup {
					if _, err := c.ProcessBlock(blk, chaintest.Now); err != nil {
						b.Fatal(err)
					}
				}
				if err := c.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				// Connecting and verifying alternate block by block, so
				// both rates see the same load on a shared machine.
				for k, blk := range f.spend {
					start := time.Now()
					if _, err := c.ProcessBlock(blk, chaintest.Now); err != nil {
						b.Fatal(err)
					}
					if k == len(f.spend)-1 {
						if err := c.Flush(); err != nil {
							b.Fatal(err)
						}
					}
					connect += time.Since(start)
					start = time.Now()
					verifyParallel(b, f.raws)
					verify += time.Since(start)
					verified += len(f.raws)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			connRate := float64(b.N*inputs) / connect.Seconds()
			verRate := float64(verified) / verify.Seconds()
			b.ReportMetric(connRate, "inputs/s")
			b.ReportMetric(verRate, "verify/s")
			b.ReportMetric(connRate/verRate, "ratio")
		})
	}
}
