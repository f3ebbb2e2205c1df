package sharedstore

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/minichain/minichain/chain/store"
)

// internMin is the size from which values are interned by content.
const internMin = 64

// Pool is what the stores of one simulation share: interned values and the
// memo of versions. It is safe for concurrent use.
type Pool struct {
	mu     sync.Mutex
	seeds  [2]maphash.Seed
	values map[sum]string   // interned values, by content hash
	memo   map[sum]*version // versions, by digest of (parent, writes)
	nextID uint64
	stats  Stats
}

// Stats counts what a Pool did.
type Stats struct {
	// Versions is how many distinct versions were built; Shared, how many
	// Updates reused a version another store had built.
	Versions, Shared int64
	// Values is how many distinct values are interned, ValueBytes their
	// total size.
	Values, ValueBytes int64
}

// version is one immutable state of a store.
type version struct {
	id   uint64
	root *node
}

// empty is the version every store starts from.
var empty = &version{}

// sum is a 128-bit content hash: two 64-bit maphashes with independent
// random seeds. It only deduplicates within one process, so it need not be
// stable across runs (the content, and so every result, is the same either
// way); at 128 bits a collision among the simulation's at most ~10^9
// hashes has a probability below 10^-20. It is several times faster than
// SHA-256, which the profile showed dominating Update.
type sum [2]uint64

func (p *Pool) hash(b []byte) sum {
	return sum{maphash.Bytes(p.seeds[0], b), maphash.Bytes(p.seeds[1], b)}
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		values: make(map[sum]string), memo: make(map[sum]*version), nextID: 1}
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Store is one node's store.DB: a current version in a Pool.
type Store struct {
	pool   *Pool
	mu     sync.RWMutex
	cur    *version
	closed bool
}

var _ store.DB = (*Store)(nil)

// New returns an empty store in the pool.
func (p *Pool) New() *Store { return &Store{pool: p, cur: empty} }

// Fork returns a new store in s's pool whose content is s's current
// content. The two share it and go their own ways from there: a simulation
// prepares one node's chain and starts the others from it at no cost per
// node.
func (s *Store) Fork() *Store {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &Store{pool: s.pool, cur: s.cur}
}

// UnboundedUpdates reports that one Update may hold any number of writes:
// a version is built in memory, atomically whatever its size, so the chain
// needs no journal for a big flush (store.UnboundedUpdater).
func (s *Store) UnboundedUpdates() bool { return true }

// View runs fn with the current version, which no Update changes.
func (s *Store) View(fn func(store.Txn) error) error {
	s.mu.RLock()
	cur, closed := s.cur, s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	return fn(&txn{root: cur.root})
}

// Update runs fn against an overlay of the current version and, if fn
// succeeds, makes the overlay's result the current version: an existing
// version when some store already applied the same writes to the same
// version, a new one otherwise.
func (s *Store) Update(fn func(store.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	t := &txn{root: s.cur.root, writes: getWrites(), writable: true}
	defer putWrites(t)
	if err := fn(t); err != nil {
		return err
	}
	if len(t.writes) > 0 {
		s.cur = s.pool.apply(s.cur, t.writes)
	}
	return nil
}

// writesPool recycles the maps Updates collect their writes in: every node
// of a simulation writes each block it connects, and a fresh map grew by
// doubling every time (map growth was 4% of a 10,000-node run).
var writesPool = sync.Pool{New: func() any { return make(map[string][]byte) }}

// maxPooledWrites bounds the maps kept for reuse: clearing a map costs its
// capacity, so one that held a big setup flush is left to the collector.
const maxPooledWrites = 4096

func getWrites() map[string][]byte { return writesPool.Get().(map[string][]byte) }

// putWrites returns t's map to the pool; t is unusable after.
func putWrites(t *txn) {
	w := t.writes
	t.writes, t.writable = nil, false
	if len(w) > maxPooledWrites {
		return
	}
	clear(w)
	writesPool.Put(w)
}

// Close marks the store closed; later calls return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// apply returns the version that writes (nil value: delete) make of from.
func (p *Pool) apply(from *version, writes map[string][]byte) *version {
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sums := make([]sum, len(keys))
	var h [2]maphash.Hash
	var buf [8]byte
	for j := range h {
		h[j].SetSeed(p.seeds[j])
	}
	write := func(b []byte) {
		h[0].Write(b)
		h[1].Write(b)
	}
	binary.BigEndian.PutUint64(buf[:], from.id)
	write(buf[:])
	for i, k := range keys {
		v := writes[k]
		binary.BigEndian.PutUint64(buf[:], uint64(len(k)))
		write(buf[:])
		write([]byte(k))
		if v == nil {
			write([]byte{0})
			continue
		}
		sums[i] = p.hash(v)
		buf[0] = 1
		write(buf[:1])
		binary.BigEndian.PutUint64(buf[:], sums[i][0])
		write(buf[:])
		binary.BigEndian.PutUint64(buf[:], sums[i][1])
		write(buf[:])
	}
	digest := sum{h[0].Sum64(), h[1].Sum64()}

	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.memo[digest]; ok {
		p.stats.Shared++
		return v
	}
	root := from.root
	for i, k := range keys {
		v := writes[k]
		if v == nil {
			root, _ = remove(root, k)
			continue
		}
		root = insert(root, k, p.intern(sums[i], v), priority(k))
	}
	nv := &version{id: p.nextID, root: root}
	p.nextID++
	p.memo[digest] = nv
	p.stats.Versions++
	return nv
}

// intern returns the pool's copy of a value. Called with p.mu held.
func (p *Pool) intern(key sum, v []byte) string {
	if len(v) < internMin {
		return string(v)
	}
	if s, ok := p.values[key]; ok {
		return s
	}
	s := string(v)
	p.values[key] = s
	p.stats.Values++
	p.stats.ValueBytes += int64(len(s))
	return s
}

// txn is a transaction: a version, plus its own writes in an Update.
type txn struct {
	root     *node
	writes   map[string][]byte // nil value: deleted
	writable bool
}

func (t *txn) Get(key []byte) ([]byte, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, store.ErrNotFound
		}
		return slices.Clone(v), nil
	}
	v, ok := get(t.root, string(key))
	if !ok {
		return nil, store.ErrNotFound
	}
	return []byte(v), nil
}

func (t *txn) Set(key, value []byte) error {
	if !t.writable {
		return store.ErrReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	t.writes[string(key)] = slices.Clone(value)
	return nil
}

func (t *txn) Delete(key []byte) error {
	if !t.writable {
		return store.ErrReadOnly
	}
	t.writes[string(key)] = nil
	return nil
}

// Iterate walks the version in key order; in an Update with writes under
// the prefix, it merges them in first.
func (t *txn) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	p := string(prefix)
	var own []string
	for k := range t.writes {
		if strings.HasPrefix(k, p) {
			own = append(own, k)
		}
	}
	if len(own) == 0 {
		return walk(t.root, p, func(k, v string) error { return fn([]byte(k), []byte(v)) })
	}
	seen := make(map[string][]byte)
	_ = walk(t.root, p, func(k, v string) error {
		seen[k] = []byte(v)
		return nil
	})
	for _, k := range own {
		seen[k] = t.writes[k]
	}
	keys := make([]string, 0, len(seen))
	for k, v := range seen {
		if v != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn([]byte(k), seen[k]); err != nil {
			return err
		}
	}
	return nil
}
