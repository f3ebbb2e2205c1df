package query

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/wallet"
)

// This file turns chain types into the API's JSON views. The explorer pages
// read the same views, so there is one path from the node's state to
// anything a user sees.

// Difficulty is how many times harder than the network's easiest target a
// block's target is.
func (r *Reader) Difficulty(bits uint32) float64 {
	target, _, _ := chain.CompactToBig(bits)
	if target.Sign() <= 0 {
		return 0
	}
	d, _ := new(big.Float).Quo(new(big.Float).SetInt(r.params.PowLimit), new(big.Float).SetInt(target)).Float64()
	return d
}

func targetHex(bits uint32) string {
	t, _, _ := chain.CompactToBig(bits)
	return fmt.Sprintf("%064x", t)
}

func (r *Reader) AddressOf(script []byte) string {
	if a, ok := wallet.AddressOfScript(script, r.params); ok {
		return a.String()
	}
	return ""
}

// BlockSummary builds the view of an indexed block.
func (r *Reader) BlockSummary(bi chain.BlockInfo, b *chain.Block) api.BlockSummary {
	s := api.BlockSummary{
		Hash: bi.Hash.String(), Height: bi.Height, MainChain: bi.MainChain, Status: bi.Status,
		Confirmations: bi.Confirmations, Version: bi.Header.Version, PreviousHash: bi.Header.PrevBlock.String(),
		MerkleRoot: bi.Header.MerkleRoot.String(), Time: bi.Header.Timestamp,
		Bits: fmt.Sprintf("%08x", bi.Header.Bits), Nonce: bi.Header.Nonce, Difficulty: r.Difficulty(bi.Header.Bits),
		Target: targetHex(bi.Header.Bits), Work: bi.Work.Text(16), ChainWork: bi.WorkSum.Text(16),
	}
	if !bi.NextHash.IsZero() {
		s.NextHash = bi.NextHash.String()
	}
	s.Size = b.SerializeSize()
	s.TxCount = len(b.Transactions)
	for _, out := range b.Transactions[0].TxOut {
		s.Reward += out.Value
	}
	if bi.Height > 0 {
		if sub := chain.CalcBlockSubsidy(bi.Height, r.params); s.Reward > sub {
			s.Fees = s.Reward - sub
		}
	}
	return s
}

// BlockView builds the full view of a block with its transactions; input
// values come from the block's undo data when it was connected.
func (r *Reader) BlockView(bi chain.BlockInfo, b *chain.Block) (api.Block, error) {
	v := api.Block{BlockSummary: r.BlockSummary(bi, b)}
	spent, err := r.spentOutputs(bi.Hash, b)
	if err != nil {
		return v, err
	}
	height := bi.Height
	for i, tx := range b.Transactions {
		tv := r.TxView(tx, spent[i])
		tv.BlockHash, tv.BlockHeight, tv.Confirmations = bi.Hash.String(), &height, bi.Confirmations
		v.Transactions = append(v.Transactions, tv)
	}
	return v, nil
}

// spentOutputs returns, for each transaction of block b (stored as h), the
// outputs its inputs spend, from the block's undo data: that lists the
// spent outputs of the non-coinbase inputs in order. A coinbase spends
// nothing; a block never connected has no undo data, and its entries stay
// nil (values unknown).
func (r *Reader) spentOutputs(h chain.Hash, b *chain.Block) ([][]*chain.UtxoEntry, error) {
	out := make([][]*chain.UtxoEntry, len(b.Transactions))
	undo, err := r.chain.BlockUndo(h)
	if errors.Is(err, chain.ErrBlockNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	k := 0
	for i, tx := range b.Transactions[1:] {
		if k+len(tx.TxIn) > len(undo) {
			break
		}
		for j := range tx.TxIn {
			e := undo[k+j].Entry
			out[i+1] = append(out[i+1], &e)
		}
		k += len(tx.TxIn)
	}
	return out, nil
}

// TxView builds the view of a transaction; prev holds the outputs its
// inputs spend, in order, when known (nil entries or a short slice leave
// values and the fee out).
func (r *Reader) TxView(tx *chain.Tx, prev []*chain.UtxoEntry) api.Tx {
	v := api.Tx{TxID: tx.TxHash().String(), Version: tx.Version, LockTime: tx.LockTime, Size: tx.SerializeSize(),
		Coinbase: tx.IsCoinbase()}
	var in, out uint64
	known := len(prev) == len(tx.TxIn)
	for i, txin := range tx.TxIn {
		iv := api.TxInput{PrevIndex: txin.PrevOut.Index, ScriptSig: hex.EncodeToString(txin.SigScript),
			ScriptAsm: chain.DisasmScript(txin.SigScript), Sequence: txin.Sequence}
		if v.Coinbase {
			iv.Coinbase = true
			if h, err := chain.ExtractCoinbaseHeight(tx); err == nil {
				iv.Height = &h
			}
		} else {
			iv.PrevTxID = txin.PrevOut.Hash.String()
			if i < len(prev) && prev[i] != nil {
				val := prev[i].Value
				iv.Value = &val
				iv.Address = r.AddressOf(prev[i].PkScript)
				in += val
			} else {
				known = false
			}
		}
		v.Inputs = append(v.Inputs, iv)
	}
	for i, o := range tx.TxOut {
		out += o.Value
		v.Outputs = append(v.Outputs, api.TxOutput{Index: uint32(i), Value: o.Value,
			ScriptPubKey: hex.EncodeToString(o.PkScript), ScriptAsm: chain.DisasmScript(o.PkScript),
			Type: chain.ClassifyScript(o.PkScript).String(), Address: r.AddressOf(o.PkScript)})
	}
	if !v.Coinbase && known && in >= out {
		fee := in - out
		v.Fee = &fee
	}
	return v
}
