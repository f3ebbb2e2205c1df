package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/minichain/minichain/chain/store"
)

// ErrTxNotFound is returned for a transaction not on the main chain.
var ErrTxNotFound = errors.New("transaction not found")

// BlockByHash returns a stored block, on the main chain or not.
func (c *Chain) BlockByHash(h Hash) (*Block, error) {
	var blk *Block
	err := c.sc.view(func(t store.Txn) error {
		var err error
		blk, err = c.loadBlock(t, h)
		return err
	})
	return blk, err
}

// BlockHashByHeight returns the hash of the main-chain block at height.
func (c *Chain) BlockHashByHeight(height int32) (Hash, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if height < 0 || int(height) >= len(c.main) {
		return Hash{}, fmt.Errorf("%w: no main-chain block at height %d", ErrBlockNotFound, height)
	}
	return c.main[height].hash, nil
}

// HaveBlock reports whether the block is in the index or the orphan pool.
func (c *Chain) HaveBlock(h Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index[h] != nil || c.orphans.has(h)
}

// IsKnownInvalid reports whether the block is known to break a rule.
func (c *Chain) IsKnownInvalid(h Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n := c.index[h]; n != nil {
		return n.status.invalid()
	}
	_, bad := c.rejected.get(h)
	return bad
}

// OrphanCount returns the number of blocks waiting for their parent.
func (c *Chain) OrphanCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orphans.len()
}

// HaveOrphan reports whether the block waits in the orphan pool.
func (c *Chain) HaveOrphan(h Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orphans.has(h)
}

// BlockInfo describes a block in the index.
type BlockInfo struct {
	Hash          Hash
	Header        Header
	Height        int32
	Status        string // "valid", "stored" (not yet connected), "invalid", "invalid-ancestor"
	MainChain     bool
	Confirmations int32 // 0 unless on the main chain
	NextHash      Hash  // the next main-chain block, or zero
	WorkSum       *big.Int
	Work          *big.Int
}

// BlockInfo returns what the index knows of a block.
func (c *Chain) BlockInfo(h Hash) (BlockInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	if n == nil {
		return BlockInfo{}, fmt.Errorf("%w: %s", ErrBlockNotFound, h)
	}
	return c.blockInfo(n), nil
}

func (c *Chain) blockInfo(n *blockNode) BlockInfo {
	bi := BlockInfo{Hash: n.hash, Header: n.header, Height: n.height, Status: n.status.String(),
		WorkSum: new(big.Int).Set(n.workSum), Work: CalcWork(n.header.Bits)}
	if c.isMain(n) {
		bi.MainChain = true
		bi.Confirmations = int32(len(c.main)) - n.height
		if int(n.height)+1 < len(c.main) {
			bi.NextHash = c.main[n.height+1].hash
		}
	}
	return bi
}

// ChainTip is a block with no children: the main tip or the end of a side
// branch.
type ChainTip struct {
	BlockInfo
	// BranchLen is how many blocks the branch has since it left the main
	// chain (0 for the main tip).
	BranchLen int32
}

// Tips returns every leaf of the block tree, the main tip first.
func (c *Chain) Tips() []ChainTip {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var tips []ChainTip
	for _, n := range c.index {
		if len(n.children) > 0 {
			continue
		}
		fork := n // walk the branch back to the main chain: its length, not the chain's
		for fork != nil && !c.isMain(fork) {
			fork = fork.parent
		}
		tips = append(tips, ChainTip{BlockInfo: c.blockInfo(n), BranchLen: n.height - fork.height})
	}
	sort.Slice(tips, func(i, j int) bool {
		if tips[i].MainChain != tips[j].MainChain {
			return tips[i].MainChain
		}
		return tips[i].Height > tips[j].Height
	})
	return tips
}

// IndexLen returns how many blocks the index holds, on every branch: it
// grows with every block accepted, main chain or not, so it tells a poller
// cheaply that the block tree changed.
func (c *Chain) IndexLen() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.index)
}

// BlockTree returns the index entries at heights from..to (inclusive), on
// every branch, ordered by height: what a picture of forks near the tip needs.
func (c *Chain) BlockTree(from, to int32) []BlockInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []BlockInfo
	for _, n := range c.index {
		if n.height >= from && n.height <= to {
			out = append(out, c.blockInfo(n))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Height != out[j].Height {
			return out[i].Height < out[j].Height
		}
		return out[i].MainChain && !out[j].MainChain
	})
	return out
}

// TxLocation says where a transaction sits in the main chain.
type TxLocation struct {
	BlockHash     Hash
	Height        int32
	Index         int // position in the block
	Confirmations int32
}

// TxByID returns a main-chain transaction and where it is.
func (c *Chain) TxByID(txid Hash) (*Tx, *Block, TxLocation, error) {
	var (
		blk *Block
		loc TxLocation
	)
	err := c.sc.view(func(t store.Txn) error {
		v, err := t.Get(hashKey(prefixTxIndex, txid))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrTxNotFound, txid)
		}
		if err != nil {
			return err
		}
		bh, pos, err := decodeTxLoc(v)
		if err != nil {
			return err
		}
		if blk, err = c.loadBlock(t, bh); err != nil {
			return err
		}
		if int(pos) >= len(blk.Transactions) {
			return corruptf("tx index points past the end of block %s", bh)
		}
		loc = TxLocation{BlockHash: bh, Index: int(pos)}
		return nil
	})
	if err != nil {
		return nil, nil, TxLocation{}, err
	}
	c.mu.RLock()
	if n := c.index[loc.BlockHash]; n != nil {
		loc.Height = n.height
		if c.isMain(n) {
			loc.Confirmations = int32(len(c.main)) - n.height
		}
	}
	c.mu.RUnlock()
	return blk.Transactions[loc.Index], blk, loc, nil
}

// TxProof returns the Merkle proof that a main-chain transaction is in its
// block, with the block's header: all an SPV client needs.
func (c *Chain) TxProof(txid Hash) (MerkleProof, Header, TxLocation, error) {
	_, blk, loc, err := c.TxByID(txid)
	if err != nil {
		return MerkleProof{}, Header{}, loc, err
	}
	proof, ok := BuildMerkleProof(blk.TxHashes(), loc.Index)
	if !ok {
		return MerkleProof{}, Header{}, loc, AssertError("tx position out of range")
	}
	return proof, blk.Header, loc, nil
}

// FetchUtxo returns the unspent output op from the stored UTXO set, or nil.
// It implements UtxoSource, so a view over the chain's tip is
// NewUtxoView(chain).
func (c *Chain) FetchUtxo(op OutPoint) (*UtxoEntry, error) {
	var e *UtxoEntry
	err := c.sc.view(func(t store.Txn) error {
		var err error
		e, err = dbUtxoSource{t}.FetchUtxo(op)
		return err
	})
	return e, err
}

// AddressUtxo is an unspent output paying an address.
type AddressUtxo struct {
	OutPoint   OutPoint
	Value      uint64
	Height     int32
	IsCoinbase bool
}

// AddressUtxos returns the unspent outputs paying the public key hash, in
// outpoint order.
func (c *Chain) AddressUtxos(pkh [20]byte) ([]AddressUtxo, error) {
	var out []AddressUtxo
	prefix := append([]byte{prefixAddrUtxo}, pkh[:]...)
	err := c.sc.view(func(t store.Txn) error {
		return t.Iterate(prefix, func(k, v []byte) error {
			if len(k) != 1+20+HashSize+4 || len(v) != 13 {
				return corruptf("address utxo record")
			}
			var u AddressUtxo
			copy(u.OutPoint.Hash[:], k[21:])
			u.OutPoint.Index = binary.BigEndian.Uint32(k[21+HashSize:])
			u.Value = binary.LittleEndian.Uint64(v)
			u.Height = int32(binary.LittleEndian.Uint32(v[8:]))
			u.IsCoinbase = v[12]&flagCoinbase != 0
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// AddressTx is one main-chain transaction touching an address.
type AddressTx struct {
	TxID     Hash
	Height   int32
	Index    int // position in its block
	Received uint64
	Sent     uint64
}

// AddressHistory returns the main-chain transactions touching the public key
// hash, oldest first.
func (c *Chain) AddressHistory(pkh [20]byte) ([]AddressTx, error) {
	var out []AddressTx
	prefix := append([]byte{prefixAddrHist}, pkh[:]...)
	err := c.sc.view(func(t store.Txn) error {
		return t.Iterate(prefix, func(k, v []byte) error {
			if len(k) != 1+20+8 || len(v) != HashSize+16 {
				return corruptf("address history record")
			}
			var a AddressTx
			a.Height = int32(binary.BigEndian.Uint32(k[21:]))
			a.Index = int(binary.BigEndian.Uint32(k[25:]))
			copy(a.TxID[:], v)
			a.Received = binary.LittleEndian.Uint64(v[HashSize:])
			a.Sent = binary.LittleEndian.Uint64(v[HashSize+8:])
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// Balances returns the confirmed balance of every public key hash that has
// unspent outputs.
func (c *Chain) Balances() (map[[20]byte]uint64, error) {
	out := make(map[[20]byte]uint64)
	err := c.sc.view(func(t store.Txn) error {
		return t.Iterate([]byte{prefixAddrUtxo}, func(k, v []byte) error {
			if len(k) != 1+20+HashSize+4 || len(v) != 13 {
				return corruptf("address utxo record")
			}
			var pkh [20]byte
			copy(pkh[:], k[1:])
			out[pkh] += binary.LittleEndian.Uint64(v)
			return nil
		})
	})
	return out, err
}

// BlockLocator returns hashes of main-chain blocks from the tip back to
// genesis, dense near the tip and then exponentially sparser: a peer finds
// the last block we share in it.
func (c *Chain) BlockLocator() []Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var loc []Hash
	step := int32(1)
	for h := int32(len(c.main) - 1); h > 0; h -= step {
		loc = append(loc, c.main[h].hash)
		if len(loc) >= 10 {
			step *= 2
		}
	}
	return append(loc, c.main[0].hash)
}

// LocateHeaders returns up to max main-chain headers following the first
// locator hash found on our main chain (from genesis when none is), stopping
// after stop if it is met.
func (c *Chain) LocateHeaders(locator []Hash, stop Hash, max int) []Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	start := int32(1)
	for _, h := range locator {
		if n := c.index[h]; n != nil && c.isMain(n) {
			start = n.height + 1
			break
		}
	}
	var out []Header
	for h := start; int(h) < len(c.main) && len(out) < max; h++ {
		n := c.main[h]
		out = append(out, n.header)
		if n.hash == stop {
			break
		}
	}
	return out
}

// HeaderByHash returns the header and height of an indexed block.
func (c *Chain) HeaderByHash(h Hash) (Header, int32, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	if n == nil {
		return Header{}, 0, fmt.Errorf("%w: %s", ErrBlockNotFound, h)
	}
	return n.header, n.height, nil
}

// MainChainHeaders returns the headers of the main chain from height from to
// to (inclusive), clipped to the chain.
func (c *Chain) MainChainHeaders(from, to int32) []Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if from < 0 {
		from = 0
	}
	if int(to) >= len(c.main) {
		to = int32(len(c.main) - 1)
	}
	var out []Header
	for h := from; h <= to; h++ {
		out = append(out, c.main[h].header)
	}
	return out
}

// HaveTx reports whether a transaction is on the main chain, reading only
// the tx index.
func (c *Chain) HaveTx(txid Hash) (bool, error) {
	found := false
	err := c.sc.view(func(t store.Txn) error {
		_, err := t.Get(hashKey(prefixTxIndex, txid))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	return found, err
}

// BlockUndo returns the outputs a connected block spent, in the order of its
// inputs (coinbase excluded): each input's value and locking script. Blocks
// that were never connected have none.
func (c *Chain) BlockUndo(h Hash) ([]SpentOutput, error) {
	var undo []SpentOutput
	err := c.sc.view(func(t store.Txn) error {
		var err error
		undo, err = loadUndo(t, h)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no undo data for %s", ErrBlockNotFound, h)
	}
	return undo, err
}
