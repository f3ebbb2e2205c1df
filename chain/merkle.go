package chain

import "math/bits"

// hashPair returns SHA-256d(left || right), one inner node of a Merkle tree.
func hashPair(left, right Hash) Hash {
	var buf [2 * HashSize]byte
	copy(buf[:HashSize], left[:])
	copy(buf[HashSize:], right[:])
	return DoubleSHA256(buf[:])
}

// nextLevel hashes a level of a Merkle tree into the one above it: pairs
// with SHA-256d, the last node of an odd level paired with itself. mutated
// reports two equal adjacent nodes (see CalcMerkleRoot). Every tree in this
// package, and the explorer's pictures, are built with it.
func nextLevel(level []Hash) (next []Hash, mutated bool) {
	next = make([]Hash, 0, (len(level)+1)/2)
	for i := 0; i < len(level); i += 2 {
		j := i + 1
		if j == len(level) {
			j = i
		} else if level[i] == level[j] {
			mutated = true
		}
		next = append(next, hashPair(level[i], level[j]))
	}
	return next, mutated
}

// CalcMerkleRoot returns Bitcoin's Merkle root of the leaves: pairs are
// hashed with SHA-256d and the last node of an odd level is paired with
// itself.
//
// mutated reports the CVE-2012-2459 ambiguity: two equal adjacent nodes at
// any level mean another list of leaves (with duplicated transactions) has the
// same root, so a block whose tree is mutated must be rejected without being
// marked permanently invalid. An empty list has the zero root.
func CalcMerkleRoot(leaves []Hash) (root Hash, mutated bool) {
	if len(leaves) == 0 {
		return ZeroHash, false
	}
	level := leaves
	for len(level) > 1 {
		var m bool
		level, m = nextLevel(level)
		mutated = mutated || m
	}
	return level[0], mutated
}

// MerkleTree returns every level of the tree over leaves, the leaves first
// and the root last: what a picture of the tree shows.
func MerkleTree(leaves []Hash) [][]Hash {
	levels := [][]Hash{leaves}
	for cur := leaves; len(cur) > 1; {
		cur, _ = nextLevel(cur)
		levels = append(levels, cur)
	}
	return levels
}

// MerkleProof proves that a leaf is at Index among TxCount leaves of a tree:
// Branch holds the sibling of the leaf's path at every level, bottom up. It is
// what an SPV client needs besides the block header.
type MerkleProof struct {
	Index   uint32 `json:"index"`
	TxCount uint32 `json:"tx_count"`
	Branch  []Hash `json:"branch"`
}

// merkleDepth returns the number of levels above the leaves of a tree of n
// leaves: ceil(log2(n)).
func merkleDepth(n uint32) int {
	if n <= 1 {
		return 0
	}
	return bits.Len32(n - 1)
}

// BuildMerkleProof returns the proof for leaves[index]. ok is false when the
// index is out of range.
func BuildMerkleProof(leaves []Hash, index int) (proof MerkleProof, ok bool) {
	if index < 0 || index >= len(leaves) {
		return MerkleProof{}, false
	}
	proof = MerkleProof{Index: uint32(index), TxCount: uint32(len(leaves))}
	pos := index
	for level := leaves; len(level) > 1; level, _ = nextLevel(level) {
		sib := pos ^ 1
		if sib >= len(level) {
			sib = pos // odd level: the last node is paired with itself
		}
		proof.Branch = append(proof.Branch, level[sib])
		pos /= 2
	}
	return proof, true
}

// MerkleRootFromProof hashes leaf up the proof's branch and returns the root
// it leads to. ok is false when the proof's shape is impossible: an index
// outside the tree, a branch whose length is not the tree's depth, or a
// sibling of the last node of an odd level that is not the node itself.
// Miners use it to recompute the root when only the coinbase changes.
func MerkleRootFromProof(leaf Hash, proof MerkleProof) (root Hash, ok bool) {
	path, ok := MerklePath(leaf, proof)
	if !ok {
		return Hash{}, false
	}
	return path[len(path)-1], true
}

// MerklePath returns the nodes on the way from leaf up to the root that the
// proof leads to, the leaf first and the root last, with ok as for
// MerkleRootFromProof.
func MerklePath(leaf Hash, proof MerkleProof) (path []Hash, ok bool) {
	if proof.TxCount == 0 || proof.Index >= proof.TxCount || len(proof.Branch) != merkleDepth(proof.TxCount) {
		return nil, false
	}
	path = make([]Hash, 0, len(proof.Branch)+1)
	node, pos, width := leaf, proof.Index, proof.TxCount
	path = append(path, node)
	for _, sib := range proof.Branch {
		switch {
		case pos%2 == 1:
			node = hashPair(sib, node)
		case pos+1 == width: // last node of an odd level
			if sib != node {
				return nil, false
			}
			node = hashPair(node, node)
		default:
			node = hashPair(node, sib)
		}
		path = append(path, node)
		pos /= 2
		width = (width + 1) / 2
	}
	return path, true
}

// VerifyMerkleProof checks that leaf sits at proof.Index in a tree of
// proof.TxCount leaves whose root is root. Besides hashing up the branch it
// checks the tree's shape (see MerkleRootFromProof), so a proof cannot claim
// a position the tree lacks.
func VerifyMerkleProof(leaf Hash, proof MerkleProof, root Hash) bool {
	got, ok := MerkleRootFromProof(leaf, proof)
	return ok && got == root
}
