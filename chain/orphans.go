package chain

import "time"

// orphanPool holds blocks whose parent is not known yet. A peer can make
// orphans for the price of proof of work against bits of its own choosing,
// so the pool is bounded in count, in bytes and in bytes per sender, and an
// orphan leaves it after a time to live. Blocks are kept serialized: the
// byte bound is then exactly what the pool holds, whatever the shape of the
// block. It is indexed by parent so an arriving block finds its waiting
// children at once. Guarded by the chain lock.
type orphanPool struct {
	limits    OrphanLimits
	bytes     int            // serialized bytes held
	peerBytes map[string]int // bytes held per sender
	byHash    map[Hash]*orphan
	byParent  map[Hash][]*orphan
	order     []*orphan // oldest first; evicted entries are skipped lazily
}

// OrphanLimits bound the orphan pool. When a new orphan does not fit, the
// sender's own oldest orphans go first, then the oldest of all.
type OrphanLimits struct {
	// Count is the most orphans held (default 256).
	Count int
	// Bytes is the most serialized bytes held (default 16 MiB).
	Bytes int
	// PeerBytes is the most serialized bytes held from one sender
	// (default 4 MiB; blocks from this node itself are not counted
	// against a sender).
	PeerBytes int
	// TTL is how long an orphan waits for its parent (default 1 h).
	TTL time.Duration
}

func (l *OrphanLimits) setDefaults() {
	if l.Count <= 0 {
		l.Count = 256
	}
	if l.Bytes <= 0 {
		l.Bytes = 16 << 20
	}
	if l.PeerBytes <= 0 {
		l.PeerBytes = 4 << 20
	}
	if l.TTL <= 0 {
		l.TTL = time.Hour
	}
}

type orphan struct {
	raw     []byte
	hash    Hash
	prev    Hash
	origin  BlockOrigin
	expires time.Time
	removed bool
}

func newOrphanPool(l OrphanLimits) *orphanPool {
	l.setDefaults()
	return &orphanPool{limits: l, peerBytes: make(map[string]int),
		byHash: make(map[Hash]*orphan), byParent: make(map[Hash][]*orphan)}
}

func (p *orphanPool) has(h Hash) bool { _, ok := p.byHash[h]; return ok }

func (p *orphanPool) len() int { return len(p.byHash) }

// add stores b, first dropping expired orphans, then making room: the
// sender's oldest orphans while it is over its share, then the oldest of
// all while the pool is over its bounds. It reports false, storing nothing,
// for a block larger than the sender's whole share.
func (p *orphanPool) add(b *Block, hash Hash, o BlockOrigin, now time.Time) bool {
	raw := b.Serialize()
	size := len(raw)
	if size > p.limits.PeerBytes || size > p.limits.Bytes {
		return false
	}
	p.expire(now)
	for o.Peer != "" && p.peerBytes[o.Peer]+size > p.limits.PeerBytes {
		if !p.evictOldest(o.Peer) {
			break
		}
	}
	for len(p.byHash) >= p.limits.Count || p.bytes+size > p.limits.Bytes {
		if !p.evictOldest("") {
			break
		}
	}
	p.compact()
	e := &orphan{raw: raw, hash: hash, prev: b.Header.PrevBlock, origin: o, expires: now.Add(p.limits.TTL)}
	p.byHash[hash] = e
	p.byParent[e.prev] = append(p.byParent[e.prev], e)
	p.order = append(p.order, e)
	p.bytes += size
	if o.Peer != "" {
		p.peerBytes[o.Peer] += size
	}
	return true
}

// evictOldest removes the oldest orphan sent by peer, or the oldest of all
// for "", and reports whether there was one.
func (p *orphanPool) evictOldest(peer string) bool {
	for _, o := range p.order {
		if !o.removed && (peer == "" || o.origin.Peer == peer) {
			p.remove(o)
			return true
		}
	}
	return false
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
	p.bytes -= len(o.raw)
	if o.origin.Peer != "" {
		if left := p.peerBytes[o.origin.Peer] - len(o.raw); left > 0 {
			p.peerBytes[o.origin.Peer] = left
		} else {
			delete(p.peerBytes, o.origin.Peer)
		}
	}
	kids := p.byParent[o.prev]
	for i, k := range kids {
		if k == o {
			kids = append(kids[:i], kids[i+1:]...)
			break
		}
	}
	if len(kids) == 0 {
		delete(p.byParent, o.prev)
	} else {
		p.byParent[o.prev] = kids
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

// takeDescendants removes and returns every orphan that builds on h,
// directly or through other orphans: they cannot be valid once h is not.
func (p *orphanPool) takeDescendants(h Hash) []*orphan {
	var out []*orphan
	queue := []Hash{h}
	for len(queue) > 0 {
		kids := p.takeChildren(queue[0])
		queue = queue[1:]
		for _, k := range kids {
			out = append(out, k)
			queue = append(queue, k.hash)
		}
	}
	return out
}

// missingAncestor follows the orphan chain from hash back to the first block
// that is not in the pool: the block that must be fetched to connect it.
func (p *orphanPool) missingAncestor(hash Hash) Hash {
	for {
		o, ok := p.byHash[hash]
		if !ok {
			return hash
		}
		hash = o.prev
	}
}
