package explorer

import (
	"fmt"
	"strconv"

	"github.com/minichain/minichain/chain"
)

// Merkle pictures. A block's tree is drawn whole when it is small; a large
// block's tree, and a transaction's proof, are drawn as the path from the
// leaf up to the root with the sibling met at each level: exactly the
// hashes an SPV client receives. Hashes are recomputed here from the leaves
// (or the proof) and checked against the header's Merkle root.

// merkleFullMax is the most leaves drawn as a whole tree.
const merkleFullMax = 16

// Geometry of Merkle pictures.
const (
	mSlot   = 82 // horizontal distance between neighbouring leaves
	mBoxW   = 70
	mBoxH   = 26
	mLevelH = 56
	mPad    = 10
)

// merklePicture is a drawn tree and whether the drawn path leads to the
// header's Merkle root.
type merklePicture struct {
	Diagram  diagram
	Verified bool
	Index    int
	Count    int
	Whole    bool // the whole tree is drawn, not just the path
}

// blockMerkle draws a block's Merkle tree with leaf index's proof path
// highlighted: the whole tree up to merkleFullMax leaves, else the path.
//
// It is one picture drawn from top to bottom and is better read whole:
// split, its geometry (paddings, scales, positions) would pass through every
// piece as parameters.
func blockMerkle(leaves []chain.Hash, index int, root chain.Hash) merklePicture {
	if len(leaves) == 0 {
		return merklePicture{Diagram: diagram{Empty: "The block has no transactions."}}
	}
	index = min(max(index, 0), len(leaves)-1)
	if len(leaves) > merkleFullMax {
		proof, _ := chain.BuildMerkleProof(leaves, index)
		return merklePath(leaves[index], proof, root)
	}
	levels := chain.MerkleTree(leaves)
	depth := len(levels) - 1
	pic := merklePicture{Verified: levels[depth][0] == root, Index: index, Count: len(leaves), Whole: true}
	d := diagram{Class: "merkle", Label: fmt.Sprintf("Merkle tree of %d transactions, the proof path of transaction %d highlighted", len(leaves), index)}
	xs := make([][]float64, len(levels))
	maxX := 0.0
	for k, level := range levels {
		xs[k] = make([]float64, len(level))
		for j := range level {
			if k == 0 {
				xs[k][j] = mPad + float64(j)*mSlot
			} else {
				l := xs[k-1][2*j]
				r := l + mSlot // the copy of an odd level's last node
				if 2*j+1 < len(xs[k-1]) {
					r = xs[k-1][2*j+1]
				}
				xs[k][j] = (l + r) / 2
			}
			maxX = max(maxX, xs[k][j])
		}
	}
	yOf := func(k int) px { return px(mPad + (depth-k)*mLevelH) }
	for k, level := range levels {
		pathPos := index >> k
		sibPos := pathPos ^ 1
		for j, h := range level {
			x, y := px(xs[k][j]), yOf(k)
			class := "mnode"
			switch {
			case j == pathPos:
				class += " path"
			case j == sibPos:
				class += " sib"
			}
			b := diagramBox{X: x, Y: y, W: mBoxW, H: mBoxH, R: 4, Label: h.String()[:8], ID: h.String(),
				Title: fmt.Sprintf("level %d, node %d\n%s", k, j, h)}
			if k == 0 {
				class += " leaf"
				b.Href = "/tx/" + h.String()
				b.Title = fmt.Sprintf("transaction %d\n%s", j, h)
			}
			if k == depth {
				class += " root"
				b.Title = "Merkle root\n" + h.String()
			}
			b.Class = class
			d.Boxes = append(d.Boxes, b)
			if k > 0 {
				pc := px(xs[k][j]) + mBoxW/2
				for _, c := range []int{2 * j, 2*j + 1} {
					cx := px(xs[k-1][2*j]+mSlot) + mBoxW/2
					if c < len(levels[k-1]) {
						cx = px(xs[k-1][c]) + mBoxW/2
					}
					edge := "medge"
					if j == pathPos && c == index>>(k-1) {
						edge += " path"
					}
					d.Paths = append(d.Paths, diagramPath{D: line(pc, y+mBoxH, cx, yOf(k-1)), Class: edge})
				}
			}
		}
		if len(level)%2 == 1 && k < depth {
			// Bitcoin pairs an odd level's last node with a copy of itself.
			j := len(level) - 1
			class := "mnode ghost"
			if sibPos >= len(level) {
				class += " sib" // the path's own node: the copy is its sibling
			}
			x := xs[k][j] + mSlot
			maxX = max(maxX, x)
			d.Boxes = append(d.Boxes, diagramBox{X: px(x), Y: yOf(k), W: mBoxW, H: mBoxH, R: 4, Class: class,
				Label: level[j].String()[:8], Title: "a copy of the node to its left: an odd level pairs its last node with itself"})
		}
	}
	d.W = px(maxX + mBoxW + mPad)
	d.H = yOf(0) + mBoxH + mPad
	pic.Diagram = d
	return pic
}

// merklePath draws the path of a proof: the leaf, its sibling at every
// level, and the hashes they make, up to the root, which is checked against
// the header's root.
//
// It is one picture drawn from top to bottom and is better read whole:
// split, its geometry (paddings, scales, positions) would pass through every
// piece as parameters.
func merklePath(leaf chain.Hash, proof chain.MerkleProof, root chain.Hash) merklePicture {
	pic := merklePicture{Index: int(proof.Index), Count: int(proof.TxCount)}
	path, ok := chain.MerklePath(leaf, proof)
	if !ok {
		pic.Diagram = diagram{Empty: "The proof has an impossible shape for a tree of this size."}
		return pic
	}
	d := diagram{Class: "merkle path-only", Label: fmt.Sprintf("Merkle proof of transaction %d of %d: the path up the tree", proof.Index, proof.TxCount)}
	depth := len(proof.Branch)
	type node struct {
		x    float64
		hash chain.Hash
	}
	pathNodes := make([]node, depth+1)
	sibNodes := make([]node, depth)
	widths := make([]uint32, depth+1)
	widths[0] = proof.TxCount
	pos, x := proof.Index, 0.0
	for k, sib := range proof.Branch {
		pathNodes[k] = node{x: x, hash: path[k]}
		sx := x + mSlot
		if pos%2 == 1 {
			sx = x - mSlot
		}
		sibNodes[k] = node{x: sx, hash: sib}
		x = (x + sx) / 2
		pos /= 2
		widths[k+1] = (widths[k] + 1) / 2
	}
	pathNodes[depth] = node{x: x, hash: path[depth]}
	pic.Verified = path[depth] == root
	minX, maxX := 0.0, 0.0
	for _, nd := range append(append([]node(nil), pathNodes...), sibNodes...) {
		minX, maxX = min(minX, nd.x), max(maxX, nd.x)
	}
	shift := mPad - minX
	yOf := func(k int) px { return px(mPad + (depth-k)*mLevelH) }
	labelX := px(maxX + shift + mBoxW + 14)
	pos = proof.Index
	for k := 0; k <= depth; k++ {
		p := pathNodes[k]
		b := diagramBox{X: px(p.x + shift), Y: yOf(k), W: mBoxW, H: mBoxH, R: 4, Class: "mnode path",
			Label: p.hash.String()[:8], ID: p.hash.String()}
		b.Title = fmt.Sprintf("level %d (computed)\n%s", k, p.hash)
		if k == 0 {
			b.Class += " leaf"
			b.Href = "/tx/" + p.hash.String()
			b.Title = fmt.Sprintf("transaction %d\n%s", proof.Index, p.hash)
		}
		if k == depth {
			b.Class += " root"
			b.Title = "Merkle root (computed)\n" + p.hash.String()
		}
		d.Boxes = append(d.Boxes, b)
		text := "root"
		if k < depth {
			text = fmt.Sprintf("level %d · %s nodes", k, strconv.FormatUint(uint64(widths[k]), 10))
			if k == 0 {
				text = fmt.Sprintf("%s transactions", strconv.FormatUint(uint64(widths[k]), 10))
			}
		}
		d.Texts = append(d.Texts, diagramText{X: labelX, Y: yOf(k) + mBoxH/2 + 4, Class: "axis", Text: text})
		if k == depth {
			break
		}
		s := sibNodes[k]
		sb := diagramBox{X: px(s.x + shift), Y: yOf(k), W: mBoxW, H: mBoxH, R: 4, Class: "mnode sib",
			Label: s.hash.String()[:8], ID: s.hash.String()}
		if pos^1 >= widths[k] {
			sb.Class += " ghost"
			sb.Title = "a copy of the node itself: an odd level pairs its last node with itself"
		} else if k == 0 {
			sb.Href = "/tx/" + s.hash.String()
			sb.Title = fmt.Sprintf("transaction %d (sibling)\n%s", pos^1, s.hash)
		} else {
			sb.Title = fmt.Sprintf("level %d sibling (from the proof)\n%s", k, s.hash)
		}
		d.Boxes = append(d.Boxes, sb)
		parent := px(pathNodes[k+1].x+shift) + mBoxW/2
		d.Paths = append(d.Paths,
			diagramPath{D: line(parent, yOf(k+1)+mBoxH, px(p.x+shift)+mBoxW/2, yOf(k)), Class: "medge path"},
			diagramPath{D: line(parent, yOf(k+1)+mBoxH, px(s.x+shift)+mBoxW/2, yOf(k)), Class: "medge"})
		pos /= 2
	}
	d.W = labelX + 130
	d.H = yOf(0) + mBoxH + mPad
	pic.Diagram = d
	return pic
}
