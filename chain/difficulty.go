package chain

import (
	"math/big"
	"sort"
)

// HeaderCtx is what the difficulty and header-context rules need to know
// about a block already in the chain: its place, bits and time, and its
// ancestors. The block index implements it; tests implement it over a slice
// of real headers.
type HeaderCtx interface {
	Height() int32
	Bits() uint32
	Timestamp() int64
	// Parent returns the previous block, or nil for the genesis block.
	Parent() HeaderCtx
	// RelativeAncestor returns the ancestor distance blocks back (0 is the
	// block itself), or nil when there is none.
	RelativeAncestor(distance int32) HeaderCtx
}

// CalcNextRequiredBits returns the bits a block whose parent is parent must
// carry. With Params.NoRetarget the bits never change. Otherwise they change
// only at multiples of RetargetInterval, following Bitcoin's rule exactly:
//
//	actual   = time(parent) - time(parent - (interval-1))   // Bitcoin's off-by-one window
//	actual   = clamp(actual, timespan/factor, timespan*factor)
//	target'  = min(target(parent.bits) * actual / timespan, powLimit)
//
// The window spans interval-1 block intervals, not interval: the first block
// of the period is measured from the last block of the same period, which is
// what Bitcoin does and what its chain's bits depend on.
func CalcNextRequiredBits(p *Params, parent HeaderCtx) uint32 {
	if parent == nil {
		return p.PowLimitBits
	}
	if p.NoRetarget {
		return parent.Bits()
	}
	height := parent.Height() + 1
	if height%p.RetargetInterval != 0 {
		return parent.Bits()
	}
	first := parent.RelativeAncestor(p.RetargetInterval - 1)
	if first == nil {
		return parent.Bits()
	}
	timespan := int64(p.TargetTimespan.Seconds())
	actual := parent.Timestamp() - first.Timestamp()
	if min := timespan / p.RetargetAdjustmentFactor; actual < min {
		actual = min
	}
	if max := timespan * p.RetargetAdjustmentFactor; actual > max {
		actual = max
	}
	target, _, _ := CompactToBig(parent.Bits())
	target.Mul(target, big.NewInt(actual))
	target.Div(target, big.NewInt(timespan))
	if target.Cmp(p.PowLimit) > 0 {
		target.Set(p.PowLimit)
	}
	return BigToCompact(target)
}

// MedianTimeBlocks is how many blocks the median time past covers.
const MedianTimeBlocks = 11

// CalcPastMedianTime returns the median timestamp of the last
// MedianTimeBlocks blocks ending at node (fewer near genesis). A new block's
// time must be after its parent's median time past.
func CalcPastMedianTime(node HeaderCtx) int64 {
	times := make([]int64, 0, MedianTimeBlocks)
	for i := 0; i < MedianTimeBlocks && node != nil; i++ {
		times = append(times, node.Timestamp())
		node = node.Parent()
	}
	if len(times) == 0 {
		return 0
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2]
}
