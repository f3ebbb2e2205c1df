package miner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
)

// solveAndProcess solves b at regtest difficulty and gives it to c.
func solveAndProcess(t *testing.T, c *chain.Chain, b *chain.Block) {
	t.Helper()
	chaintest.Solve(c.Params(), &b.Header)
	if err := chain.CheckBlockSanity(b, c.Params()); err != nil {
		t.Fatalf("CheckBlockSanity: %v", err)
	}
	res, err := c.ProcessBlock(b, time.Now())
	if err != nil {
		t.Fatalf("ProcessBlock: %v", err)
	}
	if !res.MainChain {
		t.Fatalf("block %s is not on the main chain", res.Hash)
	}
}

func TestTemplateCoinbaseOnly(t *testing.T) {
	p := chain.RegtestParams
	c, _ := newChain(t, p)
	best := c.BestSnapshot()
	now := time.Now()
	tmpl, err := NewTemplate(p, c, nil, minerKey.Script, now)
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	want := TemplateInfo{Height: 1, PrevBlock: best.Hash, Bits: best.NextBits, Timestamp: uint32(now.Unix()),
		TxCount: 1, Fees: 0, Reward: chain.CalcBlockSubsidy(1, p)}
	if got := tmpl.Info(); got != want {
		t.Fatalf("Info() = %+v, want %+v", got, want)
	}

	seen := map[chain.Hash]uint64{}
	for _, en := range []uint64{0, 1, 255, 1 << 40, math.MaxUint64} {
		b, err := tmpl.Block(en, 7)
		if err != nil {
			t.Fatalf("Block(%d): %v", en, err)
		}
		if b.Header.Nonce != 7 || b.Header.Version != 1 || b.Header.PrevBlock != best.Hash {
			t.Errorf("extra nonce %d: header %+v", en, b.Header)
		}
		if root, _ := chain.CalcMerkleRoot(b.TxHashes()); root != b.Header.MerkleRoot {
			t.Errorf("extra nonce %d: Merkle root %s, computed %s", en, b.Header.MerkleRoot, root)
		}
		h, err := tmpl.Header(en)
		if err != nil || h.MerkleRoot != b.Header.MerkleRoot || h.Nonce != 0 {
			t.Errorf("Header(%d) = %+v, %v; does not match Block", en, h, err)
		}
		cb := b.Transactions[0]
		if height, err := chain.ExtractCoinbaseHeight(cb); err != nil || height != 1 {
			t.Errorf("coinbase height %d, %v; want 1", height, err)
		}
		var enBytes [8]byte
		binary.LittleEndian.PutUint64(enBytes[:], en)
		script := chain.AppendPush(chain.AppendPush(chain.CoinbaseHeightScript(1), enBytes[:]), []byte("minichain"))
		if !bytes.Equal(cb.TxIn[0].SigScript, script) {
			t.Errorf("coinbase script %x, want %x", cb.TxIn[0].SigScript, script)
		}
		if len(cb.TxOut) != 1 || cb.TxOut[0].Value != want.Reward || !bytes.Equal(cb.TxOut[0].PkScript, minerKey.Script) {
			t.Errorf("coinbase outputs %+v", cb.TxOut)
		}
		if prev, dup := seen[cb.TxHash()]; dup {
			t.Errorf("extra nonces %d and %d give the same coinbase", prev, en)
		}
		seen[cb.TxHash()] = en
	}

	b, err := tmpl.Block(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	solveAndProcess(t, c, b)
}

// fundPool puts a parent and a child transaction into pool and returns them
// with their fees. The child spends the parent's first output.
func fundPool(t *testing.T, p *chain.Params, pool *mempool.Mempool) (parent, child *chain.Tx, fees uint64) {
	t.Helper()
	x := chaintest.NewKey("x")
	g := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	const coin = chain.UnitsPerCoin
	const parentFee, childFee = 1_000, 5_000
	parent = chaintest.Spend([]chaintest.Prev{g}, []chain.TxOut{
		{Value: coin, PkScript: x.Script},
		{Value: g.Value - coin - parentFee, PkScript: chaintest.RegtestFaucet.Script},
	})
	child = chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: parent.TxHash(), Index: 0}, Value: coin, Key: x}},
		[]chain.TxOut{{Value: coin - childFee, PkScript: x.Script}})
	for _, tx := range []*chain.Tx{parent, child} {
		if _, err := pool.AcceptTx(tx); err != nil {
			t.Fatalf("AcceptTx: %v", err)
		}
	}
	return parent, child, parentFee + childFee
}

func TestTemplateMempoolTxs(t *testing.T) {
	p := chain.RegtestParams
	c, pool := newChain(t, p)
	parent, child, fees := fundPool(t, p, pool)
	tmpl, err := NewTemplate(p, c, pool, minerKey.Script, time.Now())
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	if tmpl.TxCount() != 3 || tmpl.Fees() != fees || tmpl.Reward() != chain.CalcBlockSubsidy(1, p)+fees {
		t.Fatalf("template: %+v, want 3 transactions and fees %d", tmpl.Info(), fees)
	}
	b, err := tmpl.Block(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Transactions[1] != parent || b.Transactions[2] != child {
		t.Fatalf("transactions not in parent, child order")
	}
	solveAndProcess(t, c, b)
	if got := c.BestSnapshot().Height; got != 1 {
		t.Fatalf("height %d after the block, want 1", got)
	}

	// The pool still holds both, but they are confirmed now: the next
	// template must leave them out.
	next, err := NewTemplate(p, c, pool, minerKey.Script, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if next.TxCount() != 1 || next.Fees() != 0 {
		t.Fatalf("next template: %+v, want coinbase only", next.Info())
	}
}

// TestTemplateSelection checks which transactions a template takes: the
// valid ones in order, not a spend of an unknown output, an immature
// coinbase, a double spend or a nil entry, and no more than fit the block.
func TestTemplateSelection(t *testing.T) {
	p := chain.RegtestParams
	c, _ := newChain(t, p)
	y := chaintest.NewKey("y")
	g := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	const n, value = 6, 10 * chain.UnitsPerCoin
	outs := make([]chain.TxOut, 0, n+1)
	for range n {
		outs = append(outs, chain.TxOut{Value: value, PkScript: y.Script})
	}
	outs = append(outs, chain.TxOut{Value: g.Value - n*value - 10_000, PkScript: chaintest.RegtestFaucet.Script})
	fan := chaintest.Spend([]chaintest.Prev{g}, outs)
	blk1 := chaintest.MineOnTip(c, minerKey, "fan", fan)

	var valid []*chain.Tx
	var wantFees uint64
	for i := range n {
		fee := uint64(1000 * (i + 1))
		tx := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: fan.TxHash(), Index: uint32(i)}, Value: value, Key: y}},
			[]chain.TxOut{{Value: value - fee, PkScript: y.Script}})
		valid = append(valid, tx)
		wantFees += fee
	}
	unknown := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{1}, Index: 0}, Value: value, Key: y}},
		[]chain.TxOut{{Value: value - 1000, PkScript: y.Script}})
	cb1 := blk1.Transactions[0]
	immature := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: cb1.TxHash(), Index: 0}, Value: cb1.TxOut[0].Value, Key: minerKey}},
		[]chain.TxOut{{Value: cb1.TxOut[0].Value - 1000, PkScript: y.Script}})
	double := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: fan.TxHash(), Index: 0}, Value: value, Key: y}},
		[]chain.TxOut{{Value: value - 99_000, PkScript: minerKey.Script}})
	src := fixedTxs{desc(unknown), desc(valid[0]), nil, desc(immature), desc(double), {}}
	for _, tx := range valid[1:] {
		src = append(src, desc(tx))
	}

	tmpl, err := NewTemplate(p, c, src, minerKey.Script, time.Now())
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	b, err := tmpl.Block(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Transactions[1:]; len(got) != n {
		t.Fatalf("template holds %d transactions, want the %d valid ones", len(got), n)
	}
	for i, tx := range b.Transactions[1:] {
		if tx != valid[i] {
			t.Fatalf("transaction %d is not valid[%d]", i+1, i)
		}
	}
	if tmpl.Fees() != wantFees {
		t.Fatalf("fees %d, want %d", tmpl.Fees(), wantFees)
	}
	solveAndProcess(t, c, b)

	// A block size that fits the coinbase and exactly three of them.
	c2, _ := newChain(t, p)
	chaintest.MineOnTip(c2, minerKey, "fan", fan)
	cbSize := b.Transactions[0].SerializeSize()
	small := *p
	small.MaxBlockSize = chain.HeaderSize + 1 + cbSize
	for _, tx := range valid[:3] {
		small.MaxBlockSize += tx.SerializeSize()
	}
	tmpl, err = NewTemplate(&small, c2, src, minerKey.Script, time.Now())
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	if tmpl.TxCount() != 4 || tmpl.Fees() != 1000+2000+3000 {
		t.Fatalf("small block: %+v, want the first three transactions", tmpl.Info())
	}
	b, err = tmpl.Block(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if size := b.SerializeSize(); size != small.MaxBlockSize {
		t.Fatalf("block of %d bytes, want exactly the limit %d", size, small.MaxBlockSize)
	}
}

func TestTemplateTimeAndErrors(t *testing.T) {
	p := chain.RegtestParams
	best := &chain.BestState{Hash: chain.Hash{7}, Height: 10, NextBits: p.PowLimitBits, MedianTime: 2_000_000_000}
	tests := []struct {
		name     string
		best     *chain.BestState
		payTo    []byte
		now      time.Time
		wantTime uint32
		wantErr  error // nil: success; errAny: any error
	}{
		{name: "now after median time", best: best, payTo: minerKey.Script, now: time.Unix(2_000_000_500, 0), wantTime: 2_000_000_500},
		{name: "now before median time", best: best, payTo: minerKey.Script, now: time.Unix(1_900_000_000, 0), wantTime: 2_000_000_001},
		{name: "zero bits", best: &chain.BestState{NextBits: 0}, payTo: minerKey.Script, now: time.Now(), wantErr: chain.ErrBadTargetRange},
		{name: "bits above the limit", best: &chain.BestState{NextBits: 0x2100ffff}, payTo: minerKey.Script, now: time.Now(), wantErr: chain.ErrBadTargetRange},
		{name: "no tip", best: nil, payTo: minerKey.Script, now: time.Now(), wantErr: errAny},
		{name: "no payee", best: best, payTo: nil, now: time.Now(), wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := NewTemplate(p, fakeChain{tc.best}, nil, tc.payTo, tc.now)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("NewTemplate: %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("NewTemplate error %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil:
				if tmpl.Timestamp() != tc.wantTime || tmpl.Height() != 11 || tmpl.PrevBlock() != best.Hash || tmpl.Bits() != best.NextBits {
					t.Fatalf("template %+v", tmpl.Info())
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestTemplateTarget(t *testing.T) {
	for _, p := range []*chain.Params{chain.RegtestParams, chain.DevnetParams} {
		best := &chain.BestState{NextBits: p.PowLimitBits}
		tmpl, err := NewTemplate(p, fakeChain{best}, nil, minerKey.Script, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		want, _, _ := chain.CompactToBig(p.PowLimitBits)
		if got := chain.HashToBig(chain.Hash(tmpl.target)); got.Cmp(want) != 0 {
			t.Errorf("%s: target %x, want %x", p.Name, got, want)
		}
	}
}
