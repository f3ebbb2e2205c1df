package chain

import "time"

// orphanPool holds blocks whose parent is not known yet, bounded in count and
// age. It is indexed by parent so an arriving block finds its waiting
// children at once. Guarded by the chain lock.
type orphanPool struct {
	max      int
	ttl      time.Duration
	byHash   map[Hash]*orphan
	byParent map[Hash][]*orphan
	order    []*orphan // oldest first; evicted entries are skipped lazily
}

type orphan struct {
	block   *Block
	hash    Hash
	expires time.Time
	removed bool
}

func newOrphanPool(max int, ttl time.Duration) *orphanPool {
	return &orphanPool{max: max, ttl: ttl, byHash: make(map[Hash]*orphan), byParent: make(map[Hash][]*orphan)}
}

func (p *orphanPool) has(h Hash) bool { _, ok := p.byHash[h]; return ok }

func (p *orphanPool) len() int { return len(p.byHash) }

// add stores b, first dropping expired orphans and, when full, the oldest.
func (p *orphanPool) add(b *Block, hash Hash, now time.Time) {
	p.expire(now)
	for len(p.byHash) >= p.max && len(p.order) > 0 {
		p.remove(p.order[0])
		p.compact()
	}
	o := &orphan{block: b, hash: hash, expires: now.Add(p.ttl)}
	p.byHash[hash] = o
	prev := b.Header.PrevBlock
	p.byParent[prev] = append(p.byParent[prev], o)
	p.order = append(p.order, o)
}

func (p *orphanPool) expire(now time.Time) {
	for _, o := range p.order {
		if !o.removed && now.After(o.expires) {
			p.remove(o)
		}
	}
	p.compact()
}

func (p *orphanPool) remove(o *orphan) {
	if o.removed {
		return
	}
	o.removed = true
	delete(p.byHash, o.hash)
	prev := o.block.Header.PrevBlock
	kids := p.byParent[prev]
	for i, k := range kids {
		if k == o {
			kids = append(kids[:i], kids[i+1:]...)
			break
		}
	}
	if len(kids) == 0 {
		delete(p.byParent, prev)
	} else {
		p.byParent[prev] = kids
	}
}

func (p *orphanPool) compact() {
	i := 0
	for i < len(p.order) && p.order[i].removed {
		i++
	}
	if i > 0 {
		p.order = append(p.order[:0:0], p.order[i:]...)
	}
	// Drop removed entries from the middle too once they dominate.
	if len(p.order) > 2*len(p.byHash)+16 {
		kept := p.order[:0:0]
		for _, o := range p.order {
			if !o.removed {
				kept = append(kept, o)
			}
		}
		p.order = kept
	}
}

// takeChildren removes and returns the orphans whose parent is h.
func (p *orphanPool) takeChildren(h Hash) []*orphan {
	kids := append([]*orphan(nil), p.byParent[h]...)
	for _, o := range kids {
		p.remove(o)
	}
	p.compact()
	return kids
}

// missingAncestor follows the orphan chain from hash back to the first block
// that is not in the pool: the block that must be fetched to connect it.
func (p *orphanPool) missingAncestor(hash Hash) Hash {
	for {
		o, ok := p.byHash[hash]
		if !ok {
			return hash
		}
		hash = o.block.Header.PrevBlock
	}
}
