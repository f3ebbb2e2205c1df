package chain_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

// Tests of what a hostile peer can send: each was a crash, a leak or a
// loophole before the rule it tests.

// coinbaseScript replaces a block's coinbase script.
func coinbaseScript(script []byte) func(b *chain.Block) {
	return func(b *chain.Block) { b.Transactions[0].TxIn[0].SigScript = script }
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestCoinbaseHeightRules: the coinbase must start with exactly
// CoinbaseHeightScript(height) (BIP34's minimal form) and may continue with
// any bytes, script or not. The first row was a remote crash: an empty
// OP_PUSHDATA1 panicked while the height was read.
func TestCoinbaseHeightRules(t *testing.T) {
	f := newForkTest(t, nil)
	f.chainOf("m", 1, 16, "genesis") // the next block is at height 17 = 0x11
	tests := []struct {
		name   string
		script string
		want   error // nil: accepted
	}{
		{"empty OP_PUSHDATA1 (was a panic)", "4c00" + "00", chain.ErrBadCoinbaseHeight},
		{"OP_PUSHDATA1 of the height", "4c0111" + "00", chain.ErrBadCoinbaseHeight},
		{"OP_PUSHDATA2 of the height", "4d010011" + "00", chain.ErrBadCoinbaseHeight},
		{"height padded with a zero byte", "021100" + "00", chain.ErrBadCoinbaseHeight},
		{"height push runs past the end", "04110000", chain.ErrBadCoinbaseHeight},
		{"negative height", "0191" + "00", chain.ErrBadCoinbaseHeight},
		{"no height, only data", "0568656c6c6f", chain.ErrBadCoinbaseHeight},
		{"wrong height", "0112" + "00", chain.ErrBadCoinbaseHeight},
		{"minimal height, then bytes that do not parse", "0111" + "4c", nil},
		{"minimal height, then a truncated push", "0111" + "4dffff01", nil},
	}
	// c8 and c9 are valid; c8 came first and stays the tip.
	for i, tc := range tests {
		name := "c" + itoa(i)
		f.blockWith(name, "m16", coinbaseScript(mustHex(tc.script)))
		_, err := f.deliver(name)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s (%s): err %v, want %v", tc.name, tc.script, err, tc.want)
		}
	}
	f.expectTip("c8")
}

// TestExtractCoinbaseHeightEncodings: heights read back from what
// CoinbaseHeightScript writes, and nothing else.
func TestExtractCoinbaseHeightEncodings(t *testing.T) {
	cb := func(script []byte) *chain.Tx {
		tx := chaintest.Coinbase(0, nil, 1, nil)
		tx.TxIn[0].SigScript = script
		return tx
	}
	for _, h := range []int32{0, 1, 16, 17, 127, 128, 255, 256, 32767, 32768, 1 << 23, 1<<31 - 1} {
		got, err := chain.ExtractCoinbaseHeight(cb(append(chain.CoinbaseHeightScript(h), 0x4c)))
		if err != nil || got != h {
			t.Errorf("height %d: got %d, %v", h, got, err)
		}
	}
	for _, bad := range []string{"", "4c00", "4c0111", "0101", "020100", "0180", "05ffffffff00", "04ffffffff", "03ffff"} {
		if h, err := chain.ExtractCoinbaseHeight(cb(mustHex(bad))); !errors.Is(err, chain.ErrBadCoinbaseHeight) {
			t.Errorf("script %q: got height %d, err %v; want ErrBadCoinbaseHeight", bad, h, err)
		}
	}
}

// TestMinimalPushes: a signature script whose pushes are not in their
// shortest form is invalid by consensus, so nobody can re-encode a relayed
// transaction under another txid.
func TestMinimalPushes(t *testing.T) {
	for _, tc := range []struct {
		op   chain.ScriptOp
		want bool // minimal
	}{
		{chain.ScriptOp{Opcode: chain.OP_0}, true},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA1, Data: []byte{}}, false},
		{chain.ScriptOp{Opcode: 0x01, Data: []byte{5}}, false},    // OP_5
		{chain.ScriptOp{Opcode: 0x01, Data: []byte{0x81}}, false}, // OP_1NEGATE
		{chain.ScriptOp{Opcode: 0x01, Data: []byte{17}}, true},
		{chain.ScriptOp{Opcode: 0x01, Data: []byte{0}}, true},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA1, Data: make([]byte, 75)}, false},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA1, Data: make([]byte, 76)}, true},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA2, Data: make([]byte, 255)}, false},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA2, Data: make([]byte, 256)}, true},
		{chain.ScriptOp{Opcode: chain.OP_PUSHDATA4, Data: make([]byte, 256)}, false},
		{chain.ScriptOp{Opcode: chain.OP_DUP}, true},
	} {
		err := chain.CheckMinimalPush(tc.op)
		if (err == nil) != tc.want {
			t.Errorf("opcode %#02x with %d bytes: err %v, want minimal=%v", tc.op.Opcode, len(tc.op.Data), err, tc.want)
		}
		// AppendPush writes the minimal form of every data.
		if tc.op.Opcode <= chain.OP_PUSHDATA4 {
			ops, err := chain.ParseScript(chain.AppendPush(nil, tc.op.Data))
			if err != nil || len(ops) != 1 || chain.CheckMinimalPush(ops[0]) != nil {
				t.Errorf("AppendPush of %d bytes is not minimal: %v %v", len(tc.op.Data), ops, err)
			}
		}
	}

	// A valid payment, and the same payment with its signature pushed by
	// OP_PUSHDATA1: another txid, the same signature.
	f := newForkTest(t, nil)
	faucet := chaintest.GenesisPrev(f.p, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
	malleated := malleateSigPush(t, tx)
	if malleated.TxHash() == tx.TxHash() {
		t.Fatal("the re-encoded transaction has the same txid")
	}
	err := chain.VerifyScript(malleated.TxIn[0].SigScript, chaintest.RegtestFaucet.Script, malleated, 0, faucet.Value, nil)
	if !errors.Is(err, chain.ErrMinimalData) {
		t.Fatalf("re-encoded signature push: %v, want ErrMinimalData", err)
	}
	f.block("x1", "genesis", malleated)
	f.reject("x1", chain.ErrMinimalData)
	f.block("m1", "genesis", tx)
	f.accept("m1")
	f.expectTip("m1")
}

// malleateSigPush re-encodes the first push of input 0's signature script
// with OP_PUSHDATA1.
func malleateSigPush(t *testing.T, tx *chain.Tx) *chain.Tx {
	t.Helper()
	ops, err := chain.ParseScript(tx.TxIn[0].SigScript)
	if err != nil || len(ops) != 2 {
		t.Fatalf("unexpected signature script: %v %v", ops, err)
	}
	script := append([]byte{chain.OP_PUSHDATA1, byte(len(ops[0].Data))}, ops[0].Data...)
	script = chain.AppendPush(script, ops[1].Data)
	m := tx.Copy()
	m.TxIn[0].SigScript = script
	return m
}

// panickingSource is a UTXO source with a bug.
type panickingSource struct{}

func (panickingSource) FetchUtxo(chain.OutPoint) (*chain.UtxoEntry, error) {
	panic("bug in a UTXO source")
}

// TestValidationContainsPanics: a bug that panics during validation makes the
// object invalid (ErrValidationPanic) instead of taking the node down, also
// on the script workers' own goroutines.
func TestValidationContainsPanics(t *testing.T) {
	p := chain.RegtestParams
	faucet := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, faucet.Value-1000)})
	b := chaintest.BlockOn(p, p.GenesisHash, 0, p.GenesisBlock.Header.Timestamp, alice, "x", tx)
	_, err := chain.ConnectBlock(b, b.TxHashes(), 1, 0, chain.NewUtxoView(panickingSource{}), p, chain.ConnectOptions{})
	var re *chain.RuleError
	if !errors.As(err, &re) || re.Err != chain.ErrValidationPanic {
		t.Fatalf("ConnectBlock over a panicking source: %v, want ErrValidationPanic", err)
	}
	if !bytes.Contains([]byte(re.Description), []byte("bug in a UTXO source")) {
		t.Errorf("description does not name the panic: %s", re.Description)
	}
	// A job naming an input the transaction does not have panics inside
	// a worker goroutine.
	good := chain.ScriptJob{Tx: tx, Index: 0, PkScript: faucet.Key.Script, Amount: faucet.Value}
	bad := good
	bad.Index = 5
	jobs := []chain.ScriptJob{good, bad, good}
	for _, workers := range []int{1, 3} {
		if err := chain.CheckScripts(jobs, workers); !errors.Is(err, chain.ErrValidationPanic) {
			t.Errorf("%d workers: %v, want ErrValidationPanic", workers, err)
		}
	}
}
