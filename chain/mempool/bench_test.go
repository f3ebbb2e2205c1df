package mempool_test

import (
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/chain/store"
)

// BenchmarkAcceptVsVerify measures, in the same run, the rate of raw ECDSA
// verifications (parsed key and signature, precomputed digest) and the rate
// of mempool acceptance of one-input P2PKH transactions (every policy and
// consensus check, UTXO lookups, sighash, key and DER parsing, and the same
// verification). It reports both and the overhead of acceptance over the
// bare verify.
func BenchmarkAcceptVsVerify(b *testing.B) {
	const n = 2000
	f := &fixture{t: &testing.T{}, p: chain.RegtestParams, db: store.NewMemory(), clock: time.Unix(1_800_000_000, 0)}
	var err error
	if f.c, err = chain.New(chain.Config{Params: f.p, DB: f.db}); err != nil {
		b.Fatal(err)
	}
	prevs := f.fanOut(n, 1_000_000)
	txs := make([]*chain.Tx, n)
	type raw struct {
		pub    *secp256k1.PublicKey
		sig    *ecdsa.Signature
		digest chain.Hash
	}
	raws := make([]raw, n)
	for i, p := range prevs {
		txs[i] = chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{out(bob, p.Value-1000)})
		ops, _ := chain.ParseScript(txs[i].TxIn[0].SigScript)
		sigBytes, pubBytes := ops[0].Data, ops[1].Data
		pub, _ := chain.ParsePubKey(pubBytes)
		sig, _ := chain.ParseSignature(sigBytes[:len(sigBytes)-1])
		d, _ := chain.CalcSignatureHash(txs[i], 0, p.Key.Script, p.Value, chain.SigHashAll, nil)
		raws[i] = raw{pub, sig, d}
	}
	var verifyTime, acceptTime time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		start := time.Now()
		for i := range raws {
			if !raws[i].sig.Verify(raws[i].digest[:], raws[i].pub) {
				b.Fatal("verify failed")
			}
		}
		verifyTime += time.Since(start)

		b.StopTimer()
		mp, err := mempool.New(mempool.Config{Params: f.p, Chain: f.c})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		for _, tx := range txs {
			if _, err := mp.AcceptTx(tx); err != nil {
				b.Fatal(err)
			}
		}
		acceptTime += time.Since(start)
	}
	total := float64(b.N * n)
	b.ReportMetric(total/verifyTime.Seconds(), "verifies/s")
	b.ReportMetric(total/acceptTime.Seconds(), "accepts/s")
	b.ReportMetric(100*(acceptTime.Seconds()/verifyTime.Seconds()-1), "overhead_%")
}
