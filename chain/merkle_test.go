package chain

import (
	"fmt"
	"testing"
)

func TestMerkleRootRealBlocks(t *testing.T) {
	var m merkleFile
	loadJSON(t, "merkle.json", &m)
	for _, b := range m.Blocks {
		t.Run(fmt.Sprint(b.Height), func(t *testing.T) {
			leaves := make([]Hash, len(b.TxIDs))
			for i, s := range b.TxIDs {
				leaves[i] = MustParseHash(s)
			}
			root, mutated := CalcMerkleRoot(leaves)
			if mutated {
				t.Fatal("real block reported mutated")
			}
			if root.String() != b.MerkleRoot {
				t.Fatalf("root %s, want %s", root, b.MerkleRoot)
			}
			for i, leaf := range leaves {
				p, ok := BuildMerkleProof(leaves, i)
				if !ok || !VerifyMerkleProof(leaf, p, root) {
					t.Fatalf("proof of tx %d does not verify", i)
				}
			}
		})
	}
}

// TestMerkleMutation is CVE-2012-2459: duplicating the last transactions of
// an odd-sized level gives the same root, and must be detected.
func TestMerkleMutation(t *testing.T) {
	h := func(i byte) Hash { return Hash{i} }
	for _, tc := range []struct {
		name    string
		leaves  []Hash
		mutated bool
	}{
		{"one", []Hash{h(1)}, false},
		{"two distinct", []Hash{h(1), h(2)}, false},
		{"two equal", []Hash{h(1), h(1)}, true},
		{"three", []Hash{h(1), h(2), h(3)}, false},
		{"three + dup last", []Hash{h(1), h(2), h(3), h(3)}, true},
		{"six + dup pair", []Hash{h(1), h(2), h(3), h(4), h(5), h(6), h(5), h(6)}, true},
	} {
		root, mutated := CalcMerkleRoot(tc.leaves)
		if mutated != tc.mutated {
			t.Errorf("%s: mutated = %v", tc.name, mutated)
		}
		_ = root
	}
	a, _ := CalcMerkleRoot([]Hash{h(1), h(2), h(3)})
	b, _ := CalcMerkleRoot([]Hash{h(1), h(2), h(3), h(3)})
	if a != b {
		t.Fatal("the mutation should give the same root (that is the bug being detected)")
	}
}

func TestMerkleProofAllShapes(t *testing.T) {
	for n := 1; n <= 33; n++ {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = DoubleSHA256([]byte{byte(i), byte(n)})
		}
		root, _ := CalcMerkleRoot(leaves)
		for i := 0; i < n; i++ {
			p, ok := BuildMerkleProof(leaves, i)
			if !ok {
				t.Fatalf("n=%d i=%d: no proof", n, i)
			}
			if !VerifyMerkleProof(leaves[i], p, root) {
				t.Fatalf("n=%d i=%d: proof does not verify", n, i)
			}
			// Any change breaks it.
			if VerifyMerkleProof(Hash{0xff}, p, root) {
				t.Fatalf("n=%d i=%d: wrong leaf verifies", n, i)
			}
			if n > 1 {
				bad := p
				bad.Branch = append([]Hash(nil), p.Branch...)
				bad.Branch[0][0] ^= 1
				if VerifyMerkleProof(leaves[i], bad, root) {
					t.Fatalf("n=%d i=%d: altered branch verifies", n, i)
				}
				wrongIdx := p
				wrongIdx.Index = uint32((i + 1) % n)
				if leaves[i] != leaves[(i+1)%n] && VerifyMerkleProof(leaves[i], wrongIdx, root) {
					t.Fatalf("n=%d i=%d: wrong index verifies", n, i)
				}
			}
			short := p
			short.TxCount = uint32(2 * n)
			if merkleDepth(short.TxCount) != len(p.Branch) && VerifyMerkleProof(leaves[i], short, root) {
				t.Fatalf("n=%d i=%d: wrong tx count verifies", n, i)
			}
		}
		if _, ok := BuildMerkleProof(leaves, n); ok {
			t.Fatal("proof for an index out of range")
		}
	}
}

// TestMerkleProofPhantomPosition: in a tree of 3 leaves, position 3 does not
// exist, though the duplicated third leaf sits there in the hashing.
func TestMerkleProofPhantomPosition(t *testing.T) {
	leaves := []Hash{{1}, {2}, {3}}
	root, _ := CalcMerkleRoot(leaves)
	p, _ := BuildMerkleProof(leaves, 2)
	phantom := MerkleProof{Index: 3, TxCount: 4, Branch: p.Branch}
	if VerifyMerkleProof(leaves[2], phantom, root) {
		// With TxCount 4 the last level is not odd, so the sibling rule
		// does not apply; the root check must still fail or pass
		// consistently with a real 4-leaf tree. A 4-leaf tree of
		// [1,2,3,3] is mutated and so never a valid block.
		t.Log("phantom position verifies only for a mutated (invalid) tree")
	}
	p.Index = 3
	if VerifyMerkleProof(leaves[2], p, root) {
		t.Fatal("index beyond tx count verifies")
	}
}
