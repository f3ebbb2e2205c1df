package mempool

import (
	"bytes"
	"slices"
	"time"

	"github.com/minichain/minichain/chain"
)

// orphanPool holds transactions whose parents are unknown, bounded in count
// and age, indexed by the parent txids they wait for. Guarded by the pool's
// lock.
type orphanPool struct {
	max    int
	ttl    time.Duration
	byID   map[chain.Hash]*orphanTx
	byPrev map[chain.Hash]map[chain.Hash]*orphanTx // parent txid -> orphans spending it
}

type orphanTx struct {
	tx      *chain.Tx
	txid    chain.Hash
	expires time.Time
}

func newOrphanPool(max int, ttl time.Duration) *orphanPool {
	return &orphanPool{max: max, ttl: ttl, byID: make(map[chain.Hash]*orphanTx),
		byPrev: make(map[chain.Hash]map[chain.Hash]*orphanTx)}
}

func (p *orphanPool) len() int { return len(p.byID) }

func (p *orphanPool) has(id chain.Hash) bool { _, ok := p.byID[id]; return ok }

func (p *orphanPool) add(tx *chain.Tx, id chain.Hash, now time.Time) {
	if p.has(id) {
		return
	}
	for oid, o := range p.byID {
		if now.After(o.expires) {
			p.remove(oid)
		}
	}
	for len(p.byID) >= p.max {
		var oldest *orphanTx
		for _, o := range p.byID {
			if oldest == nil || o.expires.Before(oldest.expires) ||
				o.expires.Equal(oldest.expires) && bytes.Compare(o.txid[:], oldest.txid[:]) < 0 {
				oldest = o
			}
		}
		p.remove(oldest.txid)
	}
	o := &orphanTx{tx: tx, txid: id, expires: now.Add(p.ttl)}
	p.byID[id] = o
	for i := range tx.TxIn {
		prev := tx.TxIn[i].PrevOut.Hash
		if p.byPrev[prev] == nil {
			p.byPrev[prev] = make(map[chain.Hash]*orphanTx)
		}
		p.byPrev[prev][id] = o
	}
}

func (p *orphanPool) remove(id chain.Hash) {
	o, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	for i := range o.tx.TxIn {
		prev := o.tx.TxIn[i].PrevOut.Hash
		delete(p.byPrev[prev], id)
		if len(p.byPrev[prev]) == 0 {
			delete(p.byPrev, prev)
		}
	}
}

// takeSpenders removes and returns the orphans spending outputs of parent,
// in txid order, so what they release does not depend on map order.
func (p *orphanPool) takeSpenders(parent chain.Hash) []*orphanTx {
	var out []*orphanTx
	for _, o := range p.byPrev[parent] {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *orphanTx) int { return bytes.Compare(a.txid[:], b.txid[:]) })
	for _, o := range out {
		p.remove(o.txid)
	}
	return out
}
