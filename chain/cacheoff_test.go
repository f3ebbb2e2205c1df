package chain_test

import (
	"maps"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// TestCacheOffWritesWhatAFlushWould connects the same blocks, a reorg
// among them, to a chain with the chain-state cache off and to one with
// the default cache: with no flush, the first's store already holds
// exactly what the second's holds after a flush, and every block written
// is recorded as a flush. A store with bounded updates is refused.
func TestCacheOffWritesWhatAFlushWould(t *testing.T) {
	offDB := cacheOff{store.NewMemory()}
	f := newForkTest(t, offDB)
	backDB := store.NewMemory()
	back, err := chain.New(chain.Config{Params: f.p, DB: backDB})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(name string) {
		t.Helper()
		f.accept(name)
		if _, err := back.ProcessBlock(f.blocks[name], chaintest.Now); err != nil {
			t.Fatal(err)
		}
	}
	// a1..a3 first, then b1..b4 from genesis, which takes over at b4.
	parent := "genesis"
	for _, n := range []string{"a1", "a2", "a3"} {
		f.block(n, parent)
		deliver(n)
		parent = n
	}
	parent = "genesis"
	for _, n := range []string{"b1", "b2", "b3", "b4"} {
		f.block(n, parent)
		deliver(n)
		parent = n
	}
	f.expectTip("b4")
	if back.BestSnapshot().Hash != f.c.BestSnapshot().Hash {
		t.Fatal("the two chains disagree on the tip")
	}
	// 3 connected, then one reorg: 3 disconnected and 4 connected.
	if s := f.c.CacheStats(); s.Records != 0 || s.LastFlush.Count != 4 || s.LastFlush.Height != 4 || s.LastFlush.Records == 0 {
		t.Fatalf("cache off: %+v, want no cached records and 4 recorded flushes, the last at height 4", s)
	}
	if err := back.Flush(); err != nil {
		t.Fatal(err)
	}
	got, want := chain.DumpStoreForTest(t, offDB), chain.DumpStoreForTest(t, backDB)
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Fatalf("the stores differ: %d records with the cache off, %d after a flush", len(got), len(want))
	}
	if _, err := chain.New(chain.Config{Params: f.p, DB: store.NewMemory(), StateCacheBytes: chain.StateCacheOff}); err == nil {
		t.Fatal("StateCacheOff was accepted on a store with bounded updates")
	}
	if _, err := chain.New(chain.Config{Params: f.p, DB: store.NewMemory(), StateCacheBytes: -2}); err == nil {
		t.Fatal("a negative cache size other than StateCacheOff was accepted")
	}
}
