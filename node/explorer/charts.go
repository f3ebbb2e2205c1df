package explorer

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/minichain/minichain/chain"
)

// Bounds of the pictures: each reads a fixed window of the chain's index
// near the tip, never the whole chain.
const (
	chartBlocks     = 60  // blocks in the interval and difficulty chart
	treeHeights     = 12  // heights in the home page's block tree
	treeMaxLanes    = 7   // side-branch lanes drawn below the main chain
	treeMaxBlocks   = 160 // blocks drawn in one tree
	neighbourRadius = 4   // heights either side of a block in its page's tree
)

// intervalChart draws the last chartBlocks main-chain blocks: a bar per
// block for the seconds since its parent, and a line for its difficulty.
// It reads headers from the chain's index only.
//
// It is one picture drawn from top to bottom and is better read whole:
// split, its geometry (paddings, scales, positions) would pass through every
// piece as parameters.
func (e *Explorer) intervalChart() diagram {
	best := e.chain.BestSnapshot()
	start := best.Height - chartBlocks
	if start < 0 {
		start = 0
	}
	hdrs := e.chain.MainChainHeaders(start, best.Height)
	d := diagram{W: 760, H: 250, Class: "chart intervals",
		Label: fmt.Sprintf("Seconds between blocks and difficulty over the last %d blocks", chartBlocks)}
	if len(hdrs) < 2 {
		d.Empty = "Not enough blocks yet for a chart."
		return d
	}
	const padL, padR, padT, padB = 52, 62, 14, 36
	plotW, plotH := float64(d.W)-padL-padR, float64(d.H)-padT-padB
	count := len(hdrs) - 1
	intervals := make([]int64, count)
	diffs := make([]float64, count)
	maxIv := int64(1)
	dmin, dmax := 0.0, 0.0
	for i := 0; i < count; i++ {
		intervals[i] = int64(hdrs[i+1].Timestamp) - int64(hdrs[i].Timestamp)
		maxIv = max(maxIv, intervals[i])
		diffs[i] = e.v.Difficulty(hdrs[i+1].Bits)
		if i == 0 || diffs[i] < dmin {
			dmin = diffs[i]
		}
		if i == 0 || diffs[i] > dmax {
			dmax = diffs[i]
		}
	}
	ymax := niceCeil(float64(maxIv))
	slot := plotW / float64(count)
	barW := max(slot*0.72, 1)
	yOf := func(s float64) float64 { return padT + plotH - s/ymax*plotH }

	// Grid and left axis (seconds).
	for _, f := range []float64{0, 0.5, 1} {
		y := yOf(f * ymax)
		d.Paths = append(d.Paths, diagramPath{D: line(padL, px(y), px(padL+plotW), px(y)), Class: "grid"})
		d.Texts = append(d.Texts, diagramText{X: padL - 6, Y: px(y + 4), Anchor: "end", Class: "axis",
			Text: formatSeconds(int64(f * ymax))})
	}
	if spacing := e.params.TargetSpacing.Seconds(); spacing > 0 && spacing <= ymax {
		y := yOf(spacing)
		d.Paths = append(d.Paths, diagramPath{D: line(padL, px(y), px(padL+plotW), px(y)), Class: "target"})
		d.Texts = append(d.Texts, diagramText{X: px(padL + plotW - 2), Y: px(y - 4), Anchor: "end", Class: "axis target-label",
			Text: "target " + formatSeconds(int64(spacing))})
	}
	// Bars.
	for i, iv := range intervals {
		h := start + int32(i) + 1
		shown := float64(max(iv, 0))
		top := yOf(shown)
		barH := max(padT+plotH-top, 1)
		x := padL + float64(i)*slot + (slot-barW)/2
		d.Boxes = append(d.Boxes, diagramBox{X: px(x), Y: px(padT + plotH - barH), W: px(barW), H: px(barH),
			Class: "bar", Href: "/block/" + strconv.Itoa(int(h)),
			Title: fmt.Sprintf("block %d: %d s after its parent, difficulty %s", h, iv, formatNumber(diffs[i]))})
	}
	// Difficulty line on its own axis (right).
	lo, hi := dmin, dmax
	if hi-lo <= hi*1e-9 { // flat: from zero, near the top
		lo, hi = 0, max(hi*1.15, 1e-9)
	}
	dy := func(v float64) float64 { return padT + plotH*0.05 + (1-(v-lo)/(hi-lo))*plotH*0.9 }
	var path string
	for i, v := range diffs {
		x := padL + (float64(i)+0.5)*slot
		op := "L"
		if i == 0 {
			op = "M"
		}
		path += fmt.Sprintf("%s%s %s", op, px(x), px(dy(v)))
	}
	d.Paths = append(d.Paths, diagramPath{D: path, Class: "difficulty"})
	d.Texts = append(d.Texts,
		diagramText{X: px(padL + plotW + 6), Y: px(dy(dmax) + 4), Class: "axis diff-label", Text: formatNumber(dmax)},
		diagramText{X: padL, Y: px(d.H - 12), Class: "axis", Text: "#" + strconv.Itoa(int(start+1))},
		diagramText{X: px(padL + plotW), Y: px(d.H - 12), Anchor: "end", Class: "axis", Text: "#" + strconv.Itoa(int(start)+count)},
	)
	if dmin != dmax {
		d.Texts = append(d.Texts, diagramText{X: px(padL + plotW + 6), Y: px(dy(dmin) + 4), Class: "axis diff-label", Text: formatNumber(dmin)})
	}
	return d
}

// blockTree draws every indexed block at heights from..to on every branch:
// the main chain on the first lane, side branches (stale blocks, or blocks
// not yet connected) on lanes below, each joined to its parent. A visitor
// sees fork choice: the main chain moves to the branch with the most work,
// and the old tip becomes a stale branch. highlight marks one block.
func (e *Explorer) blockTree(from, to int32, highlight string) diagram {
	if from < 0 {
		from = 0
	}
	blocks := e.chain.BlockTree(from, to)
	d := diagram{Class: "tree", Label: fmt.Sprintf("Block tree from height %d to %d, with stale branches", from, to)}
	if len(blocks) == 0 {
		d.Empty = "No blocks in this range."
		return d
	}
	// The main chain first, then side blocks by height and hash, so lanes
	// are stable from one refresh to the next.
	sort.SliceStable(blocks, func(i, j int) bool {
		if blocks[i].MainChain != blocks[j].MainChain {
			return blocks[i].MainChain
		}
		if blocks[i].Height != blocks[j].Height {
			return blocks[i].Height < blocks[j].Height
		}
		return blocks[i].Hash.String() < blocks[j].Hash.String()
	})
	maxH := from
	for _, b := range blocks {
		maxH = max(maxH, b.Height)
	}
	const padL, padT, colW, laneH, boxW, boxH = 18, 10, 104, 52, 84, 38
	pos, lanes, skipped := treeLanes(blocks)
	tip := e.chain.BestSnapshot().Hash
	d.W = px(padL*2 + int(maxH-from+1)*colW)
	d.H = px(padT*2 + lanes*laneH)
	boxAt := func(p treePlace) (px, px) {
		return px(padL + int(p.info.Height-from)*colW), px(padT + p.lane*laneH)
	}
	for _, b := range blocks {
		p, ok := pos[b.Hash]
		if !ok {
			continue
		}
		x, y := boxAt(p)
		hash := b.Hash.String()
		class, state := "blk main", "main chain"
		switch {
		case b.Status == "invalid" || b.Status == "invalid-ancestor":
			class, state = "blk invalid", "invalid"
		case !b.MainChain:
			class, state = "blk stale", "stale branch ("+b.Status+")"
		}
		if b.Hash == tip {
			class += " tip"
			state = "main chain tip"
		}
		if hash == highlight {
			class += " here"
		}
		d.Boxes = append(d.Boxes, diagramBox{X: x, Y: y, W: boxW, H: boxH, R: 5, Class: class, Href: "/block/" + hash,
			Title: fmt.Sprintf("height %d, %s\n%s", b.Height, state, hash),
			Label: "#" + strconv.Itoa(int(b.Height)), Sub: hash[:4] + "…" + hash[len(hash)-4:], ID: hash})
		edge := "edge"
		if !b.MainChain {
			edge = "edge side"
		}
		if parent, ok := pos[b.Header.PrevBlock]; ok {
			px1, py1 := boxAt(parent)
			d.Paths = append(d.Paths, diagramPath{D: curve(px1+boxW, py1+boxH/2, x, y+boxH/2), Class: edge})
		} else if b.Height == from && b.Height > 0 {
			d.Paths = append(d.Paths, diagramPath{D: line(x-padL+2, y+boxH/2, x, y+boxH/2), Class: edge + " stub"})
		}
	}
	if skipped > 0 {
		d.Texts = append(d.Texts, diagramText{X: padL, Y: d.H - 2, Class: "axis",
			Text: fmt.Sprintf("%d more side blocks not drawn", skipped)})
		d.H += 6
	}
	return d
}

// treePlace is where a block goes in the block tree: its lane (0 is the
// main chain).
type treePlace struct {
	info chain.BlockInfo
	lane int
}

// treeLanes places the blocks, main chain first, on lanes: a side block
// continues its parent's lane, or takes the first lane free at its height,
// or a new one up to treeMaxLanes. Blocks that fit nowhere, or past
// treeMaxBlocks, are counted as skipped.
func treeLanes(blocks []chain.BlockInfo) (pos map[chain.Hash]treePlace, lanes, skipped int) {
	pos = map[chain.Hash]treePlace{}
	tail := map[int]chain.Hash{} // the last block placed on each side lane
	last := map[int]int32{}      // the height of that block
	lanes = 1
	for _, b := range blocks {
		lane := 0
		if !b.MainChain {
			lane = -1
			if p, ok := pos[b.Header.PrevBlock]; ok && p.lane > 0 && tail[p.lane] == b.Header.PrevBlock {
				lane = p.lane // continue the parent's branch
			} else {
				for l := 1; l < lanes; l++ {
					if last[l] < b.Height-1 {
						lane = l
						break
					}
				}
				if lane < 0 && lanes <= treeMaxLanes {
					lane = lanes
					lanes++
				}
			}
			if lane < 0 || len(pos) >= treeMaxBlocks {
				skipped++
				continue
			}
			tail[lane], last[lane] = b.Hash, b.Height
		}
		pos[b.Hash] = treePlace{info: b, lane: lane}
	}
	return pos, lanes, skipped
}

// tipRow is one leaf of the block tree, for the chain tips table.
type tipRow struct {
	Hash      string
	Height    int32
	BranchLen int32
	Main      bool
	Status    string
}

// maxTipRows bounds the chain tips table.
const maxTipRows = 6

// chainTips lists the main tip and the most recent side-branch tips.
func (e *Explorer) chainTips() []tipRow {
	var out []tipRow
	for _, t := range e.chain.Tips() {
		if len(out) >= maxTipRows {
			break
		}
		out = append(out, tipRow{Hash: t.Hash.String(), Height: t.Height, BranchLen: t.BranchLen,
			Main: t.MainChain, Status: t.Status})
	}
	return out
}
