package chain_test

import (
	"context"
	"errors"
	"math/rand"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/node/badgerdb"
)

var (
	alice = chaintest.NewKey("alice")
	bob   = chaintest.NewKey("bob")
)

// stores runs a test against both store implementations, and against the
// memory store with a chain-state cache so small that it is flushed after
// every block, and with the cache off.
func stores(t *testing.T, fn func(t *testing.T, db store.DB)) {
	t.Run("memory", func(t *testing.T) { fn(t, store.NewMemory()) })
	t.Run("memory-flush-every-block", func(t *testing.T) { fn(t, flushEveryBlock{store.NewMemory()}) })
	t.Run("memory-cache-off", func(t *testing.T) { fn(t, cacheOff{store.NewMemory()}) })
	t.Run("badger", func(t *testing.T) {
		db, err := badgerdb.Open(t.TempDir(), badgerdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
}

// TestDeepReorgAndBack switches 23 blocks deep to a longer branch and 28
// blocks deep back, with a double spend of the same output across the two
// branches.
func TestDeepReorgAndBack(t *testing.T) {
	stores(t, func(t *testing.T, db store.DB) {
		f := newForkTest(t, db)
		faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
		toAlice := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
		toBob := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(bob, faucet.Value-2000)})

		// a3 holds toAlice.
		f.chainOf("a", 1, 2, "genesis")
		f.block("a3", "a2", toAlice)
		f.accept("a3")
		f.chainOf("a", 4, 22, "a3")
		f.picture(`genesis -> a1 -> ... -> a25*`)
		f.expectTip("a25")
		if f.utxo(outpoint(toAlice, 0)) == nil {
			t.Fatal("alice's payment missing")
		}

		sub := f.c.Subscribe(0)
		defer sub.Close()

		// b4 holds toBob; b29 has more work: a reorg 23 blocks deep.
		f.block("b3", "a2")
		f.accept("b3")
		f.block("b4", "b3", toBob)
		f.accept("b4")
		f.chainOf("b", 5, 25, "b4")
		f.picture(`
			genesis -> a1 -> a2 -> b3 -> ... -> b29*
			                   \-> a3 -> ... -> a25`)
		f.expectTip("b29")
		if f.utxo(outpoint(toAlice, 0)) != nil || f.utxo(outpoint(toBob, 0)) == nil {
			t.Fatal("after the reorg bob's payment must replace alice's")
		}
		if f.utxo(faucet.OutPoint) != nil {
			t.Fatal("faucet output unspent after reorg")
		}
		// The reorg was announced: 23 disconnects, then connects, then a
		// tip change with its depth.
		var disc, conn, depth int
		for {
			ev, err := sub.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			switch ev.Type {
			case chain.BlockDisconnected:
				disc++
			case chain.BlockConnected:
				conn++
			case chain.TipChanged:
				if ev.ReorgDepth > depth {
					depth = ev.ReorgDepth
				}
			}
			if ev.Type == chain.TipChanged && ev.Hash == f.blocks["b29"].BlockHash() {
				break
			}
		}
		if disc != 23 || depth != 23 {
			t.Fatalf("disconnected %d blocks, depth %d; want 23", disc, depth)
		}

		// Back to a, 27 blocks deep.
		f.chainOf("a", 26, 6, "a25")
		f.picture(`
			genesis -> a1 -> a2 -> a3 -> ... -> a31*
			                   \-> b3 -> ... -> b29`)
		f.expectTip("a31")
		if f.utxo(outpoint(toAlice, 0)) == nil || f.utxo(outpoint(toBob, 0)) != nil {
			t.Fatal("after reorging back alice's payment must be restored")
		}
		bal, err := f.c.Balances()
		if err != nil {
			t.Fatal(err)
		}
		if bal[bob.PKH] != 0 || bal[alice.PKH] != faucet.Value-1000 {
			t.Fatalf("balances alice %d bob %d", bal[alice.PKH], bal[bob.PKH])
		}
		hist, _ := f.c.AddressHistory(bob.PKH)
		if len(hist) != 0 {
			t.Fatalf("bob's history survived the reorg: %+v", hist)
		}
	})
}

// TestEqualWorkTie: the first block seen at a height wins a tie; the other
// branch wins once it has more work.
func TestEqualWorkTie(t *testing.T) {
	f := newForkTest(t, nil)
	// Equal work: a2 stays, seen first.
	f.chainOf("a", 1, 2, "genesis")
	f.block("b2", "a1")
	res := f.accept("b2")
	f.picture(`
		genesis -> a1 -> a2*
		             \-> b2`)
	if res.MainChain {
		t.Fatal("b2 must not take over on a tie")
	}
	f.expectTip("a2")
	if f.status("b2") != "stored" {
		t.Fatalf("b2 status %s", f.status("b2"))
	}
	// More work: b3 wins.
	f.block("b3", "b2")
	if res := f.accept("b3"); !res.MainChain {
		t.Fatal("b3 should be on the main chain")
	}
	f.picture(`
		genesis -> a1 -> b2 -> b3*
		             \-> a2`)
	f.expectTip("b3")
	// a3 ties b3 again: b3 was first.
	f.block("a3", "a2")
	f.accept("a3")
	f.expectTip("b3")
	tips := f.c.Tips()
	if len(tips) != 2 || !tips[0].MainChain || tips[0].Hash != f.blocks["b3"].BlockHash() || tips[1].BranchLen != 2 {
		t.Fatalf("tips %+v", tips)
	}
}

// TestInvalidBlockOnSideBranch: a side branch that would win holds a block
// breaking a rule. The reorg is all-or-nothing: the old tip stays and the bad
// block's descendants are marked invalid.
func TestInvalidBlockOnSideBranch(t *testing.T) {
	stores(t, func(t *testing.T, db store.DB) {
		f := newForkTest(t, db)
		// b4 pays itself too much; b5 builds on it.
		f.chainOf("a", 1, 3, "genesis")
		f.chainOf("b", 2, 2, "a1")
		f.expectTip("a3")
		f.blockWith("b4", "b3", func(b *chain.Block) { b.Transactions[0].TxOut[0].Value++ })
		f.block("b5", "b4")
		// b5 first: an orphan until b4 arrives, then the pair is tried.
		res, err := f.deliver("b5")
		if err != nil || !res.Orphan || res.MissingAncestor != f.blocks["b4"].BlockHash() {
			t.Fatalf("b5: %+v %v", res, err)
		}
		f.reject("b4", chain.ErrBadCoinbaseValue)
		f.picture(`
			genesis -> a1 -> a2 -> a3*
			             \-> b2 -> b3 -> b4! -> b5!`)
		f.expectTip("a3")
		if f.status("b4") != "invalid" || f.status("b5") != "invalid-ancestor" {
			t.Fatalf("statuses b4=%s b5=%s", f.status("b4"), f.status("b5"))
		}
		if f.status("b3") != "stored" {
			t.Fatalf("b3 status %s", f.status("b3"))
		}
		// Anything built on the bad branch is rejected at once.
		f.block("b6", "b5")
		f.reject("b6", chain.ErrInvalidAncestor)
		f.reject("b4", chain.ErrKnownInvalid)
		// The good part of the branch can still win.
		f.block("c4", "b3")
		f.block("c5", "c4")
		f.accept("c4")
		f.accept("c5")
		f.picture(`
			genesis -> a1 -> b2 -> b3 -> c4 -> c5*
			                         \-> b4! -> b5!
			             \-> a2 -> a3`)
		f.expectTip("c5")
	})
}

// TestOutputOnBothBranches is the bchd #162 case: the same transaction is
// mined on both branches, its output is spent on only one, and the chain
// switches back and forth.
func TestOutputOnBothBranches(t *testing.T) {
	stores(t, func(t *testing.T, db store.DB) {
		f := newForkTest(t, db)
		faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
		tx := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
		spend := chaintest.Spend([]chaintest.Prev{{OutPoint: outpoint(tx, 0), Value: faucet.Value - 1000, Key: alice}},
			[]chain.TxOut{pay(bob, faucet.Value-2000)})

		// a1 holds tx.
		f.block("a1", "genesis", tx)
		f.accept("a1")
		f.chainOf("a", 2, 1, "a1")
		f.expectTip("a2")
		// b1 holds tx too, b2 spends its output: spent on b only.
		f.block("b1", "genesis", tx)
		f.block("b2", "b1", spend)
		f.accept("b1")
		f.accept("b2")
		f.chainOf("b", 3, 1, "b2")
		f.picture(`
			genesis -> b1 -> b2 -> b3*
			       \-> a1 -> a2`)
		f.expectTip("b3")
		if f.utxo(outpoint(tx, 0)) != nil || f.utxo(outpoint(spend, 0)) == nil {
			t.Fatal("on b, tx's output is spent by spend")
		}
		loc := txBlock(t, f, tx)
		if loc != f.blocks["b1"].BlockHash() {
			t.Fatal("tx index must point at b1")
		}
		// Back to a: the output is unspent again.
		f.chainOf("a", 3, 2, "a2")
		f.picture(`
			genesis -> a1 -> ... -> a4*
			       \-> b1 -> b2 -> b3`)
		f.expectTip("a4")
		if e := f.utxo(outpoint(tx, 0)); e == nil || e.Height != 1 {
			t.Fatalf("tx output after switching back: %+v", e)
		}
		if f.utxo(outpoint(spend, 0)) != nil {
			t.Fatal("spend's output must be gone")
		}
		if txBlock(t, f, tx) != f.blocks["a1"].BlockHash() {
			t.Fatal("tx index must point at a1")
		}
		if _, _, _, err := f.c.TxByID(spend.TxHash()); !errors.Is(err, chain.ErrTxNotFound) {
			t.Fatal("spend must not be found on the main chain")
		}
	})
}

func txBlock(t *testing.T, f *forkTest, tx *chain.Tx) chain.Hash {
	t.Helper()
	_, _, loc, err := f.c.TxByID(tx.TxHash())
	if err != nil {
		t.Fatal(err)
	}
	return loc.BlockHash
}

// TestConnectRules: blocks that break connect rules are rejected with the
// right kind and leave the chain as it was.
func TestConnectRules(t *testing.T) {
	f := newForkTest(t, nil)
	faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
	a := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, 1000)})
	b := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(bob, 1000)})
	f.chainOf("m", 1, 2, "genesis")

	// x3 holds a and b, two transactions spending the faucet.
	f.block("x3", "m2", a, b)
	f.reject("x3", chain.ErrDoubleSpend)
	// Spending an output that does not exist.
	ghost := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{1}}, Value: 5, Key: alice}},
		[]chain.TxOut{pay(bob, 1)})
	f.block("x4", "m2", ghost)
	f.reject("x4", chain.ErrMissingTxOut)
	// Spending m1's coinbase at depth 2 (maturity is 10).
	early := chaintest.Spend([]chaintest.Prev{f.cbPrev("m1")}, []chain.TxOut{pay(bob, 1)})
	f.block("x5", "m2", early)
	f.reject("x5", chain.ErrImmatureSpend)
	// Outputs worth more than the inputs.
	greedy := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(bob, faucet.Value+1)})
	f.block("x6", "m2", greedy)
	f.reject("x6", chain.ErrSpendTooHigh)
	// A bad signature.
	forged := chaintest.Spend([]chaintest.Prev{{OutPoint: faucet.OutPoint, Value: faucet.Value, Key: bob}},
		[]chain.TxOut{pay(bob, 1)})
	f.block("x7", "m2", forged)
	f.reject("x7", chain.ErrScriptFailed)
	// Wrong height in the coinbase.
	f.blockWith("x8", "m2", func(b *chain.Block) {
		b.Transactions[0] = chaintest.Coinbase(7, f.miner.Script, 1, nil)
	})
	f.reject("x8", chain.ErrBadCoinbaseHeight)
	// A spend in the block after a valid one spending the same output.
	f.block("m3", "m2", a)
	f.accept("m3")
	f.block("x9", "m3", b)
	f.reject("x9", chain.ErrMissingTxOut)
	f.expectTip("m3")

	// Header context: wrong bits, time not after the median time past.
	f.blockWith("h1", "m3", func(b *chain.Block) { b.Header.Bits = 0x1f7fffff })
	f.reject("h1", chain.ErrUnexpectedDifficult)
	f.blockWith("h2", "m3", func(b *chain.Block) { b.Header.Timestamp = f.blocks["m1"].Header.Timestamp })
	f.reject("h2", chain.ErrTimeTooOld)
	f.blockWith("h3", "m3", func(b *chain.Block) { b.Header.Timestamp = uint32(chaintest.Now.Unix() + 3*3600) })
	f.reject("h3", chain.ErrTimeTooNew)
	// A block from the future is not remembered as invalid: it may be
	// delivered again once its time has come.
	if _, err := f.c.ProcessBlock(f.blocks["h3"], chaintest.Now.Add(2*3600e9)); err != nil {
		t.Fatalf("h3 later: %v", err)
	}
	if f.c.BestSnapshot().Hash != f.blocks["h3"].BlockHash() {
		t.Fatal("h3 is not the tip")
	}
}

// TestMutatedBlockNotCached: a block whose Merkle tree is mutated
// (CVE-2012-2459) is rejected, and the real block with the same hash is
// accepted afterwards.
func TestMutatedBlockNotCached(t *testing.T) {
	f := newForkTest(t, nil)
	faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
	tx1 := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, 1000), pay(bob, faucet.Value-5000)})
	good := f.block("m1", "genesis", tx1) // coinbase + tx1 + ... : 2 txs
	// 3 txs [cb, tx1, tx2] has the same root as [cb, tx1, tx2, tx2].
	tx2 := chaintest.Spend([]chaintest.Prev{{OutPoint: outpoint(tx1, 0), Value: 1000, Key: alice}}, []chain.TxOut{pay(bob, 500)})
	good3 := f.block("m1b", "genesis", tx1, tx2)
	mutated := &chain.Block{Header: good3.Header, Transactions: append(append([]*chain.Tx(nil), good3.Transactions...), tx2)}
	if mutated.BlockHash() != good3.BlockHash() {
		t.Fatal("setup: hashes differ")
	}
	if _, err := f.c.ProcessBlock(mutated, chaintest.Now); !errors.Is(err, chain.ErrMerkleMutation) {
		t.Fatalf("mutated block: %v", err)
	}
	f.accept("m1b")
	f.expectTip("m1b")
	_ = good
}

// TestRandomOrderDelivery: 100 blocks (with a fork) delivered in random order
// end in the same state as delivered in order.
func TestRandomOrderDelivery(t *testing.T) {
	ordered := newForkTest(t, nil)
	faucet := chaintest.GenesisPrev(ordered.p, chaintest.RegtestFaucet)
	var names []string
	parent := "genesis"
	prev := faucet
	for i := 1; i <= 80; i++ {
		name := "a" + itoa(i)
		var txs []*chain.Tx
		if i%3 == 0 { // a payment chain through the blocks
			tx := chaintest.Spend([]chaintest.Prev{prev}, []chain.TxOut{pay(alice, prev.Value-1000)})
			prev = chaintest.Prev{OutPoint: outpoint(tx, 0), Value: prev.Value - 1000, Key: alice}
			txs = append(txs, tx)
		}
		ordered.block(name, parent, txs...)
		names = append(names, name)
		parent = name
	}
	parent = "a60"
	for i := 61; i <= 80; i++ { // a side branch of 20 from a60
		name := "s" + itoa(i)
		ordered.block(name, parent)
		names = append(names, name)
		parent = name
	}
	for _, n := range names {
		ordered.accept(n)
	}
	ordered.expectTip("a80")

	for seed := int64(1); seed <= 3; seed++ {
		shuffled := newForkTest(t, nil)
		shuffled.blocks, shuffled.height, shuffled.names = ordered.blocks, ordered.height, ordered.names
		perm := append([]string(nil), names...)
		rand.New(rand.NewSource(seed)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for _, n := range perm {
			if _, err := shuffled.deliver(n); err != nil {
				t.Fatalf("seed %d: %s: %v", seed, n, err)
			}
		}
		if shuffled.c.OrphanCount() != 0 {
			t.Fatalf("seed %d: %d orphans left", seed, shuffled.c.OrphanCount())
		}
		// Both a80 and s80 have height 80; whichever the shuffled node saw
		// first wins the tie, so compare with that rule: a80 vs s80.
		tip := shuffled.c.BestSnapshot()
		if tip.Height != 80 {
			t.Fatalf("seed %d: tip height %d", seed, tip.Height)
		}
		rep, err := shuffled.c.ValidateChain(context.Background(), chaintest.Now, nil)
		if err != nil || !rep.Valid {
			t.Fatalf("seed %d: %+v %v", seed, rep, err)
		}
		if tip.Hash == ordered.blocks["a80"].BlockHash() {
			a, _ := ordered.c.Balances()
			b, _ := shuffled.c.Balances()
			if len(a) != len(b) || a[alice.PKH] != b[alice.PKH] || a[ordered.miner.PKH] != b[ordered.miner.PKH] {
				t.Fatalf("seed %d: balances differ", seed)
			}
		}
	}
}

// TestRandomOrderNoTie: without a tie, any delivery order gives the same tip
// and UTXO set as in-order delivery.
func TestRandomOrderNoTie(t *testing.T) {
	ordered := newForkTest(t, nil)
	var names []string
	parent := "genesis"
	for i := 1; i <= 100; i++ {
		name := "a" + itoa(i)
		ordered.block(name, parent)
		names = append(names, name)
		parent = name
	}
	for _, n := range names {
		ordered.accept(n)
	}
	want, _ := ordered.c.Balances()
	for seed := int64(1); seed <= 3; seed++ {
		s := newForkTest(t, nil)
		s.blocks, s.height, s.names = ordered.blocks, ordered.height, ordered.names
		perm := append([]string(nil), names...)
		rand.New(rand.NewSource(seed)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for _, n := range perm {
			if _, err := s.deliver(n); err != nil {
				t.Fatal(err)
			}
		}
		s.expectTip("a100")
		got, _ := s.c.Balances()
		if len(got) != len(want) || got[s.miner.PKH] != want[s.miner.PKH] {
			t.Fatalf("seed %d: balances differ", seed)
		}
	}
}

// TestOrphanMissingAncestor: a block far ahead of the chain names the first
// missing block, and connects when it arrives.
func TestOrphanMissingAncestor(t *testing.T) {
	f := newForkTest(t, nil)
	f.block("a1", "genesis")
	f.block("a2", "a1")
	f.block("a3", "a2")
	f.block("a4", "a3")
	res, err := f.deliver("a4")
	if err != nil || !res.Orphan || res.MissingAncestor != f.blocks["a3"].BlockHash() {
		t.Fatalf("a4: %+v %v", res, err)
	}
	res, _ = f.deliver("a2")
	if res.MissingAncestor != f.blocks["a1"].BlockHash() {
		t.Fatal("a2 should miss a1")
	}
	f.reject("a2", chain.ErrDuplicateBlock)
	res, _ = f.deliver("a3")
	if !res.Orphan || res.MissingAncestor != f.blocks["a1"].BlockHash() {
		t.Fatalf("a3 should point at a1: %+v", res)
	}
	res = f.accept("a1")
	if !res.MainChain {
		t.Fatal("a1 not on main chain")
	}
	f.expectTip("a4")
	if f.c.OrphanCount() != 0 {
		t.Fatal("orphans left")
	}
	f.reject("a3", chain.ErrDuplicateBlock)
}

func TestReopenAndWrongNetwork(t *testing.T) {
	dir := t.TempDir()
	db, err := badgerdb.Open(dir, badgerdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newForkTest(t, db)
	f.chainOf("a", 1, 5, "genesis")
	f.block("b2", "a1")
	f.accept("b2")
	tip := f.c.BestSnapshot()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = badgerdb.Open(dir, badgerdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BestSnapshot(); got.Hash != tip.Hash || got.WorkSum.Cmp(tip.WorkSum) != 0 {
		t.Fatalf("reopened at %s, want %s", got.Hash, tip.Hash)
	}
	if len(c.Tips()) != 2 {
		t.Fatal("side branch lost on reopen")
	}
	if _, err := chain.New(chain.Config{Params: chain.DevnetParams, DB: db}); !errors.Is(err, chain.ErrWrongGenesis) {
		t.Fatalf("devnet on a regtest store: %v", err)
	}
}
