package chain_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

func TestP2PKHScriptForm(t *testing.T) {
	k := chaintest.NewKey("alice")
	s := chain.PayToPubKeyHashScript(k.PKH)
	if len(s) != 25 || chain.ClassifyScript(s) != chain.PubKeyHashTy {
		t.Fatalf("script %x class %v", s, chain.ClassifyScript(s))
	}
	pkh, ok := chain.ExtractPubKeyHash(s)
	if !ok || pkh != k.PKH {
		t.Fatal("ExtractPubKeyHash")
	}
	want := "OP_DUP OP_HASH160 " + bytesHex(k.PKH[:]) + " OP_EQUALVERIFY OP_CHECKSIG"
	if got := chain.DisasmScript(s); got != want {
		t.Fatalf("disasm %q, want %q", got, want)
	}
}

// derEncode writes R and S as a DER signature without normalising S (the
// library's Serialize would make it low-S).
func derEncode(r, s [32]byte) []byte {
	integer := func(b [32]byte) []byte {
		v := bytes.TrimLeft(b[:], "\x00")
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func bytesHex(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

func TestClassifyScript(t *testing.T) {
	tests := []struct {
		name   string
		script []byte
		want   chain.ScriptClass
	}{
		{"p2pkh", chain.PayToPubKeyHashScript([20]byte{1}), chain.PubKeyHashTy},
		{"op_return", chain.NullDataScript([]byte("hello")), chain.NullDataTy},
		{"op_return 80", chain.NullDataScript(make([]byte, 80)), chain.NullDataTy},
		{"op_return 81", chain.NullDataScript(make([]byte, 81)), chain.NonStandardTy},
		{"bare op_return", []byte{chain.OP_RETURN}, chain.NullDataTy},
		{"p2pk", append(chain.AppendPush(nil, make([]byte, 33)), chain.OP_CHECKSIG), chain.NonStandardTy},
		{"empty", nil, chain.NonStandardTy},
		{"truncated p2pkh", chain.PayToPubKeyHashScript([20]byte{1})[:24], chain.NonStandardTy},
	}
	for _, tc := range tests {
		if got := chain.ClassifyScript(tc.script); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if !chain.IsUnspendable(chain.NullDataScript(nil)) || chain.IsUnspendable(chain.PayToPubKeyHashScript([20]byte{})) {
		t.Fatal("IsUnspendable")
	}
}

func TestParseScriptPushes(t *testing.T) {
	for _, n := range []int{0, 1, 17, 75, 76, 255, 256, 520} {
		data := bytes.Repeat([]byte{0x42}, n)
		s := chain.AppendPush(nil, data)
		ops, err := chain.ParseScript(s)
		if err != nil || len(ops) != 1 {
			t.Fatalf("push %d: %v %v", n, ops, err)
		}
		if n > 0 && !bytes.Equal(ops[0].Data, data) {
			t.Fatalf("push %d: data differs", n)
		}
		if !chain.IsPushOnly(s) {
			t.Fatalf("push %d: not push-only", n)
		}
	}
	for _, bad := range [][]byte{{0x05, 1, 2}, {chain.OP_PUSHDATA1}, {chain.OP_PUSHDATA2, 0xff}, {chain.OP_PUSHDATA4, 1, 0, 0}} {
		if _, err := chain.ParseScript(bad); !errors.Is(err, chain.ErrScriptMalformed) {
			t.Errorf("%x: err %v", bad, err)
		}
	}
}

// spendFixture is a one-input transaction spending a P2PKH output of alice.
func spendFixture(t *testing.T) (*chain.Tx, *chaintest.Key, uint64) {
	t.Helper()
	alice := chaintest.NewKey("alice")
	const value = 5_000_000
	prev := chaintest.Prev{OutPoint: chain.OutPoint{Hash: chain.Hash{9}, Index: 1}, Value: value, Key: alice}
	tx := chaintest.Spend([]chaintest.Prev{prev}, []chain.TxOut{{Value: 4_000_000, PkScript: chaintest.NewKey("bob").Script}})
	return tx, alice, value
}

func TestVerifyScriptP2PKH(t *testing.T) {
	tx, alice, value := spendFixture(t)
	if err := chain.VerifyScript(tx.TxIn[0].SigScript, alice.Script, tx, 0, value, nil); err != nil {
		t.Fatalf("valid spend rejected: %v", err)
	}
	mallory := chaintest.NewKey("mallory")

	resign := func(f func(tx *chain.Tx)) *chain.Tx {
		c := tx.Copy()
		f(c)
		return c
	}
	sigAndKey := func(tx *chain.Tx) ([]byte, []byte) {
		ops, _ := chain.ParseScript(tx.TxIn[0].SigScript)
		return ops[0].Data, ops[1].Data
	}
	sig, pub := sigAndKey(tx)
	highS := func() []byte {
		s, err := ecdsa.ParseDERSignature(sig[:len(sig)-1])
		if err != nil {
			t.Fatal(err)
		}
		r, sv := s.R(), s.S()
		sv.Negate() // N - S: the high-S twin, equally valid as plain ECDSA
		return append(derEncode(r.Bytes(), sv.Bytes()), sig[len(sig)-1])
	}()

	tests := []struct {
		name     string
		tx       *chain.Tx
		pkScript []byte
		amount   uint64
		want     error
	}{
		{"wrong amount committed", tx, alice.Script, value + 1, chain.ErrSignatureMismatch},
		{"locked to another key", tx, mallory.Script, value, chain.ErrScriptFailed},
		{"output changed after signing", resign(func(c *chain.Tx) { c.TxOut[0].Value-- }), alice.Script, value, chain.ErrSignatureMismatch},
		{"other key signs", resign(func(c *chain.Tx) { _ = mallory.SignInput(c, 0, value, nil) }), alice.Script, value, chain.ErrScriptFailed},
		{"high S", resign(func(c *chain.Tx) {
			c.TxIn[0].SigScript = chain.AppendPush(chain.AppendPush(nil, highS), pub)
		}), alice.Script, value, chain.ErrSigHighS},
		{"sighash type 2", resign(func(c *chain.Tx) {
			s := append(append([]byte(nil), sig[:len(sig)-1]...), 0x02)
			c.TxIn[0].SigScript = chain.AppendPush(chain.AppendPush(nil, s), pub)
		}), alice.Script, value, chain.ErrSigHashType},
		{"uncompressed key", resign(func(c *chain.Tx) {
			up := alice.Priv.PubKey().SerializeUncompressed()
			c.TxIn[0].SigScript = chain.AppendPush(chain.AppendPush(nil, sig), up)
		}), chain.PayToPubKeyHashScript(chain.Hash160(alice.Priv.PubKey().SerializeUncompressed())), value, chain.ErrPubKeyFormat},
		{"not push-only", resign(func(c *chain.Tx) {
			c.TxIn[0].SigScript = append(append([]byte(nil), c.TxIn[0].SigScript...), chain.OP_DUP)
		}), alice.Script, value, chain.ErrSigNotPushOnly},
		{"empty signature", resign(func(c *chain.Tx) {
			c.TxIn[0].SigScript = chain.AppendPush(chain.AppendPush(nil, nil), pub)
		}), alice.Script, value, chain.ErrScriptFailed},
		{"extra item left", resign(func(c *chain.Tx) {
			c.TxIn[0].SigScript = append([]byte{chain.OP_1}, c.TxIn[0].SigScript...)
		}), alice.Script, value, chain.ErrScriptFailed},
		{"op_return output", tx, chain.NullDataScript(nil), value, chain.ErrScriptFailed},
		{"truncated signature", resign(func(c *chain.Tx) {
			short := append(append([]byte(nil), sig[:len(sig)-6]...), sig[len(sig)-1])
			c.TxIn[0].SigScript = chain.AppendPush(chain.AppendPush(nil, short), pub)
		}), alice.Script, value, chain.ErrSigDER},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := chain.VerifyScript(tc.tx.TxIn[0].SigScript, tc.pkScript, tc.tx, 0, tc.amount, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSigHashLinear checks that the precomputed hashes give the same digest
// as computing them per input, and that each input's digest differs.
func TestSigHashLinear(t *testing.T) {
	k := chaintest.NewKey("k")
	var prevs []chaintest.Prev
	for i := 0; i < 5; i++ {
		prevs = append(prevs, chaintest.Prev{OutPoint: chain.OutPoint{Hash: chain.Hash{byte(i)}}, Value: 1000, Key: k})
	}
	tx := chaintest.Spend(prevs, []chain.TxOut{{Value: 4000, PkScript: k.Script}})
	sh := chain.NewSigHashes(tx)
	seen := map[chain.Hash]bool{}
	for i := range tx.TxIn {
		a, err := chain.CalcSignatureHash(tx, i, k.Script, 1000, chain.SigHashAll, sh)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := chain.CalcSignatureHash(tx, i, k.Script, 1000, chain.SigHashAll, nil)
		if a != b {
			t.Fatal("precomputed and fresh digests differ")
		}
		if seen[a] {
			t.Fatal("two inputs share a digest")
		}
		seen[a] = true
		if err := chain.VerifyScript(tx.TxIn[i].SigScript, k.Script, tx, i, 1000, sh); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chain.CalcSignatureHash(tx, 9, k.Script, 1, chain.SigHashAll, sh); !errors.Is(err, chain.ErrBadTxInput) {
		t.Fatal("out-of-range input index")
	}
}

func TestScriptLimits(t *testing.T) {
	tx, _, value := spendFixture(t)
	big := chain.AppendPush(nil, make([]byte, 521))
	if err := chain.VerifyScript(big, []byte{chain.OP_1}, tx, 0, value, nil); !errors.Is(err, chain.ErrScriptFailed) {
		t.Fatalf("oversized push: %v", err)
	}
	many := bytes.Repeat([]byte{chain.OP_NOP}, chain.MaxOpsPerScript+1)
	if err := chain.VerifyScript([]byte{chain.OP_1}, many, tx, 0, value, nil); !errors.Is(err, chain.ErrScriptFailed) {
		t.Fatalf("too many ops: %v", err)
	}
	huge := make([]byte, chain.MaxScriptSize+1)
	if err := chain.VerifyScript(nil, huge, tx, 0, value, nil); !errors.Is(err, chain.ErrScriptTooBig) {
		t.Fatalf("huge script: %v", err)
	}
	// A public key not on the curve is an error, not a panic.
	k := secp256k1.PrivKeyFromBytes([]byte{7}).PubKey().SerializeCompressed()
	k[1] ^= 0xff
	s := chain.AppendPush(chain.AppendPush(nil, []byte{0x30, 1}), k)
	_ = chain.VerifyScript(s, chain.PayToPubKeyHashScript(chain.Hash160(k)), tx, 0, value, nil)
}

func TestCoinbaseHeight(t *testing.T) {
	for _, h := range []int32{0, 1, 16, 17, 127, 128, 255, 256, 32767, 32768, 1 << 23, 1<<31 - 1} {
		cb := chaintest.Coinbase(h, nil, 1, nil)
		got, err := chain.ExtractCoinbaseHeight(cb)
		if err != nil || got != h {
			t.Errorf("height %d: got %d, %v", h, got, err)
		}
	}
}
