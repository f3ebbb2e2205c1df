package chain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// forkTest drives a Chain with named blocks, in the style of btcd's
// fullblocktests: blocks are built on named parents, then delivered, and each
// step states what the chain must look like.
type forkTest struct {
	t      *testing.T
	p      *chain.Params
	db     store.DB
	c      *chain.Chain
	miner  *chaintest.Key
	blocks map[string]*chain.Block
	height map[string]int32
	names  map[chain.Hash]string
}

func newForkTest(t *testing.T, db store.DB) *forkTest {
	t.Helper()
	if db == nil {
		db = store.NewMemory()
	}
	p := chain.RegtestParams
	c, err := chain.New(chain.Config{Params: p, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	f := &forkTest{t: t, p: p, db: db, c: c, miner: chaintest.NewKey("miner"),
		blocks: map[string]*chain.Block{"genesis": p.GenesisBlock},
		height: map[string]int32{"genesis": 0},
		names:  map[chain.Hash]string{p.GenesisHash: "genesis"}}
	return f
}

// block builds (but does not deliver) a block named name on parent, holding
// a coinbase to the miner and txs. mutate, if given, changes the block before
// it is solved (the Merkle root is recomputed unless mutate sets keepRoot).
func (f *forkTest) block(name, parent string, txs ...*chain.Tx) *chain.Block {
	return f.blockWith(name, parent, nil, txs...)
}

func (f *forkTest) blockWith(name, parent string, mutate func(b *chain.Block), txs ...*chain.Tx) *chain.Block {
	f.t.Helper()
	pb, ok := f.blocks[parent]
	if !ok {
		f.t.Fatalf("unknown parent %q", parent)
	}
	if _, dup := f.blocks[name]; dup {
		f.t.Fatalf("block %q built twice", name)
	}
	h := f.height[parent] + 1
	var fees uint64
	cb := chaintest.Coinbase(h, f.miner.Script, chain.CalcBlockSubsidy(h, f.p)+fees, []byte(name))
	all := append([]*chain.Tx{cb}, txs...)
	b := &chain.Block{Header: chain.Header{Version: 1, PrevBlock: pb.BlockHash(),
		Timestamp: pb.Header.Timestamp + 1, Bits: f.p.PowLimitBits}, Transactions: all}
	if mutate != nil {
		mutate(b)
	}
	root, _ := chain.CalcMerkleRoot(b.TxHashes())
	if b.Header.MerkleRoot == (chain.Hash{}) {
		b.Header.MerkleRoot = root
	}
	chaintest.Solve(f.p, &b.Header)
	f.blocks[name] = b
	f.height[name] = h
	f.names[b.BlockHash()] = name
	return b
}

// deliver processes a named block and returns the result and error.
func (f *forkTest) deliver(name string) (chain.ProcessResult, error) {
	f.t.Helper()
	b, ok := f.blocks[name]
	if !ok {
		f.t.Fatalf("unknown block %q", name)
	}
	return f.c.ProcessBlock(b, chaintest.Now)
}

// accept delivers a block that must be accepted.
func (f *forkTest) accept(name string) chain.ProcessResult {
	f.t.Helper()
	res, err := f.deliver(name)
	if err != nil {
		f.t.Fatalf("block %s rejected: %v", name, err)
	}
	return res
}

// reject delivers a block that must be rejected with kind.
func (f *forkTest) reject(name string, kind error) {
	f.t.Helper()
	_, err := f.deliver(name)
	if !errors.Is(err, kind) {
		f.t.Fatalf("block %s: err %v, want %v", name, err, kind)
	}
}

// chainOf builds and accepts n blocks named prefix<from>.. on parent and
// returns the last name.
func (f *forkTest) chainOf(prefix string, from, n int, parent string) string {
	f.t.Helper()
	for i := from; i < from+n; i++ {
		name := prefix + itoa(i)
		f.block(name, parent)
		f.accept(name)
		parent = name
	}
	return parent
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// expectTip checks the main chain's tip and that the stored chain and UTXO
// set are consistent (a full re-validation).
func (f *forkTest) expectTip(name string) {
	f.t.Helper()
	best := f.c.BestSnapshot()
	if best.Hash != f.blocks[name].BlockHash() {
		f.t.Fatalf("tip is %s (height %d), want %s", f.names[best.Hash], best.Height, name)
	}
	if best.Height != f.height[name] {
		f.t.Fatalf("tip height %d, want %d", best.Height, f.height[name])
	}
	rep, err := f.c.ValidateChain(context.Background(), chaintest.Now, nil)
	if err != nil || !rep.Valid {
		f.t.Fatalf("chain does not re-validate at tip %s: %+v %v", name, rep, err)
	}
}

// cbPrev returns the coinbase output of a named block as a spendable
// output of the miner.
func (f *forkTest) cbPrev(name string) chaintest.Prev {
	cb := f.blocks[name].Transactions[0]
	return chaintest.Prev{OutPoint: chain.OutPoint{Hash: cb.TxHash()}, Value: cb.TxOut[0].Value, Key: f.miner}
}

// utxo returns the stored entry for op (nil when spent or unknown).
func (f *forkTest) utxo(op chain.OutPoint) *chain.UtxoEntry {
	f.t.Helper()
	e, err := f.c.FetchUtxo(op)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// status returns the index status of a named block.
func (f *forkTest) status(name string) string {
	f.t.Helper()
	bi, err := f.c.BlockInfo(f.blocks[name].BlockHash())
	if err != nil {
		f.t.Fatal(err)
	}
	return bi.Status
}

func pay(key *chaintest.Key, value uint64) chain.TxOut {
	return chain.TxOut{Value: value, PkScript: key.Script}
}

func outpoint(tx *chain.Tx, i uint32) chain.OutPoint {
	return chain.OutPoint{Hash: tx.TxHash(), Index: i}
}
