package mempool

import (
	"container/heap"

	"github.com/minichain/minichain/chain"
)

// Ordered returns the pool in the order a block template takes it: highest
// fee rate first, but never a transaction before a pool parent it spends.
func (m *Mempool) Ordered() []*TxDesc {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.orderedLocked()
}

func (m *Mempool) orderedLocked() []*TxDesc {
	// waiting counts each transaction's pool parents not yet emitted.
	waiting := make(map[chain.Hash]int, len(m.txs))
	h := &feeHeap{}
	for id, d := range m.txs {
		n := 0
		seen := map[chain.Hash]bool{}
		for i := range d.Tx.TxIn {
			p := d.Tx.TxIn[i].PrevOut.Hash
			if _, inPool := m.txs[p]; inPool && !seen[p] {
				seen[p] = true
				n++
			}
		}
		waiting[id] = n
		if n == 0 {
			heap.Push(h, d)
		}
	}
	out := make([]*TxDesc, 0, len(m.txs))
	for h.Len() > 0 {
		d := heap.Pop(h).(*TxDesc)
		out = append(out, d)
		released := map[chain.Hash]bool{}
		for i := range d.Tx.TxOut {
			child, ok := m.spends[chain.OutPoint{Hash: d.TxID, Index: uint32(i)}]
			if !ok || released[child] {
				continue
			}
			released[child] = true
			if waiting[child]--; waiting[child] == 0 {
				heap.Push(h, m.txs[child])
			}
		}
	}
	return out
}

// feeHeap is a max-heap by fee rate, ties broken by arrival then txid so the
// order is deterministic.
type feeHeap []*TxDesc

func (h feeHeap) Len() int { return len(h) }
func (h feeHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if lowerFeeRate(b.Fee, b.Size, a.Fee, a.Size) {
		return true
	}
	if lowerFeeRate(a.Fee, a.Size, b.Fee, b.Size) {
		return false
	}
	if !a.Added.Equal(b.Added) {
		return a.Added.Before(b.Added)
	}
	return string(a.TxID[:]) < string(b.TxID[:])
}
func (h feeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *feeHeap) Push(x any)   { *h = append(*h, x.(*TxDesc)) }
func (h *feeHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}
