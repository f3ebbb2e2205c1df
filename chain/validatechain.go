package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/minichain/minichain/chain/store"
)

// ValidationReport is the result of re-validating the stored main chain.
type ValidationReport struct {
	Tip    Hash  `json:"tip"`
	Height int32 `json:"height"`
	// Blocks is how many blocks were checked; Utxos how many unspent
	// outputs the recomputed set holds.
	Blocks int  `json:"blocks_checked"`
	Utxos  int  `json:"utxos"`
	Valid  bool `json:"valid"`
	// BadHeight is the first height that failed (-1 when valid) and Error
	// what was wrong.
	BadHeight int32  `json:"bad_height"`
	Error     string `json:"error,omitempty"`
}

// ValidateChain re-checks the whole stored main chain from genesis: every
// block's sanity, header context and connection, recomputing the UTXO set in
// memory, and finally compares the recomputed set with the stored one. It
// reads one consistent snapshot of the store, so blocks may keep arriving
// meanwhile. progress, if not nil, is called after each block.
//
// A rule violation or a mismatch is reported in the report (Valid false);
// the error is for failures to read or a cancelled ctx.
func (c *Chain) ValidateChain(ctx context.Context, now time.Time, progress func(height, tip int32)) (ValidationReport, error) {
	rep := ValidationReport{BadHeight: -1}
	// The store holds a consistent state only at a flush: flush, then read
	// a snapshot of it (later flushes do not change the snapshot).
	if err := c.Flush(); err != nil {
		return rep, err
	}
	err := c.db.View(func(t store.Txn) error {
		var err error
		if rep.Tip, err = readTip(t); err != nil {
			return err
		}
		c.mu.RLock()
		tipNode := c.index[rep.Tip]
		c.mu.RUnlock()
		if tipNode == nil {
			return corruptf("tip %s is not in the block index", rep.Tip)
		}
		rep.Height = tipNode.height
		view := NewUtxoView(nil)
		bad, err := c.replayMainChain(ctx, t, tipNode, view, now, &rep, progress)
		if err == nil && bad == nil {
			rep.Utxos = view.Len()
			if bad, err = compareUtxoSet(t, view); bad != nil {
				rep.BadHeight = rep.Height
			}
		}
		if bad != nil {
			rep.Error = bad.Error()
			return nil
		}
		rep.Valid = err == nil
		return err
	})
	return rep, err
}

// replayMainChain re-checks every main-chain block up to tip from genesis,
// applying each to view. bad is the first rule violation or inconsistency
// (rep.BadHeight says where); err a failure to read or a cancelled ctx.
func (c *Chain) replayMainChain(ctx context.Context, t store.Txn, tip *blockNode, view *UtxoView, now time.Time,
	rep *ValidationReport, progress func(height, tip int32)) (bad, err error) {
	fail := func(h int32, err error) (error, error) {
		rep.BadHeight = h
		return err, nil
	}
	// The tip's ancestors by height, found in one walk (looking each one
	// up from the tip would cost the square of the height).
	path := make([]*blockNode, tip.height+1)
	for n := tip; n != nil; n = n.parent {
		path[n.height] = n
	}
	for h := int32(0); h <= tip.height; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hb, err := t.Get(heightKey(h))
		if err != nil {
			return fail(h, fmt.Errorf("height index: %w", err))
		}
		var hash Hash
		copy(hash[:], hb)
		blk, err := c.loadBlock(t, hash)
		if err != nil {
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrBlockNotFound) {
				return fail(h, err)
			}
			return nil, err
		}
		node := path[h]
		if node == nil || node.hash != hash {
			return fail(h, fmt.Errorf("height index names %s, the tip's ancestor is another block", hash))
		}
		if h == 0 {
			if hash != c.params.GenesisHash {
				return fail(h, fmt.Errorf("block 0 is %s, not the genesis block", hash))
			}
			for i, txid := range blk.TxHashes() {
				view.AddTxOuts(blk.Transactions[i], txid, 0, false)
			}
		} else if err := c.recheckBlock(blk, node, view, now); err != nil {
			return fail(h, err)
		}
		rep.Blocks++
		if progress != nil {
			progress(h, tip.height)
		}
	}
	return nil, nil
}

// recheckBlock runs every check of block n again (sanity, header context,
// connection) and applies it to view.
func (c *Chain) recheckBlock(blk *Block, n *blockNode, view *UtxoView, now time.Time) error {
	txids, err := checkBlockSanity(blk, c.params)
	if err != nil {
		return err
	}
	if blk.Header.PrevBlock != n.parent.hash {
		return fmt.Errorf("block %s does not link to %s", n.hash, n.parent.hash)
	}
	if err := CheckBlockHeaderContext(&blk.Header, n.parent, c.params, now); err != nil {
		return err
	}
	_, err = ConnectBlock(blk, txids, n.height, CalcPastMedianTime(n.parent), view, c.params, c.connOpts)
	return err
}

// compareUtxoSet compares the stored UTXO set with the recomputed one. bad
// is the first difference; err a failure to read.
func compareUtxoSet(t store.Txn, view *UtxoView) (bad, err error) {
	stored := 0
	err = t.Iterate([]byte{prefixUtxo}, func(k, v []byte) error {
		stored++
		if len(k) != 1+HashSize+4 {
			bad = corruptf("utxo key of %d bytes", len(k))
			return bad
		}
		var op OutPoint
		copy(op.Hash[:], k[1:])
		op.Index = binary.BigEndian.Uint32(k[1+HashSize:])
		want, _ := view.Lookup(op)
		got, derr := decodeUtxoEntry(v)
		if derr != nil {
			bad = derr
			return bad
		}
		if want == nil || want.Value != got.Value || want.Height != got.Height ||
			want.IsCoinbase != got.IsCoinbase || !bytes.Equal(want.PkScript, got.PkScript) {
			bad = fmt.Errorf("stored UTXO set differs from the recomputed one at %s:%d", op.Hash, op.Index)
			return bad
		}
		return nil
	})
	if bad != nil {
		return bad, nil
	}
	if err == nil && stored != view.Len() {
		bad = fmt.Errorf("stored UTXO set has %d entries, recomputed %d", stored, view.Len())
	}
	return bad, err
}
