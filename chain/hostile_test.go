package chain_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// Tests of what a hostile peer can make the chain hold or do: each was a
// leak or a loophole before the rule it tests.

// TestUnrequestedBlocksNeedWork: a block nobody asked for is stored only if
// its branch has at least the tip's work; a requested one always is.
func TestUnrequestedBlocksNeedWork(t *testing.T) {
	f := newForkTest(t, nil)
	f.chainOf("m", 1, 3, "genesis")
	// s2 has less work than the tip: dropped unless requested; s3 then
	// has equal work: stored, not the tip.
	f.block("s2", "m1")
	gossip := chain.BlockOrigin{Peer: "peerA"}
	res, err := f.c.ProcessBlockFrom(f.blocks["s2"], chaintest.Now, gossip)
	if err != nil || res.Stored || res.Orphan || f.c.HaveBlock(res.Hash) {
		t.Fatalf("unrequested low-work block: %+v %v, stored=%v; want dropped", res, err, f.c.HaveBlock(res.Hash))
	}
	res, err = f.c.ProcessBlockFrom(f.blocks["s2"], chaintest.Now, chain.BlockOrigin{Peer: "peerA", Requested: true})
	if err != nil || !res.Stored {
		t.Fatalf("requested low-work block: %+v %v; want stored", res, err)
	}
	f.block("s3", "s2")
	res, err = f.c.ProcessBlockFrom(f.blocks["s3"], chaintest.Now, gossip)
	if err != nil || !res.Stored || res.MainChain {
		t.Fatalf("unrequested equal-work block: %+v %v; want stored, not the tip", res, err)
	}
	f.picture(`
		genesis -> m1 -> m2 -> m3*
		             \-> s2 -> s3`)
	f.expectTip("m3")
	// A low-work block whose parent is missing is an orphan; when the
	// parent arrives it is judged by its branch's work then.
	f.block("t2", "m1")
	f.block("t3", "t2")
	f.block("t4", "t3")
	res, err = f.c.ProcessBlockFrom(f.blocks["t4"], chaintest.Now, gossip)
	if err != nil || !res.Orphan {
		t.Fatalf("orphan: %+v %v", res, err)
	}
	for _, n := range []string{"t2", "t3"} {
		if _, err := f.c.ProcessBlockFrom(f.blocks[n], chaintest.Now, chain.BlockOrigin{Peer: "peerA", Requested: true}); err != nil {
			t.Fatal(err)
		}
	}
	f.picture(`
		genesis -> m1 -> t2 -> t3 -> t4*
		             \-> s2 -> s3
		             \-> m2 -> m3`)
	f.expectTip("t4")
}

// orphanChain builds n blocks on a missing parent, each carrying pad bytes
// in an OP_RETURN output so it weighs what the test needs.
func orphanChain(f *forkTest, prefix string, n, pad int) []*chain.Block {
	f.t.Helper()
	f.block(prefix+"0", "genesis") // never delivered
	var out []*chain.Block
	parent := prefix + "0"
	for i := 1; i <= n; i++ {
		name := prefix + itoa(i)
		f.blockWith(name, parent, func(b *chain.Block) {
			for left := pad; left > 0; left -= chain.MaxScriptSize - 1 {
				b.Transactions[0].TxOut = append(b.Transactions[0].TxOut, chain.TxOut{PkScript: padScript(min(left, chain.MaxScriptSize-1))})
			}
		})
		out = append(out, f.blocks[name])
		parent = name
	}
	return out
}

func padScript(n int) []byte { return append([]byte{chain.OP_RETURN}, make([]byte, n)...) }

// TestOrphanPoolBounds: orphans are bounded in bytes overall and per sender;
// a flooding sender evicts its own orphans, not another's.
func TestOrphanPoolBounds(t *testing.T) {
	f := newForkTest(t, nil)
	f.c = mustChain(t, chain.Config{Params: f.p, DB: store.NewMemory(),
		Orphans: chain.OrphanLimits{Bytes: 1 << 20, PeerBytes: 300 << 10}})
	honest := orphanChain(f, "h", 2, 50<<10)
	for _, b := range honest {
		if res, err := f.c.ProcessBlockFrom(b, chaintest.Now, chain.BlockOrigin{Peer: "honest"}); err != nil || !res.Orphan {
			t.Fatal(res, err)
		}
	}
	flood := orphanChain(f, "f", 40, 90<<10)
	for _, b := range flood {
		if _, err := f.c.ProcessBlockFrom(b, chaintest.Now, chain.BlockOrigin{Peer: "flooder"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.c.OrphanCount(); n != 2+3 {
		t.Errorf("%d orphans held, want the honest 2 and the flooder's last 3 (300 KiB share / 90 KiB)", n)
	}
	for _, b := range honest {
		if !f.c.HaveOrphan(b.BlockHash()) {
			t.Errorf("the flood evicted an honest orphan")
		}
	}
	// Many senders together are bounded by the pool's total.
	for i := 0; i < 30; i++ {
		b := orphanChain(f, "s"+itoa(i)+"x", 1, 90<<10)[0]
		if _, err := f.c.ProcessBlockFrom(b, chaintest.Now, chain.BlockOrigin{Peer: "sybil" + itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.c.OrphanCount(); n > (1<<20)/(90<<10)+1 {
		t.Errorf("%d orphans held; the pool's 1 MiB allows at most %d", n, (1<<20)/(90<<10)+1)
	}
}

// TestOrphansOfRejectedBlockPurged: once a block is found invalid, the
// orphans waiting for it are dropped, and their descendants with them.
func TestOrphansOfRejectedBlockPurged(t *testing.T) {
	f := newForkTest(t, nil)
	f.chainOf("m", 1, 2, "genesis")
	// m2 -> x3 (bad bits) -> x4 -> x5: x4 and x5 arrive first, as orphans.
	f.blockWith("x3", "m2", func(b *chain.Block) { b.Header.Bits = 0x207ffff0 })
	f.block("x4", "x3")
	f.block("x5", "x4")
	for _, n := range []string{"x5", "x4"} {
		if res, err := f.deliver(n); err != nil || !res.Orphan {
			t.Fatal(n, res, err)
		}
	}
	if f.c.OrphanCount() != 2 {
		t.Fatalf("%d orphans, want 2", f.c.OrphanCount())
	}
	f.reject("x3", chain.ErrUnexpectedDifficult)
	if n := f.c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left after their ancestor was rejected", n)
	}
	f.reject("x4", chain.ErrKnownInvalid)
	f.reject("x5", chain.ErrKnownInvalid)
	f.expectTip("m2")
}

func mustChain(t *testing.T, cfg chain.Config) *chain.Chain {
	t.Helper()
	c, err := chain.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEventsInCommitOrder: blocks delivered from many goroutines in random
// order (as gossip and sync deliver them) produce BlockConnected events in
// height order, each height once, however the goroutines interleave.
func TestEventsInCommitOrder(t *testing.T) {
	f := newForkTest(t, nil)
	const n = 120
	parent := "genesis"
	var blocks []*chain.Block
	for i := 1; i <= n; i++ {
		name := "m" + itoa(i)
		blocks = append(blocks, f.block(name, parent))
		parent = name
	}
	sub := f.c.Subscribe(4 * n)
	defer sub.Close()
	rand.New(rand.NewSource(1)).Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := w; i < len(blocks); i += 8 {
				_, _ = f.c.ProcessBlock(blocks[i], chaintest.Now)
			}
		})
	}
	wg.Wait()
	f.expectTip("m" + itoa(n))
	next := int32(1)
	for next <= n {
		ev, err := sub.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != chain.BlockConnected {
			continue
		}
		if ev.Height != next {
			t.Fatalf("BlockConnected for height %d, want %d: events left in another order than their commits", ev.Height, next)
		}
		next++
	}
}

// failingDB fails reads of one key and, once armed, every write after a
// number of successful ones: a disk that breaks.
type failingDB struct {
	store.DB
	mu         sync.Mutex
	badKey     []byte
	writesLeft int // -1: unlimited
}

var errDisk = errors.New("injected disk failure")

func (d *failingDB) View(fn func(store.Txn) error) error {
	return d.DB.View(func(t store.Txn) error { return fn(failingTxn{t, d}) })
}

func (d *failingDB) Update(fn func(store.Txn) error) error {
	d.mu.Lock()
	if d.writesLeft == 0 {
		d.mu.Unlock()
		return errDisk
	}
	if d.writesLeft > 0 {
		d.writesLeft--
	}
	d.mu.Unlock()
	return d.DB.Update(func(t store.Txn) error { return fn(failingTxn{t, d}) })
}

type failingTxn struct {
	store.Txn
	d *failingDB
}

func (t failingTxn) Get(k []byte) ([]byte, error) {
	t.d.mu.Lock()
	bad := t.d.badKey != nil && bytes.Equal(k, t.d.badKey)
	t.d.mu.Unlock()
	if bad {
		return nil, errDisk
	}
	return t.Txn.Get(k)
}

// blockKey is the store key of a block's bytes (docs/STORAGE.md: 'b' || hash).
func blockKey(h chain.Hash) []byte { return append([]byte{'b'}, h[:]...) }

// TestUnreadableBranchIsSetAside: a branch with more work whose blocks the
// store cannot read is tried once and set aside; the main chain keeps
// growing instead of failing on every new block.
func TestUnreadableBranchIsSetAside(t *testing.T) {
	db := &failingDB{DB: store.NewMemory(), writesLeft: -1}
	f := newForkTest(t, db)
	f.chainOf("m", 1, 2, "genesis")
	// b2's bytes cannot be read when b3 makes its branch the best.
	f.block("b2", "m1")
	f.accept("b2")
	f.block("b3", "b2")
	db.badKey = blockKey(f.blocks["b2"].BlockHash())
	if _, err := f.deliver("b3"); !errors.Is(err, errDisk) {
		t.Fatalf("switch over an unreadable block: %v, want the disk error", err)
	}
	f.expectTip("m2")
	f.block("b4", "b3")
	if res, err := f.deliver("b4"); err != nil || res.MainChain {
		t.Fatalf("b4 on the set-aside branch: %+v %v; want stored quietly, not tried", res, err)
	}
	f.chainOf("m", 3, 2, "m2")
	f.picture(`
		genesis -> m1 -> ... -> m4*
		             \-> b2 -> b3 -> b4`)
	f.expectTip("m4")
}

// TestFailedWriteMidReorgPublishesWhatHappened: when a write fails halfway
// through a reorganisation, subscribers still hear of the blocks that were
// disconnected (their transactions must go back to the pool) and of the tip
// the store holds.
func TestFailedWriteMidReorgPublishesWhatHappened(t *testing.T) {
	db := &failingDB{DB: store.NewMemory(), writesLeft: -1}
	f := newForkTest(t, db)
	faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
	f.chainOf("m", 1, 1, "genesis")
	f.block("m2", "m1", tx)
	f.accept("m2")
	// m2 holds tx. b3 makes b's branch the best; the disk fails after m2
	// is disconnected.
	f.block("b2", "m1")
	f.accept("b2")
	f.block("b3", "b2")
	sub := f.c.Subscribe(0)
	defer sub.Close()
	db.mu.Lock()
	// Storing b3 is a write; disconnecting m2 writes to the chain-state
	// cache only; writing b2's undo data when connecting it fails.
	db.writesLeft = 1
	db.mu.Unlock()
	if _, err := f.deliver("b3"); !errors.Is(err, errDisk) {
		t.Fatalf("reorg over a failing disk: %v, want the disk error", err)
	}
	want := []chain.EventType{chain.BlockDisconnected, chain.TipChanged}
	for i, typ := range want {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		ev, err := sub.Next(ctx)
		cancel()
		if err != nil || ev.Type != typ {
			t.Fatalf("event %d: %v %v, want %v", i, ev.Type, err, typ)
		}
		if typ == chain.TipChanged && ev.Hash != f.blocks["m1"].BlockHash() {
			t.Fatalf("TipChanged names %s, want m1 (what the store holds)", f.names[ev.Hash])
		}
	}
	f.picture(`
		genesis -> m1* -> m2
		              \-> b2 -> b3`)
}
