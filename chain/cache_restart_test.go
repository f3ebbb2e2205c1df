package chain_test

import (
	"fmt"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// storedTip reads the tip record straight from the store: the tip of the
// last flush (docs/STORAGE.md: "mtip").
func storedTip(t *testing.T, db store.DB) chain.Hash {
	t.Helper()
	var h chain.Hash
	err := db.View(func(tx store.Txn) error {
		v, err := tx.Get([]byte("mtip"))
		copy(h[:], v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// reopen opens a second chain on f's store, as a node does after kill -9:
// the first chain is abandoned without a flush.
func (f *forkTest) reopen() {
	f.t.Helper()
	c, err := chain.New(chain.Config{Params: f.p, DB: f.db})
	if err != nil {
		f.t.Fatal(err)
	}
	f.c = c
}

// addressView is what the API answers about an address.
func addressView(t *testing.T, c *chain.Chain, k *chaintest.Key) string {
	t.Helper()
	utxos, err := c.AddressUtxos(k.PKH)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := c.AddressHistory(k.PKH)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v %+v", utxos, hist)
}

// TestRestartReplaysUnflushedBlocks: blocks connected after the last flush
// live only in the chain-state cache; after an abandoned chain (kill -9)
// the store's tip is the flushed one, and opening reconnects the stored
// blocks beyond it (more than one reorganisation's batch of them), with
// the UTXO set and the indexes answering as before.
func TestRestartReplaysUnflushedBlocks(t *testing.T) {
	f := newForkTest(t, store.NewMemory())
	faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
	f.chainOf("m", 1, 3, "genesis")
	f.block("m4", "m3", tx)
	f.accept("m4")
	last := f.chainOf("m", 5, 296, "m4")
	if s := f.c.CacheStats(); s.Records == 0 || s.LastFlush.Count != 0 {
		t.Fatalf("the default cache should hold every change unflushed: %+v", s)
	}
	if storedTip(t, f.db) != f.p.GenesisHash {
		t.Fatal("the store's tip moved without a flush")
	}
	wantAlice := addressView(t, f.c, alice)
	txid := tx.TxHash()
	if _, _, loc, err := f.c.TxByID(txid); err != nil || loc.Height != 4 {
		t.Fatalf("tx index before restart: %+v %v", loc, err)
	}

	f.reopen()
	if got := addressView(t, f.c, alice); got != wantAlice {
		t.Fatalf("alice after replay:\n%s\nwant\n%s", got, wantAlice)
	}
	if _, _, loc, err := f.c.TxByID(txid); err != nil || loc.Height != 4 {
		t.Fatalf("tx index after replay: %+v %v", loc, err)
	}
	f.expectTip(last) // re-validates from genesis (after a flush)
	if storedTip(t, f.db) != f.blocks[last].BlockHash() {
		t.Fatal("the flush before validation did not move the stored tip")
	}
	// Reopening after a flush replays nothing.
	f.reopen()
	if s := f.c.CacheStats(); s.Records != 0 {
		t.Fatalf("reopen after a flush: the cache holds %d records", s.Records)
	}
	f.expectTip(last)
}

// TestRestartForgetsLostBlock: a power loss can drop the unsynced body of a
// block connected after the last flush (or leave it damaged). Opening then
// stops at the block before it, forgets the block and its descendants (so
// sync can fetch them again) and loses nothing flushed; delivering them
// again brings the chain back.
func TestRestartForgetsLostBlock(t *testing.T) {
	for _, damage := range []string{"missing", "corrupt"} {
		t.Run(damage, func(t *testing.T) {
			f := newForkTest(t, store.NewMemory())
			f.chainOf("m", 1, 10, "genesis")
			if err := f.c.Flush(); err != nil {
				t.Fatal(err)
			}
			f.chainOf("m", 11, 10, "m10")
			lost := f.blocks["m15"].BlockHash()
			err := f.db.Update(func(tx store.Txn) error {
				if damage == "missing" {
					return tx.Delete(blockKey(lost))
				}
				return tx.Set(blockKey(lost), []byte("not a block"))
			})
			if err != nil {
				t.Fatal(err)
			}
			f.reopen()
			f.expectTip("m14")
			for _, name := range []string{"m15", "m20"} {
				if f.c.HaveBlock(f.blocks[name].BlockHash()) {
					t.Fatalf("%s is still known after its body (or an ancestor's) was lost", name)
				}
			}
			for i := 15; i <= 20; i++ {
				f.accept("m" + itoa(i))
			}
			f.expectTip("m20")
			f.reopen()
			f.expectTip("m20")
		})
	}
}
