package chain

// Block is a header and its transactions, the first of which is the coinbase.
type Block struct {
	Header       Header
	Transactions []*Tx
}

// BlockHash returns the hash of the block's header.
func (b *Block) BlockHash() Hash { return b.Header.BlockHash() }

// SerializeSize returns the length of the block's canonical encoding.
func (b *Block) SerializeSize() int {
	n := HeaderSize + CompactSizeLen(uint64(len(b.Transactions)))
	for _, tx := range b.Transactions {
		n += tx.SerializeSize()
	}
	return n
}

// Serialize returns the canonical encoding: the header, a compact-size
// transaction count and the transactions.
func (b *Block) Serialize() []byte {
	out := make([]byte, 0, b.SerializeSize())
	out = b.Header.AppendTo(out)
	out = AppendCompactSize(out, uint64(len(b.Transactions)))
	for _, tx := range b.Transactions {
		out = tx.AppendTo(out)
	}
	return out
}

// TxHashes returns the txid of every transaction, in block order.
func (b *Block) TxHashes() []Hash {
	hs := make([]Hash, len(b.Transactions))
	for i, tx := range b.Transactions {
		hs[i] = tx.TxHash()
	}
	return hs
}

// DecodeBlock decodes one block that must fill b exactly. maxSize is the
// maximum block size of the parameters.
func DecodeBlock(b []byte, maxSize int) (*Block, error) {
	if len(b) > maxSize {
		return nil, ruleError(ErrTooLarge, "block: %d bytes exceeds the limit %d", len(b), maxSize)
	}
	r := newReader(b, "block")
	blk := &Block{Header: readHeader(r)}
	n := r.count("tx count", MinTxSize)
	if r.err != nil {
		return nil, r.err
	}
	blk.Transactions = make([]*Tx, 0, n)
	for i := 0; i < n; i++ {
		tx := readTx(r)
		if r.err != nil {
			return nil, r.err
		}
		blk.Transactions = append(blk.Transactions, tx)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return blk, nil
}
