package chain_test

import (
	"errors"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

// sigJob returns a signed one-input transaction's script job.
func sigJob(t *testing.T, k *chaintest.Key, value uint64) chain.ScriptJob {
	t.Helper()
	prev := chaintest.Prev{OutPoint: chain.OutPoint{Hash: chain.DoubleSHA256([]byte("funding")), Index: 1}, Value: value, Key: k}
	tx := chaintest.Spend([]chaintest.Prev{prev}, []chain.TxOut{{Value: value - 1000, PkScript: k.Script}})
	return chain.ScriptJob{Tx: tx, Index: 0, PkScript: k.Script, Amount: value, SigHashes: chain.NewSigHashes(tx)}
}

func TestSigCache(t *testing.T) {
	k := chaintest.NewKey("sigcache")
	cache := chain.NewSigCache(0)

	job := sigJob(t, k, 50_000)
	job.Cache = cache
	if err := chain.CheckScripts([]chain.ScriptJob{job}, 1); err != nil {
		t.Fatal(err)
	}
	if cache.Len() != 1 {
		t.Fatalf("after one good signature: %d entries, want 1", cache.Len())
	}
	if err := chain.CheckScripts([]chain.ScriptJob{job}, 1); err != nil {
		t.Fatalf("cached check: %v", err)
	}

	// The same signature for another amount is another signature hash: not
	// a hit, and it fails.
	wrong := job
	wrong.Amount++
	if err := chain.CheckScripts([]chain.ScriptJob{wrong}, 1); !errors.Is(err, chain.ErrSignatureMismatch) {
		t.Fatalf("signature over another amount: got %v, want ErrSignatureMismatch", err)
	}
	// Another key's pubkey in the script: not a hit either.
	other := chaintest.NewKey("other")
	swapped := job
	swapped.Tx = job.Tx.Copy()
	sig := swapped.Tx.TxIn[0].SigScript
	swapped.Tx.TxIn[0].SigScript = chain.AppendPush(sig[:1+int(sig[0])], other.PubKey)
	swapped.PkScript = other.Script
	swapped.SigHashes = chain.NewSigHashes(swapped.Tx)
	if err := chain.CheckScripts([]chain.ScriptJob{swapped}, 1); err == nil {
		t.Fatal("a signature under another key passed")
	}
	if cache.Len() != 1 {
		t.Fatalf("failures were cached: %d entries, want 1", cache.Len())
	}

	// A nil cache caches nothing and still verifies.
	job.Cache = nil
	if err := chain.CheckScripts([]chain.ScriptJob{job}, 1); err != nil {
		t.Fatal(err)
	}
	var none *chain.SigCache
	if none.Len() != 0 {
		t.Fatal("nil cache has entries")
	}
}

func TestSigCacheBounded(t *testing.T) {
	k := chaintest.NewKey("bounded")
	cache := chain.NewSigCache(3)
	for v := uint64(10_000); v < 10_010; v++ {
		job := sigJob(t, k, v)
		job.Cache = cache
		if err := chain.CheckScripts([]chain.ScriptJob{job}, 1); err != nil {
			t.Fatal(err)
		}
		if cache.Len() > 3 {
			t.Fatalf("cache of 3 holds %d", cache.Len())
		}
	}
	if cache.Len() != 3 {
		t.Fatalf("cache of 3 holds %d after 10 adds", cache.Len())
	}
}

// faucetSource serves the regtest genesis output, the faucet's coin.
type faucetSource struct{ prev chaintest.Prev }

func (s faucetSource) FetchUtxo(op chain.OutPoint) (*chain.UtxoEntry, error) {
	if op != s.prev.OutPoint {
		return nil, nil
	}
	return &chain.UtxoEntry{Value: s.prev.Value, PkScript: s.prev.Key.Script}, nil
}

// TestScriptsVerifiedCache: ConnectBlock records the transactions whose
// scripts it verified, and skips the script check of a transaction the
// cache says passed (as after the mempool checked it); without that entry
// a bad signature fails the block.
func TestScriptsVerifiedCache(t *testing.T) {
	p := chain.RegtestParams
	faucet := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	miner := chaintest.NewKey("script cache miner")
	connect := func(tx *chain.Tx, cache *chain.SigCache) error {
		b := chaintest.BlockOn(p, p.GenesisHash, 0, p.GenesisBlock.Header.Timestamp, miner, "x", tx)
		_, err := chain.ConnectBlock(b, b.TxHashes(), 1, 0, chain.NewUtxoView(faucetSource{faucet}), p,
			chain.ConnectOptions{ScriptWorkers: 1, SigCache: cache})
		return err
	}
	good := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{{Value: faucet.Value - 1000, PkScript: miner.Script}})
	cache := chain.NewSigCache(0)
	if err := connect(good, cache); err != nil {
		t.Fatal(err)
	}
	if !cache.ScriptsVerified(good.TxHash()) {
		t.Fatal("a connected transaction's scripts are not recorded as verified")
	}

	// A signature that does not verify: rejected, and not recorded.
	bad := good.Copy()
	bad.TxOut[0].Value--
	if err := connect(bad, cache); !errors.Is(err, chain.ErrSignatureMismatch) {
		t.Fatalf("bad signature: %v, want ErrSignatureMismatch", err)
	}
	if cache.ScriptsVerified(bad.TxHash()) {
		t.Fatal("a failed transaction was recorded as verified")
	}
	// Recorded as verified (which only a pass would do), its scripts are
	// not run again: the cache is what decides.
	cache.AddScriptsVerified(bad.TxHash())
	if err := connect(bad, cache); err != nil {
		t.Fatalf("transaction recorded as verified: %v", err)
	}
	// A nil cache records nothing and verifies everything.
	var none *chain.SigCache
	none.AddScriptsVerified(good.TxHash())
	if none.ScriptsVerified(good.TxHash()) {
		t.Fatal("nil cache remembers")
	}
	if err := connect(bad, nil); !errors.Is(err, chain.ErrSignatureMismatch) {
		t.Fatalf("bad signature without a cache: %v", err)
	}
}
