package chain_test

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

func TestSignP2PKH(t *testing.T) {
	seed := sha256.Sum256([]byte("sign test"))
	priv := secp256k1.PrivKeyFromBytes(seed[:])
	pkScript := chain.PayToPubKeyHashScript(chain.Hash160(priv.PubKey().SerializeCompressed()))
	tx := &chain.Tx{Version: 1,
		TxIn: []chain.TxIn{
			{PrevOut: chain.OutPoint{Hash: chain.DoubleSHA256([]byte("a")), Index: 0}, Sequence: chain.MaxSequence},
			{PrevOut: chain.OutPoint{Hash: chain.DoubleSHA256([]byte("b")), Index: 3}, Sequence: chain.MaxSequence},
		},
		TxOut: []chain.TxOut{{Value: 5000, PkScript: pkScript}}}
	values := []uint64{4000, 3000}
	sh := chain.NewSigHashes(tx)
	for i, v := range values {
		if err := chain.SignP2PKH(tx, i, priv, v, sh); err != nil {
			t.Fatalf("sign input %d: %v", i, err)
		}
	}
	for i, v := range values {
		if err := chain.VerifyScript(tx.TxIn[i].SigScript, pkScript, tx, i, v, sh); err != nil {
			t.Errorf("input %d does not verify: %v", i, err)
		}
	}
	// The signature commits to the amount: a wrong value fails.
	if err := chain.VerifyScript(tx.TxIn[0].SigScript, pkScript, tx, 0, values[0]+1, sh); !errors.Is(err, chain.ErrSignatureMismatch) {
		t.Errorf("wrong amount: got %v, want ErrSignatureMismatch", err)
	}
	// Deterministic (RFC 6979): signing again gives the same script.
	again := tx.Copy()
	if err := chain.SignP2PKH(again, 1, priv, values[1], chain.NewSigHashes(again)); err != nil {
		t.Fatal(err)
	}
	if string(again.TxIn[1].SigScript) != string(tx.TxIn[1].SigScript) {
		t.Error("signing twice gave different scripts")
	}
	if err := chain.SignP2PKH(tx, 2, priv, 1, sh); err == nil {
		t.Error("input out of range: no error")
	}
}
