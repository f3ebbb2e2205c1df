package mempool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/chain/store"
)

var (
	faucet = chaintest.RegtestFaucet
	alice  = chaintest.NewKey("alice")
	bob    = chaintest.NewKey("bob")
	miner  = chaintest.NewKey("miner")
)

type fixture struct {
	t     *testing.T
	p     *chain.Params
	db    store.DB
	c     *chain.Chain
	mp    *mempool.Mempool
	clock time.Time
}

func newFixture(t *testing.T, tweak func(*mempool.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, p: chain.RegtestParams, db: store.NewMemory(), clock: time.Unix(1_800_000_000, 0)}
	var err error
	f.c, err = chain.New(chain.Config{Params: f.p, DB: f.db})
	if err != nil {
		t.Fatal(err)
	}
	f.mp = f.newPool(tweak)
	return f
}

func (f *fixture) newPool(tweak func(*mempool.Config)) *mempool.Mempool {
	cfg := mempool.Config{Params: f.p, Chain: f.c, DB: f.db, Now: func() time.Time { return f.clock }}
	if tweak != nil {
		tweak(&cfg)
	}
	mp, err := mempool.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return mp
}

func (f *fixture) faucetPrev() chaintest.Prev { return chaintest.GenesisPrev(f.p, faucet) }

func out(key *chaintest.Key, v uint64) chain.TxOut {
	return chain.TxOut{Value: v, PkScript: key.Script}
}

func prevOf(tx *chain.Tx, i uint32, key *chaintest.Key) chaintest.Prev {
	return chaintest.Prev{OutPoint: chain.OutPoint{Hash: tx.TxHash(), Index: i}, Value: tx.TxOut[i].Value, Key: key}
}

func (f *fixture) accept(tx *chain.Tx) mempool.AcceptResult {
	f.t.Helper()
	res, err := f.mp.AcceptTx(tx)
	if err != nil {
		f.t.Fatalf("tx rejected: %v", err)
	}
	return res
}

func (f *fixture) reject(tx *chain.Tx, kind error) {
	f.t.Helper()
	_, err := f.mp.AcceptTx(tx)
	if !errors.Is(err, kind) {
		f.t.Fatalf("err %v, want %v", err, kind)
	}
}

func TestAcceptChainAndConflicts(t *testing.T) {
	f := newFixture(t, nil)
	fp := f.faucetPrev()
	parent := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, 10_000_000), out(faucet, fp.Value-10_001_000)})
	res := f.accept(parent)
	if len(res.Accepted) != 1 || res.Accepted[0].Fee != 1000 {
		t.Fatalf("accepted %+v", res.Accepted)
	}
	// A child spending the unconfirmed parent.
	child := chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, alice)}, []chain.TxOut{out(bob, 9_000_000)})
	f.accept(child)
	if f.mp.Count() != 2 {
		t.Fatalf("count %d", f.mp.Count())
	}
	// Spending the faucet again conflicts with parent.
	conflict := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(bob, 1_000_000)})
	f.reject(conflict, mempool.ErrConflict)
	f.reject(parent, mempool.ErrAlreadyHave)
	// Spending alice's output twice in the pool.
	f.reject(chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, alice)}, []chain.TxOut{out(alice, 5_000_000)}), mempool.ErrConflict)
	if h, ok := f.mp.Spender(chain.OutPoint{Hash: parent.TxHash()}); !ok || h != child.TxHash() {
		t.Fatal("Spender")
	}
}

func TestPolicyRejections(t *testing.T) {
	f := newFixture(t, nil)
	fp := f.faucetPrev()
	spend := func(outs ...chain.TxOut) *chain.Tx { return chaintest.Spend([]chaintest.Prev{fp}, outs) }
	f.reject(spend(out(alice, fp.Value)), mempool.ErrFeeTooLow)
	f.reject(spend(out(alice, 545), out(faucet, fp.Value-100_000)), mempool.ErrDust)
	f.reject(spend(chain.TxOut{Value: 1000, PkScript: []byte{chain.OP_1}}, out(faucet, fp.Value-100_000)), mempool.ErrNonStandard)
	f.reject(spend(chain.TxOut{PkScript: chain.NullDataScript(nil)}, chain.TxOut{PkScript: chain.NullDataScript(nil)}, out(faucet, fp.Value-100_000)), mempool.ErrNonStandard)
	f.reject(spend(out(alice, fp.Value+1)), chain.ErrSpendTooHigh)
	f.reject(chaintest.Coinbase(1, alice.Script, 1, nil), mempool.ErrCoinbaseTx)
	forged := chaintest.Spend([]chaintest.Prev{{OutPoint: fp.OutPoint, Value: fp.Value, Key: bob}}, []chain.TxOut{out(bob, 1000)})
	f.reject(forged, chain.ErrScriptFailed)
	// Locked until height 500, with a sequence that enforces it.
	locked := spend(out(alice, 1000), out(faucet, fp.Value-100_000))
	locked.LockTime = 500
	locked.TxIn[0].Sequence = 0
	_ = faucet.SignInput(locked, 0, fp.Value, nil)
	f.reject(locked, mempool.ErrNonStandard)
	// OP_RETURN data is standard.
	f.accept(spend(chain.TxOut{PkScript: chain.NullDataScript([]byte("hello"))}, out(faucet, fp.Value-100_000)))
}

func TestImmatureAndConfirmed(t *testing.T) {
	f := newFixture(t, nil)
	b1 := chaintest.MineOnTip(f.c, miner, "1")
	cb := prevOf(b1.Transactions[0], 0, miner)
	early := chaintest.Spend([]chaintest.Prev{cb}, []chain.TxOut{out(alice, cb.Value-10_000)})
	f.reject(early, chain.ErrImmatureSpend)
	// Mature after maturity blocks (the pool checks for the next height).
	for i := 0; i < int(f.p.CoinbaseMaturity)-1; i++ {
		chaintest.MineOnTip(f.c, miner, "m"+string(rune('a'+i)))
	}
	f.accept(early)
	// Once mined, submitting it again says so.
	chaintest.MineOnTip(f.c, miner, "x", early)
	f.mp.RemoveConfirmed(mustBlockAtTip(t, f.c))
	f.reject(early, mempool.ErrAlreadyConfirmed)
	// Spending what the chain already spent is a conflict, not an orphan.
	again := chaintest.Spend([]chaintest.Prev{cb}, []chain.TxOut{out(bob, cb.Value-20_000)})
	f.reject(again, mempool.ErrConflict)
}

func mustBlockAtTip(t *testing.T, c *chain.Chain) *chain.Block {
	t.Helper()
	b, err := c.BlockByHash(c.BestSnapshot().Hash)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOrphans(t *testing.T) {
	f := newFixture(t, func(c *mempool.Config) { c.MaxOrphans = 3; c.OrphanTTL = time.Minute })
	fp := f.faucetPrev()
	parent := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, 10_000_000), out(faucet, fp.Value-10_001_000)})
	child := chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, alice)}, []chain.TxOut{out(bob, 9_000_000)})
	grandchild := chaintest.Spend([]chaintest.Prev{prevOf(child, 0, bob)}, []chain.TxOut{out(alice, 8_000_000)})
	res := f.accept(grandchild)
	if !res.Orphan || len(res.MissingParents) != 1 || res.MissingParents[0] != child.TxHash() {
		t.Fatalf("grandchild: %+v", res)
	}
	f.accept(child)
	res = f.accept(parent)
	if len(res.Accepted) != 3 || res.Accepted[0].TxID != parent.TxHash() {
		t.Fatalf("parent released %d txs", len(res.Accepted))
	}
	if f.mp.OrphanCount() != 0 || f.mp.Count() != 3 {
		t.Fatal("orphans left behind")
	}
	// The orphan pool is bounded in count...
	for i := 0; i < 5; i++ {
		ghost := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{byte(i + 1)}}, Value: 1e6, Key: alice}},
			[]chain.TxOut{out(bob, 9e5)})
		f.accept(ghost)
	}
	if n := f.mp.OrphanCount(); n != 3 {
		t.Fatalf("orphan pool holds %d, max 3", n)
	}
	// ...and in age.
	f.clock = f.clock.Add(2 * time.Minute)
	f.accept(chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{99}}, Value: 1e6, Key: alice}},
		[]chain.TxOut{out(bob, 9e5)}))
	if n := f.mp.OrphanCount(); n != 1 {
		t.Fatalf("expired orphans kept: %d", n)
	}
}

// fanOut gives alice n outputs of value each, confirmed in a block.
func (f *fixture) fanOut(n int, value uint64) []chaintest.Prev {
	fp := f.faucetPrev()
	var outs []chain.TxOut
	for i := 0; i < n; i++ {
		outs = append(outs, out(alice, value))
	}
	outs = append(outs, out(faucet, fp.Value-uint64(n)*value-100_000))
	tx := chaintest.Spend([]chaintest.Prev{fp}, outs)
	chaintest.MineOnTip(f.c, miner, "fan", tx)
	prevs := make([]chaintest.Prev, n)
	for i := range prevs {
		prevs[i] = prevOf(tx, uint32(i), alice)
	}
	return prevs
}

func TestSizeCapEviction(t *testing.T) {
	f := newFixture(t, func(c *mempool.Config) { c.MaxSize = 3 * 192 })
	prevs := f.fanOut(6, 1_000_000)
	pay := func(p chaintest.Prev, fee uint64) *chain.Tx {
		return chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{out(bob, p.Value-fee)})
	}
	size := pay(prevs[0], 1).SerializeSize()
	if size > 192 {
		t.Fatalf("tx size %d", size)
	}
	low, mid, high := pay(prevs[0], 1000), pay(prevs[1], 2000), pay(prevs[2], 3000)
	f.accept(low)
	f.accept(mid)
	f.accept(high)
	// A fourth with a higher rate evicts the lowest.
	higher := pay(prevs[3], 4000)
	f.accept(higher)
	if f.mp.Has(low.TxHash()) || !f.mp.Has(higher.TxHash()) || f.mp.Count() != 3 {
		t.Fatal("lowest fee rate was not evicted")
	}
	// One paying less than everything in the pool is refused.
	f.reject(pay(prevs[4], 500), mempool.ErrMempoolFull)
	if f.mp.Bytes() > 3*192 {
		t.Fatalf("pool over its cap: %d", f.mp.Bytes())
	}
}

// TestEvictionSparesAncestors: a child paying well on a cheap parent does
// not evict its own parent to make room (it would be left spending outputs
// that are gone); the cheapest unrelated transaction goes instead.
func TestEvictionSparesAncestors(t *testing.T) {
	f := newFixture(t, func(c *mempool.Config) { c.MaxSize = 3 * 192 })
	prevs := f.fanOut(4, 1_000_000)
	pay := func(p chaintest.Prev, fee uint64) *chain.Tx {
		return chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{out(bob, p.Value-fee)})
	}
	parent := pay(prevs[0], 500) // the cheapest in the pool
	other := pay(prevs[1], 1000)
	third := pay(prevs[2], 2000)
	f.accept(parent)
	f.accept(other)
	f.accept(third)
	child := chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, bob)}, []chain.TxOut{out(alice, parent.TxOut[0].Value-9000)})
	f.accept(child)
	if !f.mp.Has(parent.TxHash()) || !f.mp.Has(child.TxHash()) {
		t.Fatal("the child's parent was evicted to make room for it")
	}
	if f.mp.Has(other.TxHash()) {
		t.Fatal("the cheapest unrelated transaction was not evicted")
	}
}

// TestRevalidateKeepsTxsWhenTheStoreFails: a failure to read the chain is
// not a reason to drop transactions.
func TestRevalidateKeepsTxsWhenTheStoreFails(t *testing.T) {
	f := newFixture(t, nil)
	prevs := f.fanOut(2, 1_000_000)
	for _, p := range prevs {
		f.accept(chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{out(bob, p.Value-1000)}))
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := f.mp.Revalidate(); n != 0 || f.mp.Count() != 2 {
		t.Fatalf("dropped %d, %d left; want 0 dropped, 2 left", n, f.mp.Count())
	}
}

func TestOrderedParentsFirst(t *testing.T) {
	f := newFixture(t, nil)
	prevs := f.fanOut(3, 1_000_000)
	// A cheap parent with a rich child, and two standalone txs.
	parent := chaintest.Spend([]chaintest.Prev{prevs[0]}, []chain.TxOut{out(bob, prevs[0].Value-200)})
	child := chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, bob)}, []chain.TxOut{out(alice, parent.TxOut[0].Value-50_000)})
	a := chaintest.Spend([]chaintest.Prev{prevs[1]}, []chain.TxOut{out(bob, prevs[1].Value-10_000)})
	b := chaintest.Spend([]chaintest.Prev{prevs[2]}, []chain.TxOut{out(bob, prevs[2].Value-5_000)})
	for _, tx := range []*chain.Tx{parent, child, a, b} {
		f.accept(tx)
	}
	order := f.mp.Ordered()
	pos := map[chain.Hash]int{}
	for i, d := range order {
		pos[d.TxID] = i
	}
	if len(order) != 4 || pos[parent.TxHash()] > pos[child.TxHash()] {
		t.Fatal("child before its parent")
	}
	if pos[a.TxHash()] > pos[b.TxHash()] || pos[a.TxHash()] != 0 {
		t.Fatalf("not in fee-rate order: %v", pos)
	}
}

// TestReorgReturnsTxs: a transaction mined in a block that a reorg
// disconnects returns to the pool and is mined again on the new branch.
func TestReorgReturnsTxs(t *testing.T) {
	f := newFixture(t, nil)
	fp := f.faucetPrev()
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, 10_000_000), out(faucet, fp.Value-10_010_000)})
	f.accept(tx)
	sub := f.c.Subscribe(0)
	defer sub.Close()
	// genesis -> a1(tx)
	a1 := chaintest.MineOnTip(f.c, miner, "a1", tx)
	g := f.p.GenesisBlock.Header
	// genesis -> a1(tx)
	//        \-> b1 -> b2       (more work: a1 is disconnected)
	b1 := chaintest.BlockOn(f.p, f.p.GenesisHash, 0, g.Timestamp, miner, "b1")
	b2 := chaintest.BlockOn(f.p, b1.BlockHash(), 1, b1.Header.Timestamp, miner, "b2")
	for _, b := range []*chain.Block{b1, b2} {
		if _, err := f.c.ProcessBlock(b, chaintest.Now); err != nil {
			t.Fatal(err)
		}
	}
	// Follow the events as the node does.
	var readd []*chain.Tx
	for done := false; !done; {
		ev, err := sub.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case chain.BlockConnected:
			f.mp.RemoveConfirmed(ev.Block)
		case chain.BlockDisconnected:
			readd = append(ev.Block.Transactions[1:], readd...)
		case chain.TipChanged:
			if ev.Hash == b2.BlockHash() {
				f.mp.Readd(readd)
				f.mp.Revalidate()
				done = true
			}
		}
	}
	_ = a1
	if !f.mp.Has(tx.TxHash()) {
		t.Fatal("the disconnected block's transaction did not return to the pool")
	}
	// Mined again from the pool.
	var txs []*chain.Tx
	for _, d := range f.mp.Ordered() {
		txs = append(txs, d.Tx)
	}
	b3 := chaintest.MineOnTip(f.c, miner, "b3", txs...)
	f.mp.RemoveConfirmed(b3)
	if f.mp.Count() != 0 {
		t.Fatal("pool not emptied by the block")
	}
	if _, _, loc, err := f.c.TxByID(tx.TxHash()); err != nil || loc.BlockHash != b3.BlockHash() {
		t.Fatalf("tx not mined again: %v", err)
	}
}

func TestRemoveConfirmedDropsConflicts(t *testing.T) {
	f := newFixture(t, nil)
	fp := f.faucetPrev()
	ours := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, 1_000_000), out(faucet, fp.Value-1_010_000)})
	child := chaintest.Spend([]chaintest.Prev{prevOf(ours, 0, alice)}, []chain.TxOut{out(bob, 900_000)})
	f.accept(ours)
	f.accept(child)
	theirs := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(bob, 2_000_000), out(faucet, fp.Value-2_010_000)})
	b := chaintest.MineOnTip(f.c, miner, "x", theirs)
	if n := f.mp.RemoveConfirmed(b); n != 2 || f.mp.Count() != 0 {
		t.Fatalf("conflicts removed %d, pool %d", n, f.mp.Count())
	}
}

func TestPersistAcrossRestart(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.mp.Run(ctx) }()
	fp := f.faucetPrev()
	parent := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, 10_000_000), out(faucet, fp.Value-10_001_000)})
	child := chaintest.Spend([]chaintest.Prev{prevOf(parent, 0, alice)}, []chain.TxOut{out(bob, 9_000_000)})
	f.accept(parent)
	f.accept(child)
	if err := f.mp.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A new pool over the same store brings both back, parent first.
	mp2 := f.newPool(nil)
	n, err := mp2.Load()
	if err != nil || n != 2 || !mp2.Has(child.TxHash()) {
		t.Fatalf("loaded %d, %v", n, err)
	}
	// Once confirmed, they are not loaded again.
	b := chaintest.MineOnTip(f.c, miner, "m", parent, child)
	mp2.RemoveConfirmed(b)
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- mp2.Run(ctx2) }()
	if err := mp2.Sync(ctx2); err != nil {
		t.Fatal(err)
	}
	cancel2()
	<-done
	mp3 := f.newPool(nil)
	if n, err := mp3.Load(); err != nil || n != 0 {
		t.Fatalf("after confirmation loaded %d, %v", n, err)
	}
}

// TestScriptsRecordedVerified: an accepted transaction is recorded in the
// signature cache as one whose scripts passed (so its block skips them), a
// rejected one is not, and a transaction the cache names is not run again.
func TestScriptsRecordedVerified(t *testing.T) {
	cache := chain.NewSigCache(0)
	f := newFixture(t, func(c *mempool.Config) { c.SigCache = cache })
	fp := f.faucetPrev()
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{out(alice, fp.Value-1000)})
	bad := tx.Copy()
	bad.TxOut[0].Value -= 1000 // the signature no longer matches
	f.reject(bad, chain.ErrSignatureMismatch)
	if cache.ScriptsVerified(bad.TxHash()) {
		t.Fatal("a rejected transaction was recorded as verified")
	}
	f.accept(tx)
	if !cache.ScriptsVerified(tx.TxHash()) {
		t.Fatal("an accepted transaction was not recorded as verified")
	}
}
