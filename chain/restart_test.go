package chain

import (
	"testing"

	"github.com/minichain/minichain/chain/store"
)

// TestRestartWithStoredBadBlock: a block that was stored but never connected
// (the node died while connecting it) and that breaks a rule, or trips a bug
// in validation, is tried once at the next start, marked invalid, and the
// node starts at its stored tip. Before the coinbase height was read safely,
// this block (an empty OP_PUSHDATA1 where the height belongs) panicked at
// every start: one block took a node down for good.
func TestRestartWithStoredBadBlock(t *testing.T) {
	db := store.NewMemory()
	p := RegtestParams
	c, err := New(Config{Params: p, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	genesis := c.BestSnapshot()

	// A block at height 1 whose coinbase starts 4c00, stored with its index
	// record (status: stored, not yet connected) as acceptBlock writes it.
	cb := &Tx{Version: 1,
		TxIn:  []TxIn{{PrevOut: NullOutPoint, SigScript: []byte{OP_PUSHDATA1, 0x00, 0x00}, Sequence: MaxSequence}},
		TxOut: []TxOut{{Value: 1, PkScript: PayToPubKeyHashScript([20]byte{1})}}}
	b := &Block{Header: Header{Version: 1, PrevBlock: genesis.Hash, Timestamp: uint32(genesis.Timestamp) + 1,
		Bits: p.PowLimitBits}, Transactions: []*Tx{cb}}
	b.Header.MerkleRoot, _ = CalcMerkleRoot(b.TxHashes())
	for CheckProofOfWork(b.BlockHash(), b.Header.Bits, p.PowLimit) != nil {
		b.Header.Nonce++
	}
	hash := b.BlockHash()
	c.mu.Lock()
	node := newBlockNode(b.Header, hash, c.tip(), c.nextSeq)
	c.mu.Unlock()
	err = db.Update(func(t store.Txn) error {
		if err := t.Set(hashKey(prefixBlock, hash), b.Serialize()); err != nil {
			return err
		}
		return t.Set(hashKey(prefixIndex, hash), encodeIndexRecord(node, 0))
	})
	if err != nil {
		t.Fatal(err)
	}

	for start := 1; start <= 2; start++ {
		c, err := New(Config{Params: p, DB: db})
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		if best := c.BestSnapshot(); best.Hash != genesis.Hash {
			t.Fatalf("start %d: tip %s, want the genesis block", start, best.Hash)
		}
		info, err := c.BlockInfo(hash)
		if err != nil || info.Status != "invalid" {
			t.Fatalf("start %d: the bad block is %q (%v), want invalid", start, info.Status, err)
		}
		c.mu.RLock()
		cands := len(c.candidates)
		c.mu.RUnlock()
		if cands != 0 {
			t.Fatalf("start %d: %d candidates left: the bad block would be tried again", start, cands)
		}
	}
}
