package chain

// UtxoEntry is an unspent transaction output and where it was created.
type UtxoEntry struct {
	Value      uint64
	PkScript   []byte
	Height     int32 // height of the block that created it
	IsCoinbase bool  // created by a coinbase (other than genesis): subject to maturity
}

// SpentOutput is one output a block spent, kept as undo data so the block can
// be disconnected: the entry as it was before the spend.
type SpentOutput struct {
	OutPoint OutPoint
	Entry    UtxoEntry
}

// UtxoSource is where a UtxoView loads the entries it does not hold yet. A
// nil entry with a nil error means the output does not exist or is spent.
type UtxoSource interface {
	FetchUtxo(op OutPoint) (*UtxoEntry, error)
}

// viewEntry is a view's record of an outpoint: its entry (nil once spent or
// never existing), whether the view changed it relative to its source, and
// the entry it removed (so indexes keyed by the output's script can be
// updated).
type viewEntry struct {
	entry    *UtxoEntry
	modified bool
	removed  *UtxoEntry
}

// UtxoView is a scratch overlay of the UTXO set: it loads entries from its
// source on demand and records additions and spends in memory. Validating a
// block or a whole reorg against a view changes nothing stored; Changes then
// lists what to write. A UtxoView is not safe for concurrent use.
type UtxoView struct {
	source  UtxoSource
	entries map[OutPoint]*viewEntry
}

// NewUtxoView returns an empty view over source. With a nil source the view
// is a complete UTXO set of its own: outputs not added to it are unknown, and
// spent outputs are forgotten (so Changes does not list spends).
func NewUtxoView(source UtxoSource) *UtxoView {
	return &UtxoView{source: source, entries: make(map[OutPoint]*viewEntry)}
}

// Lookup returns the unspent entry for op, or nil when it is unknown or
// spent.
func (v *UtxoView) Lookup(op OutPoint) (*UtxoEntry, error) {
	if ve, ok := v.entries[op]; ok {
		return ve.entry, nil
	}
	if v.source == nil {
		return nil, nil
	}
	e, err := v.source.FetchUtxo(op)
	if err != nil {
		return nil, err
	}
	v.entries[op] = &viewEntry{entry: e}
	return e, nil
}

// Add records a new unspent output.
func (v *UtxoView) Add(op OutPoint, e *UtxoEntry) {
	v.entries[op] = &viewEntry{entry: e, modified: true}
}

// Spend marks op spent and returns the entry it had, or nil when there was
// none.
func (v *UtxoView) Spend(op OutPoint) (*UtxoEntry, error) {
	e, err := v.Lookup(op)
	if err != nil || e == nil {
		return nil, err
	}
	if v.source == nil {
		// A view with no source is the whole set: forget spent outputs
		// rather than keep a record of each.
		delete(v.entries, op)
		return e, nil
	}
	v.entries[op] = &viewEntry{modified: true, removed: e}
	return e, nil
}

// Len returns the number of unspent entries the view holds.
func (v *UtxoView) Len() int {
	n := 0
	for _, ve := range v.entries {
		if ve.entry != nil {
			n++
		}
	}
	return n
}

// AddTxOuts adds every spendable output of tx, created at height.
func (v *UtxoView) AddTxOuts(tx *Tx, txid Hash, height int32, isCoinbase bool) {
	for i := range tx.TxOut {
		out := &tx.TxOut[i]
		if IsUnspendable(out.PkScript) {
			continue
		}
		v.Add(OutPoint{Hash: txid, Index: uint32(i)},
			&UtxoEntry{Value: out.Value, PkScript: out.PkScript, Height: height, IsCoinbase: isCoinbase})
	}
}

// UtxoChange is one change a view holds against its source: an entry to
// store, or (Entry nil) an outpoint to delete, with Removed the entry deleted
// when the view knows it.
type UtxoChange struct {
	OutPoint OutPoint
	Entry    *UtxoEntry
	Removed  *UtxoEntry
}

// Changes returns every outpoint the view modified, with its new state.
func (v *UtxoView) Changes() []UtxoChange {
	var out []UtxoChange
	for op, ve := range v.entries {
		if ve.modified {
			out = append(out, UtxoChange{OutPoint: op, Entry: ve.entry, Removed: ve.removed})
		}
	}
	return out
}

// FetchUtxo makes a view the source of another view, so views can be layered
// one per block: each layer's Changes are then exactly that block's changes.
func (v *UtxoView) FetchUtxo(op OutPoint) (*UtxoEntry, error) { return v.Lookup(op) }

// DisconnectBlock undoes block (with its txids) in the view, from the last
// transaction to the first: each transaction's outputs are removed and the
// outputs its inputs spent are restored from undo. Going backwards matters
// when a transaction spends an output created earlier in the same block.
func (v *UtxoView) DisconnectBlock(b *Block, txids []Hash, undo []SpentOutput) error {
	n := 0
	for _, tx := range b.Transactions[1:] {
		n += len(tx.TxIn)
	}
	if n != len(undo) || len(txids) != len(b.Transactions) {
		return AssertError("undo data does not match the block's inputs")
	}
	end := len(undo)
	for i := len(b.Transactions) - 1; i >= 0; i-- {
		tx := b.Transactions[i]
		for j := range tx.TxOut {
			out := &tx.TxOut[j]
			if !IsUnspendable(out.PkScript) {
				v.entries[OutPoint{Hash: txids[i], Index: uint32(j)}] = &viewEntry{modified: true,
					removed: &UtxoEntry{Value: out.Value, PkScript: out.PkScript}}
			}
		}
		if i == 0 {
			break
		}
		start := end - len(tx.TxIn)
		for k := start; k < end; k++ {
			e := undo[k].Entry
			v.Add(undo[k].OutPoint, &e)
		}
		end = start
	}
	return nil
}
