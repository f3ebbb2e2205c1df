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
