package chain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

func TestCheckTxSanity(t *testing.T) {
	p := chain.RegtestParams
	k := chaintest.NewKey("k")
	base := func() *chain.Tx {
		return chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{1}}, Value: 10, Key: k}},
			[]chain.TxOut{{Value: 5, PkScript: k.Script}})
	}
	tests := []struct {
		name   string
		mutate func(tx *chain.Tx)
		want   error
	}{
		{"valid", func(*chain.Tx) {}, nil},
		{"no inputs", func(tx *chain.Tx) { tx.TxIn = nil }, chain.ErrNoTxInputs},
		{"no outputs", func(tx *chain.Tx) { tx.TxOut = nil }, chain.ErrNoTxOutputs},
		{"value above max", func(tx *chain.Tx) { tx.TxOut[0].Value = chain.MaxMoney + 1 }, chain.ErrBadTxOutValue},
		{"sum above max", func(tx *chain.Tx) {
			tx.TxOut = []chain.TxOut{{Value: chain.MaxMoney, PkScript: k.Script}, {Value: 1, PkScript: k.Script}}
		}, chain.ErrBadTxOutValue},
		{"duplicate inputs", func(tx *chain.Tx) { tx.TxIn = append(tx.TxIn, tx.TxIn[0]) }, chain.ErrDuplicateTxInputs},
		{"null prevout", func(tx *chain.Tx) {
			tx.TxIn = append(tx.TxIn, chain.TxIn{PrevOut: chain.NullOutPoint})
		}, chain.ErrBadTxInput},
		{"too big", func(tx *chain.Tx) { tx.TxOut[0].PkScript = make([]byte, p.MaxBlockSize) }, chain.ErrTxTooBig},
		{"exactly 64 bytes", func(tx *chain.Tx) {
			tx.TxIn[0].SigScript = nil
			tx.TxOut[0].PkScript = make([]byte, 64-60)
		}, chain.ErrTxTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := base()
			tc.mutate(tx)
			err := chain.CheckTxSanity(tx, p)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	cb := chaintest.Coinbase(5, k.Script, 1, nil)
	cb.TxIn[0].SigScript = []byte{1}
	if err := chain.CheckTxSanity(cb, p); !errors.Is(err, chain.ErrBadCoinbaseScript) {
		t.Fatalf("short coinbase script: %v", err)
	}
}

func TestCheckBlockSanity(t *testing.T) {
	p := chain.RegtestParams
	k := chaintest.NewKey("k")
	mk := func(txs ...*chain.Tx) *chain.Block {
		return chaintest.SolveBlock(p, p.GenesisHash, p.PowLimitBits, p.GenesisBlock.Header.Timestamp+1, txs)
	}
	cb := chaintest.Coinbase(1, k.Script, 1, nil)
	cb2 := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{2}}, Value: 10, Key: k}},
		[]chain.TxOut{{Value: 5, PkScript: k.Script}})
	spend := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{1}}, Value: 10, Key: k}},
		[]chain.TxOut{{Value: 5, PkScript: k.Script}})
	tests := []struct {
		name string
		b    *chain.Block
		want error
	}{
		{"valid", mk(cb, spend), nil},
		{"no txs", mk(), chain.ErrNoTransactions},
		{"first not coinbase", mk(spend), chain.ErrFirstTxNotCoinbase},
		{"two coinbases", mk(cb, chaintest.Coinbase(1, k.Script, 1, []byte("x"))), chain.ErrMultipleCoinbases},
		{"bad merkle root", func() *chain.Block {
			b := mk(cb, spend)
			b.Header.MerkleRoot[0] ^= 1
			chaintest.Solve(p, &b.Header)
			return b
		}(), chain.ErrBadMerkleRoot},
		{"high hash", func() *chain.Block {
			b := mk(cb)
			for chain.CheckProofOfWork(b.BlockHash(), b.Header.Bits, p.PowLimit) == nil {
				b.Header.Nonce++
			}
			return b
		}(), chain.ErrHighHash},
		{"bits above limit", func() *chain.Block {
			b := mk(cb)
			b.Header.Bits = 0x2100ffff
			return b
		}(), chain.ErrBadTargetRange},
		{"duplicate tx", mk(cb, spend, spend), chain.ErrDuplicateTx},
		{"mutated tree", mk(cb, spend, cb2, cb2), chain.ErrMerkleMutation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := chain.CheckBlockSanity(tc.b, p)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIsFinalTx(t *testing.T) {
	tx := &chain.Tx{TxIn: []chain.TxIn{{Sequence: 0}}}
	if !chain.IsFinalTx(tx, 10, 0) {
		t.Fatal("lock time 0 is final")
	}
	tx.LockTime = 10
	if chain.IsFinalTx(tx, 10, 0) || !chain.IsFinalTx(tx, 11, 0) {
		t.Fatal("height lock time")
	}
	tx.LockTime = chain.LockTimeThreshold + 100
	if chain.IsFinalTx(tx, 1, chain.LockTimeThreshold+100) || !chain.IsFinalTx(tx, 1, chain.LockTimeThreshold+101) {
		t.Fatal("time lock time")
	}
	tx.TxIn[0].Sequence = chain.MaxSequence
	if !chain.IsFinalTx(tx, 1, 0) {
		t.Fatal("max sequence opts out")
	}
}

func TestErrorKindsWithErrorsIs(t *testing.T) {
	err := error(&chain.RuleError{Err: chain.ErrBadMerkleRoot, Description: "x"})
	if !errors.Is(err, chain.ErrBadMerkleRoot) || errors.Is(err, chain.ErrDoubleSpend) {
		t.Fatal("errors.Is on RuleError")
	}
	var re *chain.RuleError
	if !errors.As(err, &re) || re.Err != chain.ErrBadMerkleRoot {
		t.Fatal("errors.As")
	}
}

// TestValidateChainDetectsTampering: re-validation reports a UTXO set that
// differs from the one the blocks imply.
func TestValidateChainDetectsTampering(t *testing.T) {
	db := store.NewMemory()
	f := newForkTest(t, db)
	f.chainOf("a", 1, 5, "genesis")
	var calls int
	rep, err := f.c.ValidateChain(context.Background(), chaintest.Now, func(h, tip int32) { calls++ })
	if err != nil || !rep.Valid || rep.Blocks != 6 || calls != 6 {
		t.Fatalf("clean chain: %+v %v (progress calls %d)", rep, err, calls)
	}
	// Forge an extra UTXO straight into the store.
	err = db.Update(func(tx store.Txn) error {
		return tx.Set(append([]byte{'u'}, make([]byte, 36)...), make([]byte, 13))
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = f.c.ValidateChain(context.Background(), chaintest.Now, nil)
	if err != nil || rep.Valid || rep.Error == "" {
		t.Fatalf("tampered chain: %+v %v", rep, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.c.ValidateChain(ctx, chaintest.Now, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestSlowSubscriberDoesNotStall: a subscriber that never reads loses its
// oldest events and is told so; block processing goes on.
func TestSlowSubscriberDoesNotStall(t *testing.T) {
	f := newForkTest(t, nil)
	slow := f.c.Subscribe(5)
	defer slow.Close()
	done := make(chan struct{})
	go func() {
		f.chainOf("a", 1, 20, "genesis")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("block processing stalled behind a subscriber that does not read")
	}
	if _, err := slow.Next(context.Background()); !errors.Is(err, chain.ErrLagged) {
		t.Fatalf("first Next: %v, want ErrLagged", err)
	}
	ev, err := slow.Next(context.Background())
	if err != nil || ev.Type == 0 {
		t.Fatalf("after lag: %+v %v", ev, err)
	}
	slow.Close()
	if _, err := slow.Next(context.Background()); !errors.Is(err, chain.ErrSubscriptionClosed) {
		t.Fatal("Next after Close")
	}
}
