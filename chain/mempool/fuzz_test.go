package mempool_test

import (
	"errors"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

// FuzzAcceptTx feeds the pool structural mutations of a valid payment
// (scripts, pushes, values, inputs, outputs, lock times), re-signed when the
// program asks so they reach the checks behind the signature. Acceptance
// must never panic and must accept or answer a rule error; an accepted
// transaction must pass the consensus checks on its own, and the pool's
// accounting must stay whole.
func FuzzAcceptTx(f *testing.F) {
	f.Add([]byte{})                                                           // the valid payment
	f.Add([]byte{0x00, 0, 0, 0, 0})                                           // a push inserted in the signature script
	f.Add([]byte{0x80, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // a huge value, re-signed
	f.Add([]byte{0x80, 0, 5})                                                 // the same input twice, re-signed
	f.Add([]byte{0x80, 0, 9, 0xff, 0xff, 0xff, 0x7f})                         // a lock time far ahead, re-signed
	f.Fuzz(func(t *testing.T, prog []byte) {
		fx := newFixture(t, nil)
		prev := fx.faucetPrev()
		tx := chaintest.Spend([]chaintest.Prev{prev}, []chain.TxOut{out(alice, 50_000), out(bob, prev.Value-60_000)})
		chaintest.NewMutator(prog, map[chain.OutPoint]chaintest.Prev{prev.OutPoint: prev}).RunTx(tx)
		res, err := fx.mp.AcceptTx(tx)
		var re *chain.RuleError
		switch {
		case err != nil && !errors.As(err, &re):
			t.Fatalf("not a rule error: %v", err)
		case re != nil && re.Err == chain.ErrValidationPanic:
			t.Fatalf("validation panicked: %v", err)
		case err != nil:
			if fx.mp.Count() != 0 || fx.mp.Bytes() != 0 {
				t.Fatalf("a rejected transaction left %d transactions (%d bytes) in the pool", fx.mp.Count(), fx.mp.Bytes())
			}
		case len(res.Accepted) == 1:
			if err := chain.CheckTxSanity(tx, fx.p); err != nil {
				t.Fatalf("accepted a transaction that breaks a rule: %v", err)
			}
			if fx.mp.Count() != 1 || fx.mp.Bytes() != tx.SerializeSize() {
				t.Fatalf("pool holds %d transactions, %d bytes after accepting one of %d", fx.mp.Count(), fx.mp.Bytes(), tx.SerializeSize())
			}
		}
	})
}
