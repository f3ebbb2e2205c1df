package miner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
)

// coinbaseTag is the last push of every coinbase signature script the miner
// builds, after the height and the extra nonce.
const coinbaseTag = "minichain"

// Template is a block waiting for its proof of work: a header built on the
// chain tip and a body of the coinbase plus mempool transactions. Only the
// coinbase's extra nonce and the header's nonce are left to choose. A
// Template is immutable and safe for concurrent use.
type Template struct {
	params    *chain.Params
	height    int32
	prevBlock chain.Hash
	bits      uint32
	timestamp uint32
	fees      uint64
	reward    uint64
	payTo     []byte
	txs       []*chain.Tx       // the transactions after the coinbase
	branch    chain.MerkleProof // the coinbase's Merkle branch (index 0)
	target    [chain.HashSize]byte
}

// TemplateInfo describes a template for Stats and the API.
type TemplateInfo struct {
	Height    int32      `json:"height"`
	PrevBlock chain.Hash `json:"prev_block"`
	Bits      uint32     `json:"bits"`
	Timestamp uint32     `json:"timestamp"`
	TxCount   int        `json:"tx_count"` // including the coinbase
	Fees      uint64     `json:"fees"`
	Reward    uint64     `json:"reward"` // subsidy + fees
}

// NewTemplate builds a block template on the tip of src.
//
// The block is at height tip+1 with the bits the chain requires next and the
// time max(now, median time past + 1). Transactions are taken from txs (nil
// means a coinbase-only block) in the order Ordered returns them, fee rate
// first and parents before children; one is included when it is final and
// its inputs pass chain.CheckTxInputs against the chain plus the
// transactions already chosen, and when the block stays within
// params.MaxBlockSize. Scripts are not checked again: the mempool checked
// them. The coinbase pays subsidy + fees to payTo.
//
// Errors: a storage error from src while looking up inputs, or a tip whose
// bits or time cannot make a block (a *chain.RuleError), wrapped with the
// height.
func NewTemplate(params *chain.Params, src ChainSource, txs TxSource, payTo []byte, now time.Time) (*Template, error) {
	if params == nil || src == nil {
		return nil, errors.New("miner: template needs parameters and a chain source")
	}
	if len(payTo) == 0 || len(payTo) > chain.MaxScriptSize {
		return nil, fmt.Errorf("miner: coinbase script (PayTo) of %d bytes, want 1 to %d", len(payTo), chain.MaxScriptSize)
	}
	best := src.BestSnapshot()
	if best == nil {
		return nil, errors.New("miner: chain source has no tip")
	}
	height := best.Height + 1
	t := &Template{
		params:    params,
		height:    height,
		prevBlock: best.Hash,
		bits:      best.NextBits,
		payTo:     append([]byte(nil), payTo...),
	}
	if err := t.setTarget(); err != nil {
		return nil, fmt.Errorf("miner: template at height %d: %w", height, err)
	}
	ts := max(now.Unix(), best.MedianTime+1)
	if ts > math.MaxUint32 {
		return nil, fmt.Errorf("miner: template at height %d: time %d does not fit a header", height, ts)
	}
	t.timestamp = uint32(ts)

	// The coinbase's size does not depend on its value or extra nonce.
	cbSize := t.coinbase(0).SerializeSize()
	var descs []*mempool.TxDesc
	if txs != nil {
		descs = txs.Ordered()
	}
	if err := t.selectTxs(descs, chain.NewUtxoView(src), cbSize, best.MedianTime); err != nil {
		return nil, err
	}
	t.reward = chain.CalcBlockSubsidy(height, params) + t.fees

	// The coinbase's branch does not depend on the coinbase itself, so a
	// placeholder leaf will do.
	leaves := make([]chain.Hash, 1, len(t.txs)+1)
	for _, tx := range t.txs {
		leaves = append(leaves, tx.TxHash())
	}
	branch, ok := chain.BuildMerkleProof(leaves, 0)
	if !ok {
		return nil, chain.AssertError("miner: no Merkle branch for the coinbase")
	}
	t.branch = branch
	return t, nil
}

// selectTxs adds to t, in the pool's order, every transaction of descs
// that is final, whose inputs pass chain.CheckTxInputs against view (the
// chain plus the transactions already chosen) and that keeps the block
// within the size limit; cbSize is the coinbase's size.
func (t *Template) selectTxs(descs []*mempool.TxDesc, view *chain.UtxoView, cbSize int, medianTime int64) error {
	height := t.height
	txBytes := 0
	for _, d := range descs {
		if d == nil || d.Tx == nil || d.Tx.IsCoinbase() {
			continue
		}
		tx := d.Tx
		size := tx.SerializeSize()
		blockSize := chain.HeaderSize + chain.CompactSizeLen(uint64(len(t.txs)+2)) + cbSize + txBytes + size
		if blockSize > t.params.MaxBlockSize {
			continue // a smaller one further down may still fit
		}
		if !chain.IsFinalTx(tx, height, medianTime) {
			continue
		}
		fee, _, err := chain.CheckTxInputs(tx, height, view, t.params)
		if err != nil {
			var re *chain.RuleError
			if errors.As(err, &re) {
				continue // spent, missing or immature since the pool took it
			}
			return fmt.Errorf("miner: template at height %d: inputs of %s: %w", height, d.TxID, err)
		}
		if t.fees+fee > chain.MaxMoney {
			continue
		}
		for i := range tx.TxIn {
			if _, err := view.Spend(tx.TxIn[i].PrevOut); err != nil {
				return fmt.Errorf("miner: template at height %d: spend inputs of %s: %w", height, d.TxID, err)
			}
		}
		view.AddTxOuts(tx, tx.TxHash(), height, false)
		t.txs = append(t.txs, tx)
		t.fees += fee
		txBytes += size
	}
	return nil
}

// setTarget checks the template's bits and stores the target as 32
// little-endian bytes, the order of a block hash.
func (t *Template) setTarget() error {
	if err := chain.CheckTargetRange(t.bits, t.params.PowLimit); err != nil {
		return err
	}
	target, _, _ := chain.CompactToBig(t.bits)
	var be [chain.HashSize]byte
	target.FillBytes(be[:]) // fits: CheckTargetRange bounds it by PowLimit
	for i := range be {
		t.target[i] = be[chain.HashSize-1-i]
	}
	return nil
}

// coinbase returns the coinbase for an extra nonce: its signature script is
// the height, the extra nonce as 8 little-endian bytes and the tag.
func (t *Template) coinbase(extraNonce uint64) *chain.Tx {
	var en [8]byte
	binary.LittleEndian.PutUint64(en[:], extraNonce)
	script := chain.CoinbaseHeightScript(t.height)
	script = chain.AppendPush(script, en[:])
	script = chain.AppendPush(script, []byte(coinbaseTag))
	return &chain.Tx{
		Version: 1,
		TxIn:    []chain.TxIn{{PrevOut: chain.NullOutPoint, SigScript: script, Sequence: chain.MaxSequence}},
		TxOut:   []chain.TxOut{{Value: t.reward, PkScript: append([]byte(nil), t.payTo...)}},
	}
}

// header returns the coinbase and the header (nonce 0) for an extra nonce.
// Only the coinbase's txid is hashed up the stored Merkle branch.
func (t *Template) header(extraNonce uint64) (chain.Header, *chain.Tx, error) {
	cb := t.coinbase(extraNonce)
	root, ok := chain.MerkleRootFromProof(cb.TxHash(), t.branch)
	if !ok {
		return chain.Header{}, nil, chain.AssertError("miner: template's coinbase branch has an impossible shape")
	}
	return chain.Header{
		Version:    1,
		PrevBlock:  t.prevBlock,
		MerkleRoot: root,
		Timestamp:  t.timestamp,
		Bits:       t.bits,
	}, cb, nil
}

// Header returns the header for an extra nonce, with nonce 0.
func (t *Template) Header(extraNonce uint64) (chain.Header, error) {
	h, _, err := t.header(extraNonce)
	return h, err
}

// Block returns the block for an extra nonce and a nonce. It does not check
// the proof of work. The error is an internal one (chain.AssertError) that a
// template built by NewTemplate never returns.
func (t *Template) Block(extraNonce uint64, nonce uint32) (*chain.Block, error) {
	h, cb, err := t.header(extraNonce)
	if err != nil {
		return nil, err
	}
	h.Nonce = nonce
	txs := make([]*chain.Tx, 0, len(t.txs)+1)
	txs = append(txs, cb)
	txs = append(txs, t.txs...)
	return &chain.Block{Header: h, Transactions: txs}, nil
}

// Height returns the height of the block being mined.
func (t *Template) Height() int32 { return t.height }

// PrevBlock returns the hash of the tip the template builds on.
func (t *Template) PrevBlock() chain.Hash { return t.prevBlock }

// Bits returns the compact target the block must meet.
func (t *Template) Bits() uint32 { return t.bits }

// Timestamp returns the header time, in unix seconds.
func (t *Template) Timestamp() uint32 { return t.timestamp }

// TxCount returns the number of transactions, the coinbase included.
func (t *Template) TxCount() int { return len(t.txs) + 1 }

// Fees returns the sum of the fees of the included transactions.
func (t *Template) Fees() uint64 { return t.fees }

// Reward returns the coinbase's value: the subsidy plus the fees.
func (t *Template) Reward() uint64 { return t.reward }

// Info returns a summary of the template.
func (t *Template) Info() TemplateInfo {
	return TemplateInfo{
		Height:    t.height,
		PrevBlock: t.prevBlock,
		Bits:      t.bits,
		Timestamp: t.timestamp,
		TxCount:   t.TxCount(),
		Fees:      t.fees,
		Reward:    t.reward,
	}
}
