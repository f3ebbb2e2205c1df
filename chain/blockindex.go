package chain

import "math/big"

// blockStatus records what is known of a block's validity.
type blockStatus uint8

const (
	// statusValid: the block was connected to the main chain at least once,
	// so it passed every rule.
	statusValid blockStatus = 1 << iota
	// statusFailed: the block itself broke a rule.
	statusFailed
	// statusInvalidAncestor: an ancestor broke a rule.
	statusInvalidAncestor
	// statusDeferred: the branch through this block could not be read or
	// written when the chain tried to switch to it (a store failure, not
	// a rule); it is not a candidate until the next start. Kept in
	// memory only.
	statusDeferred

	// statusStored are the bits written to the block index.
	statusStored = statusValid | statusFailed | statusInvalidAncestor
)

func (s blockStatus) invalid() bool { return s&(statusFailed|statusInvalidAncestor) != 0 }

// String names the status as the API shows it.
func (s blockStatus) String() string {
	switch {
	case s&statusFailed != 0:
		return "invalid"
	case s&statusInvalidAncestor != 0:
		return "invalid-ancestor"
	case s&statusValid != 0:
		return "valid"
	}
	return "stored"
}

// blockNode is a block in the index: every stored block, on the main chain or
// a side branch. Nodes are created under the chain lock and their fields other
// than status and children never change afterwards.
type blockNode struct {
	hash     Hash
	parent   *blockNode
	children []*blockNode
	header   Header
	height   int32
	workSum  *big.Int // cumulative work from genesis to this block, inclusive
	status   blockStatus
	seq      uint64 // first-seen order: lower wins a tie in work
}

func newBlockNode(h Header, hash Hash, parent *blockNode, seq uint64) *blockNode {
	n := &blockNode{hash: hash, parent: parent, header: h, seq: seq}
	if parent != nil {
		n.height = parent.height + 1
		n.workSum = addWork(parent.workSum, h.Bits)
	} else {
		n.workSum = addWork(nil, h.Bits)
	}
	return n
}

// Height implements HeaderCtx.
func (n *blockNode) Height() int32 { return n.height }

// Bits implements HeaderCtx.
func (n *blockNode) Bits() uint32 { return n.header.Bits }

// Timestamp implements HeaderCtx.
func (n *blockNode) Timestamp() int64 { return int64(n.header.Timestamp) }

// Parent implements HeaderCtx.
func (n *blockNode) Parent() HeaderCtx {
	if n.parent == nil {
		return nil
	}
	return n.parent
}

// RelativeAncestor implements HeaderCtx.
func (n *blockNode) RelativeAncestor(distance int32) HeaderCtx {
	a := n.ancestor(n.height - distance)
	if a == nil {
		return nil
	}
	return a
}

// ancestor returns the ancestor at height, or nil.
func (n *blockNode) ancestor(height int32) *blockNode {
	if height < 0 || height > n.height {
		return nil
	}
	for n != nil && n.height > height {
		n = n.parent
	}
	return n
}

// findFork returns the last common ancestor of a and b.
func findFork(a, b *blockNode) *blockNode {
	if a.height > b.height {
		a = a.ancestor(b.height)
	} else {
		b = b.ancestor(a.height)
	}
	for a != b && a != nil && b != nil {
		a, b = a.parent, b.parent
	}
	return a
}

// moreWork reports whether a should be preferred to b: more cumulative work,
// or, as a tie-break among candidates, seen first.
func moreWork(a, b *blockNode) bool {
	if c := a.workSum.Cmp(b.workSum); c != 0 {
		return c > 0
	}
	return a.seq < b.seq
}
