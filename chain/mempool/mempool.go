package mempool

import (
	"bytes"
	"errors"
	"log/slog"
	"math/bits"
	"sync"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/store"
)

// ChainView is what the pool needs of the chain: the UTXO set of the tip,
// whether a transaction is confirmed, and the tip itself. *chain.Chain
// implements it.
type ChainView interface {
	FetchUtxo(op chain.OutPoint) (*chain.UtxoEntry, error)
	HaveTx(txid chain.Hash) (bool, error)
	BestSnapshot() *chain.BestState
}

var _ ChainView = (*chain.Chain)(nil)

// Config configures a Mempool.
type Config struct {
	Params *chain.Params // required
	Chain  ChainView     // required
	// Policy is the standardness policy; the zero value means
	// DefaultPolicy().
	Policy Policy
	// MaxSize caps the serialized size of all pool transactions (default
	// 32 MiB); past it the lowest fee rates are evicted.
	MaxSize int
	// MaxOrphans and OrphanTTL bound the orphan pool (defaults 100 and
	// 20 minutes).
	MaxOrphans int
	OrphanTTL  time.Duration
	// DB, if set, is where the pool persists its transactions (under
	// chain.PrefixMempool) so they survive a restart.
	DB store.DB
	// Logger receives the pool's log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SigCache, if set, remembers the signatures the pool verified; give
	// the chain the same cache so it does not verify them again when their
	// block connects.
	SigCache *chain.SigCache
}

// TxDesc is a transaction in the pool.
type TxDesc struct {
	Tx     *chain.Tx
	TxID   chain.Hash
	Size   int
	Fee    uint64
	Added  time.Time
	Height int32 // tip height when it was accepted
}

// FeeRate returns the fee per byte, for display. Comparisons use exact
// integer arithmetic.
func (d *TxDesc) FeeRate() float64 { return float64(d.Fee) / float64(d.Size) }

// lowerFeeRate reports whether a pays less per byte than b, exactly.
func lowerFeeRate(aFee uint64, aSize int, bFee uint64, bSize int) bool {
	ah, al := bits.Mul64(aFee, uint64(bSize))
	bh, bl := bits.Mul64(bFee, uint64(aSize))
	return ah < bh || ah == bh && al < bl
}

// AcceptResult says what happened to a submitted transaction.
type AcceptResult struct {
	// Accepted lists the transactions that entered the pool: the
	// submitted one first, then orphans it made whole.
	Accepted []*TxDesc
	// Orphan is true when the transaction's parents are unknown; it waits
	// in the orphan pool. MissingParents lists them.
	Orphan         bool
	MissingParents []chain.Hash
}

// Mempool is the pool of unconfirmed transactions. Safe for concurrent use.
//
// Lock contract: mu guards txs, spends, size and orphans; the persister has
// its own lock.
type Mempool struct {
	cfg     Config
	log     *slog.Logger
	persist *persister

	mu      sync.RWMutex
	txs     map[chain.Hash]*TxDesc
	spends  map[chain.OutPoint]chain.Hash // outpoint -> pool tx spending it
	size    int
	orphans *orphanPool
}

// New returns an empty pool. Call Load to bring back persisted
// transactions and Run to persist new ones.
func New(cfg Config) (*Mempool, error) {
	if cfg.Params == nil || cfg.Chain == nil {
		return nil, errors.New("mempool: Params and Chain are required")
	}
	if cfg.Policy == (Policy{}) {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 32 << 20
	}
	if cfg.MaxOrphans <= 0 {
		cfg.MaxOrphans = 100
	}
	if cfg.OrphanTTL <= 0 {
		cfg.OrphanTTL = 20 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mempool{cfg: cfg, log: log,
		txs:     make(map[chain.Hash]*TxDesc),
		spends:  make(map[chain.OutPoint]chain.Hash),
		orphans: newOrphanPool(cfg.MaxOrphans, cfg.OrphanTTL),
	}
	if cfg.DB != nil {
		m.persist = newPersister(cfg.DB)
	}
	return m, nil
}

// add puts an accepted transaction in the pool. Called with mu held.
func (m *Mempool) add(d *TxDesc) {
	m.txs[d.TxID] = d
	for i := range d.Tx.TxIn {
		m.spends[d.Tx.TxIn[i].PrevOut] = d.TxID
	}
	m.size += d.Size
	if m.persist != nil {
		m.persist.put(d.TxID, d.Tx.Serialize())
	}
}

// remove takes one transaction out of the pool. Called with mu held.
func (m *Mempool) remove(txid chain.Hash) {
	d, ok := m.txs[txid]
	if !ok {
		return
	}
	delete(m.txs, txid)
	for i := range d.Tx.TxIn {
		if m.spends[d.Tx.TxIn[i].PrevOut] == txid {
			delete(m.spends, d.Tx.TxIn[i].PrevOut)
		}
	}
	m.size -= d.Size
	if m.persist != nil {
		m.persist.del(txid)
	}
}

// removeWithDescendants removes a transaction and every pool transaction
// spending its outputs, recursively; it returns how many were removed.
// Called with mu held.
func (m *Mempool) removeWithDescendants(txid chain.Hash) int {
	n := 0
	stack := []chain.Hash{txid}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d, ok := m.txs[id]
		if !ok {
			continue
		}
		for i := range d.Tx.TxOut {
			if child, ok := m.spends[chain.OutPoint{Hash: id, Index: uint32(i)}]; ok {
				stack = append(stack, child)
			}
		}
		m.remove(id)
		n++
	}
	return n
}

// makeRoom evicts the lowest fee rates until size more bytes fit, refusing
// when the newcomer itself would be the cheapest. The newcomer's own
// ancestors in the pool are never evicted for it: it would be left spending
// outputs that are gone. Equal fee rates are broken by txid, so the choice
// does not depend on map order. Called with mu held.
func (m *Mempool) makeRoom(tx *chain.Tx, size int, fee uint64) error {
	if m.size+size <= m.cfg.MaxSize {
		return nil
	}
	keep := m.ancestors(tx)
	for m.size+size > m.cfg.MaxSize {
		var worst *TxDesc
		for id, d := range m.txs {
			if keep[id] {
				continue
			}
			if worst == nil || lowerFeeRate(d.Fee, d.Size, worst.Fee, worst.Size) ||
				!lowerFeeRate(worst.Fee, worst.Size, d.Fee, d.Size) && bytes.Compare(id[:], worst.TxID[:]) < 0 {
				worst = d
			}
		}
		if worst == nil || !lowerFeeRate(worst.Fee, worst.Size, fee, size) {
			return ruleErr(ErrMempoolFull, "the pool is full (%d bytes) of transactions paying at least as much per byte", m.size)
		}
		n := m.removeWithDescendants(worst.TxID)
		m.log.Debug("evicted for space", "txid", worst.TxID, "removed", n)
	}
	return nil
}

// ancestors returns the pool transactions tx spends from, directly or
// through other pool transactions. Called with mu held.
func (m *Mempool) ancestors(tx *chain.Tx) map[chain.Hash]bool {
	out := make(map[chain.Hash]bool)
	stack := []*chain.Tx{tx}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range t.TxIn {
			id := t.TxIn[i].PrevOut.Hash
			if d, ok := m.txs[id]; ok && !out[id] {
				out[id] = true
				stack = append(stack, d.Tx)
			}
		}
	}
	return out
}

// RemoveConfirmed takes a connected block's transactions out of the pool,
// with every pool transaction conflicting with them (and its descendants),
// then accepts orphans the block made whole. It returns the conflicts
// removed.
func (m *Mempool) RemoveConfirmed(b *chain.Block) (conflicts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	txids := b.TxHashes()
	for i, tx := range b.Transactions {
		if i == 0 {
			continue
		}
		m.remove(txids[i])
		m.orphans.remove(txids[i])
		for k := range tx.TxIn {
			if spender, ok := m.spends[tx.TxIn[k].PrevOut]; ok && spender != txids[i] {
				conflicts += m.removeWithDescendants(spender)
			}
		}
	}
	for _, id := range txids {
		m.releaseOrphans(id)
	}
	return conflicts
}

// Readd offers transactions of disconnected blocks back to the pool, in the
// order given (oldest block first); those no longer valid are dropped. It
// returns the ones accepted, for re-announcement.
func (m *Mempool) Readd(txs []*chain.Tx) []*TxDesc {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*TxDesc
	for _, tx := range txs {
		if tx.IsCoinbase() {
			continue
		}
		res, err := m.acceptLocked(tx, false)
		if err != nil {
			m.log.Debug("disconnected transaction not re-added", "txid", tx.TxHash(), "err", err)
			continue
		}
		out = append(out, res.Accepted...)
	}
	return out
}

// Revalidate re-checks every pool transaction's inputs against the chain's
// current tip (after a reorg, or when chain events were missed) and drops
// those that no longer connect, with their descendants. It returns how many
// were dropped.
func (m *Mempool) Revalidate() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	dropped := 0
	best := m.cfg.Chain.BestSnapshot()
	for _, d := range m.orderedLocked() {
		if _, ok := m.txs[d.TxID]; !ok {
			continue // removed with an ancestor
		}
		if confirmed, err := m.cfg.Chain.HaveTx(d.TxID); err == nil && confirmed {
			m.remove(d.TxID)
			dropped++
			continue
		}
		view := chain.NewUtxoView(poolSource{m: m, height: best.Height + 1})
		_, _, err := chain.CheckTxInputs(d.Tx, best.Height+1, view, m.cfg.Params)
		var re *chain.RuleError
		switch {
		case err == nil:
		case errors.As(err, &re):
			m.log.Debug("dropped on revalidation", "txid", d.TxID, "err", err)
			dropped += m.removeWithDescendants(d.TxID)
		default:
			// A failure to read the chain says nothing about the
			// transactions: keep them and stop.
			m.log.Warn("revalidation stopped: the chain could not be read", "err", err)
			return dropped
		}
	}
	return dropped
}

// Has reports whether txid is in the pool (not counting orphans).
func (m *Mempool) Has(txid chain.Hash) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.txs[txid]
	return ok
}

// Get returns a pool transaction.
func (m *Mempool) Get(txid chain.Hash) (*TxDesc, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d, ok := m.txs[txid]
	return d, ok
}

// Spender returns the pool transaction spending op, if any.
func (m *Mempool) Spender(op chain.OutPoint) (chain.Hash, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h, ok := m.spends[op]
	return h, ok
}

// Count returns the number of pool transactions; Bytes their total size.
func (m *Mempool) Count() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.txs)
}

// Bytes returns the total serialized size of the pool.
func (m *Mempool) Bytes() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.size
}

// OrphanCount returns the number of orphan transactions.
func (m *Mempool) OrphanCount() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.orphans.len()
}
