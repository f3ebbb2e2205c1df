package chain

import (
	"errors"
	"fmt"
	"sort"

	"github.com/minichain/minichain/chain/store"
)

// This file holds the chain's reads and writes of its store: opening,
// writing the genesis block, and the one atomic write that connects or
// disconnects a block. The key layout is documented in chainio.go.

// dbUtxoSource reads UTXO entries inside a store transaction.
type dbUtxoSource struct{ t store.Txn }

func (s dbUtxoSource) FetchUtxo(op OutPoint) (*UtxoEntry, error) {
	b, err := s.t.Get(utxoKey(op))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeUtxoEntry(b)
}

func (c *Chain) loadBlock(t store.Txn, h Hash) (*Block, error) {
	b, err := t.Get(hashKey(prefixBlock, h))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrBlockNotFound, h)
	}
	if err != nil {
		return nil, err
	}
	blk, err := DecodeBlock(b, c.params.MaxBlockSize)
	if err != nil {
		return nil, corruptf("block %s: %v", h, err)
	}
	if got := blk.BlockHash(); got != h {
		return nil, corruptf("block stored under %s hashes to %s", h, got)
	}
	return blk, nil
}

func loadUndo(t store.Txn, h Hash) ([]SpentOutput, error) {
	b, err := t.Get(hashKey(prefixUndo, h))
	if err != nil {
		return nil, fmt.Errorf("undo data of %s: %w", h, err)
	}
	return decodeUndo(b)
}

// load reads the metadata, the block index and the tip, then finishes any
// reorganisation a crash cut short and reconnects the blocks connected
// after the last flush of the chain-state cache. Called with mu held.
func (c *Chain) load() error {
	finished, err := recoverJournal(c.db)
	if err != nil {
		return fmt.Errorf("recover the chain-state flush journal: %w", err)
	}
	if finished {
		c.log.Warn("finished a chain-state flush that a crash interrupted")
	}
	var genesis []byte
	err = c.db.View(func(t store.Txn) error {
		var err error
		genesis, err = t.Get(keyGenesis)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := t.Get(keyVersion)
		if err != nil {
			return fmt.Errorf("read storage version: %w", err)
		}
		if len(v) != 1 || v[0] != storageVersion {
			return fmt.Errorf("storage format version %x is not %d", v, storageVersion)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if genesis == nil {
		return c.initGenesis()
	}
	if string(genesis) != string(c.params.GenesisHash[:]) {
		var h Hash
		copy(h[:], genesis)
		return ruleError(ErrWrongGenesis, "the store belongs to the network with genesis %s, not %s (%s)",
			h, c.params.GenesisHash, c.params.Name)
	}
	if err := c.loadIndex(); err != nil {
		return err
	}
	// Blocks stored but never connected (a crash in between, or a branch
	// with more work whose switch was cut short) are tried now. A block
	// that breaks a rule, or trips a bug in validation, is marked invalid
	// and the node starts at its stored tip; so does a store failure,
	// which is logged and retried at the next start.
	c.rebuildCandidates()
	if _, err := c.activateBestChain(nil); err != nil {
		c.log.Error("could not resume the branch with the most work; starting at the stored tip", "err", err)
	}
	return nil
}

// loadIndex builds the in-memory block index and main chain from the store.
func (c *Chain) loadIndex() error {
	type rec struct {
		hash Hash
		indexRecord
	}
	var recs []rec
	var tipHash Hash
	err := c.db.View(func(t store.Txn) error {
		var err error
		if tipHash, err = readTip(t); err != nil {
			return err
		}
		return t.Iterate([]byte{prefixIndex}, func(k, v []byte) error {
			if len(k) != 1+HashSize {
				return corruptf("block index key of %d bytes", len(k))
			}
			r, err := decodeIndexRecord(v)
			if err != nil {
				return err
			}
			var h Hash
			copy(h[:], k[1:])
			recs = append(recs, rec{hash: h, indexRecord: r})
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].height < recs[j].height })
	for _, r := range recs {
		var parent *blockNode
		if r.height > 0 {
			parent = c.index[r.header.PrevBlock]
			if parent == nil || parent.height != r.height-1 {
				return corruptf("block %s at height %d has no stored parent", r.hash, r.height)
			}
		} else if r.hash != c.params.GenesisHash {
			return corruptf("block %s at height 0 is not the genesis block", r.hash)
		}
		n := newBlockNode(r.header, r.hash, parent, r.seq)
		n.status = r.status
		if n.header.BlockHash() != r.hash {
			return corruptf("index record %s holds a header hashing to %s", r.hash, n.header.BlockHash())
		}
		c.index[r.hash] = n
		if parent != nil {
			parent.children = append(parent.children, n)
		}
		if r.seq >= c.nextSeq {
			c.nextSeq = r.seq + 1
		}
	}
	return c.setMainChain(tipHash)
}

// readTip reads the stored tip's hash.
func readTip(t store.Txn) (Hash, error) {
	var tip Hash
	tb, err := t.Get(keyTip)
	if err != nil {
		return tip, fmt.Errorf("read tip: %w", err)
	}
	if len(tb) != HashSize {
		return tip, corruptf("tip record of %d bytes", len(tb))
	}
	copy(tip[:], tb)
	return tip, nil
}

// setMainChain makes the indexed block tipHash the tip: the main chain is
// its ancestry.
func (c *Chain) setMainChain(tipHash Hash) error {
	tip := c.index[tipHash]
	if tip == nil {
		return corruptf("tip %s is not in the block index", tipHash)
	}
	c.main = make([]*blockNode, tip.height+1)
	for n := tip; n != nil; n = n.parent {
		c.main[n.height] = n
	}
	c.updateBest()
	return nil
}

// reloadMainChain re-reads the tip after a failed write so memory matches
// the chain state again. The chain state is the store with the chain-state
// cache over it: a failed write leaves the cache holding exactly the
// blocks written before it.
func (c *Chain) reloadMainChain() error {
	var tipHash Hash
	err := c.sc.view(func(t store.Txn) (err error) {
		tipHash, err = readTip(t)
		return err
	})
	if err != nil {
		return err
	}
	if err := c.setMainChain(tipHash); err != nil {
		return err
	}
	c.rebuildCandidates()
	return nil
}

// initGenesis writes the genesis block into an empty store. Its outputs are
// the network's allocations and are spendable at once.
func (c *Chain) initGenesis() error {
	g := c.params.GenesisBlock
	hash := c.params.GenesisHash
	node := newBlockNode(g.Header, hash, nil, 0)
	txids := g.TxHashes()
	view := NewUtxoView(nil)
	for i, tx := range g.Transactions {
		view.AddTxOuts(tx, txids[i], 0, false)
	}
	err := c.db.Update(func(t store.Txn) error {
		if err := t.Set(keyVersion, []byte{storageVersion}); err != nil {
			return err
		}
		if err := t.Set(keyGenesis, hash[:]); err != nil {
			return err
		}
		if err := t.Set(hashKey(prefixBlock, hash), g.Serialize()); err != nil {
			return err
		}
		if err := writeConnectBlock(t, node, nil); err != nil {
			return err
		}
		return writeConnectState(t, node, g, txids, nil, view)
	})
	if err != nil {
		return fmt.Errorf("write genesis block: %w", err)
	}
	node.status = statusValid
	c.index[hash] = node
	c.main = []*blockNode{node}
	c.nextSeq = 1
	c.updateBest()
	return nil
}

// writeUtxoChanges stores a view layer's changes to the UTXO set and the
// address UTXO index.
func writeUtxoChanges(t store.Txn, view *UtxoView) error {
	for _, ch := range view.Changes() {
		if ch.Entry != nil {
			if err := t.Set(utxoKey(ch.OutPoint), encodeUtxoEntry(ch.Entry)); err != nil {
				return err
			}
			if pkh, ok := ExtractPubKeyHash(ch.Entry.PkScript); ok {
				if err := t.Set(addrUtxoKey(pkh, ch.OutPoint), encodeAddrUtxo(ch.Entry)); err != nil {
					return err
				}
			}
			continue
		}
		if err := t.Delete(utxoKey(ch.OutPoint)); err != nil {
			return err
		}
		if ch.Removed != nil {
			if pkh, ok := ExtractPubKeyHash(ch.Removed.PkScript); ok {
				if err := t.Delete(addrUtxoKey(pkh, ch.OutPoint)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addrRow is one row of the address history.
type addrRow struct {
	pkh   [20]byte
	pos   uint32
	txid  Hash
	delta addrDelta
}

// addrRows computes the address history rows of a block: per transaction and
// per address, what it received and what it spent.
func addrRows(b *Block, txids []Hash, undo []SpentOutput) []addrRow {
	var rows []addrRow
	k := 0
	for i, tx := range b.Transactions {
		deltas := make(map[[20]byte]*addrDelta)
		get := func(pkh [20]byte) *addrDelta {
			d := deltas[pkh]
			if d == nil {
				d = &addrDelta{}
				deltas[pkh] = d
			}
			return d
		}
		if i > 0 {
			for range tx.TxIn {
				if k < len(undo) {
					e := &undo[k].Entry
					if pkh, ok := ExtractPubKeyHash(e.PkScript); ok {
						get(pkh).sent += e.Value
					}
				}
				k++
			}
		}
		for j := range tx.TxOut {
			if pkh, ok := ExtractPubKeyHash(tx.TxOut[j].PkScript); ok {
				get(pkh).received += tx.TxOut[j].Value
			}
		}
		for pkh, d := range deltas {
			rows = append(rows, addrRow{pkh: pkh, pos: uint32(i), txid: txids[i], delta: *d})
		}
	}
	return rows
}

// writeConnectBlock writes what connecting block n adds beside the chain
// state: its undo data and its index record marked valid. It goes straight
// to the store (unsynced) before the chain state changes in the cache, so
// the next flush, which syncs, finds it durable.
func writeConnectBlock(t store.Txn, n *blockNode, undo []SpentOutput) error {
	if n.height > 0 {
		if err := t.Set(hashKey(prefixUndo, n.hash), encodeUndo(undo)); err != nil {
			return err
		}
	}
	return t.Set(hashKey(prefixIndex, n.hash), encodeIndexRecord(n, n.status|statusValid))
}

// writeConnectState writes the chain-state changes of connecting block n:
// its UTXO changes, tx and address indexes, height entry and the new tip.
// They go to the chain-state cache (statecache.go), all or none.
func writeConnectState(t store.Txn, n *blockNode, b *Block, txids []Hash, undo []SpentOutput, view *UtxoView) error {
	if err := writeUtxoChanges(t, view); err != nil {
		return err
	}
	for i, id := range txids {
		if err := t.Set(hashKey(prefixTxIndex, id), encodeTxLoc(n.hash, uint32(i))); err != nil {
			return err
		}
	}
	for _, r := range addrRows(b, txids, undo) {
		if err := t.Set(addrHistKey(r.pkh, n.height, r.pos), encodeAddrHist(r.txid, r.delta)); err != nil {
			return err
		}
	}
	if err := t.Set(heightKey(n.height), n.hash[:]); err != nil {
		return err
	}
	return t.Set(keyTip, n.hash[:])
}

// writeDisconnect writes the chain-state changes of disconnecting block n,
// the tip: it reverses everything writeConnectState wrote and makes n's
// parent the tip. They go to the chain-state cache, all or none.
func writeDisconnect(t store.Txn, n *blockNode, b *Block, txids []Hash, undo []SpentOutput, view *UtxoView) error {
	if err := writeUtxoChanges(t, view); err != nil {
		return err
	}
	for _, id := range txids {
		if err := t.Delete(hashKey(prefixTxIndex, id)); err != nil {
			return err
		}
	}
	for _, r := range addrRows(b, txids, undo) {
		if err := t.Delete(addrHistKey(r.pkh, n.height, r.pos)); err != nil {
			return err
		}
	}
	if err := t.Delete(heightKey(n.height)); err != nil {
		return err
	}
	return t.Set(keyTip, n.parent.hash[:])
}
