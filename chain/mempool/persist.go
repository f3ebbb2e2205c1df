package mempool

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/store"
)

// persister writes pool changes to the store in batches: every accepted or
// removed transaction is queued, and the flusher writes all that is queued in
// one atomic, synced update. Sync lets a caller wait until what it queued is
// durable, so an acknowledged transaction survives kill -9 without a disk
// sync per transaction.
type persister struct {
	db store.DB

	mu      sync.Mutex
	pending map[chain.Hash][]byte // nil value: delete
	queued  uint64                // operations queued so far
	flushed uint64                // operations durable so far
	done    chan struct{}         // closed and replaced after each flush
	wake    chan struct{}
	err     error
}

func newPersister(db store.DB) *persister {
	return &persister{db: db, pending: make(map[chain.Hash][]byte),
		done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (p *persister) put(id chain.Hash, raw []byte) { p.queue(id, raw) }
func (p *persister) del(id chain.Hash)             { p.queue(id, nil) }

func (p *persister) queue(id chain.Hash, raw []byte) {
	p.mu.Lock()
	p.pending[id] = raw
	p.queued++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func mempoolKey(id chain.Hash) []byte {
	return append([]byte{chain.PrefixMempool}, id[:]...)
}

// flush writes everything queued in one update.
func (p *persister) flush() error {
	p.mu.Lock()
	batch, upTo := p.pending, p.queued
	p.pending = make(map[chain.Hash][]byte)
	p.mu.Unlock()
	if len(batch) == 0 && upTo == p.flushedCount() {
		return nil
	}
	err := p.db.Update(func(t store.Txn) error {
		for id, raw := range batch {
			var err error
			if raw == nil {
				err = t.Delete(mempoolKey(id))
			} else {
				err = t.Set(mempoolKey(id), raw)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		// Put the batch back under anything queued since.
		for id, raw := range batch {
			if _, newer := p.pending[id]; !newer {
				p.pending[id] = raw
			}
		}
		p.err = err
		return err
	}
	p.err = nil
	p.flushed = upTo
	close(p.done)
	p.done = make(chan struct{})
	return nil
}

func (p *persister) flushedCount() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushed
}

// sync waits until every operation queued before the call is durable.
func (p *persister) sync(ctx context.Context) error {
	p.mu.Lock()
	target := p.queued
	p.mu.Unlock()
	for {
		p.mu.Lock()
		if p.flushed >= target {
			p.mu.Unlock()
			return nil
		}
		done, err := p.done, p.err
		p.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case p.wake <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
		}
	}
}

// Run persists pool changes until ctx ends, then writes what is left. With
// no store it only waits for ctx.
func (m *Mempool) Run(ctx context.Context) error {
	if m.persist == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return m.persist.flush()
		case <-m.persist.wake:
		case <-tick.C:
		}
		if err := m.persist.flush(); err != nil {
			m.log.Error("persist mempool", "err", err)
		}
	}
}

// Sync waits until every pool change made before the call is on disk. It
// needs Run to be running.
func (m *Mempool) Sync(ctx context.Context) error {
	if m.persist == nil {
		return nil
	}
	return m.persist.sync(ctx)
}

// Load re-accepts the transactions persisted by an earlier run, parents
// before children; those no longer valid are deleted from the store. It
// returns how many came back.
func (m *Mempool) Load() (int, error) {
	if m.cfg.DB == nil {
		return 0, nil
	}
	var txs []*chain.Tx
	var bad []chain.Hash
	err := m.cfg.DB.View(func(t store.Txn) error {
		return t.Iterate([]byte{chain.PrefixMempool}, func(k, v []byte) error {
			var id chain.Hash
			copy(id[:], k[1:])
			tx, err := chain.DecodeTx(v, m.cfg.Params.MaxTxSize())
			if err != nil || len(k) != 1+chain.HashSize || tx.TxHash() != id {
				bad = append(bad, id)
				return nil
			}
			txs = append(txs, tx)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	ordered := topoSort(txs)
	m.mu.Lock()
	n := 0
	for _, tx := range ordered {
		res, err := m.acceptLocked(tx, false)
		var re *chain.RuleError
		switch {
		case err == nil, errors.Is(err, ErrAlreadyHave):
		case errors.As(err, &re):
			bad = append(bad, tx.TxHash()) // no longer valid: drop the stored copy
			continue
		default:
			// The chain could not be read: keep every stored copy.
			m.mu.Unlock()
			return n, fmt.Errorf("load mempool: %w", err)
		}
		n += len(res.Accepted)
	}
	m.mu.Unlock()
	if len(bad) > 0 {
		err = m.cfg.DB.Update(func(t store.Txn) error {
			for _, id := range bad {
				if err := t.Delete(mempoolKey(id)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return n, err
}

// topoSort orders transactions so each comes after the ones in the set it
// spends; ties keep txid order so loading is deterministic.
func topoSort(txs []*chain.Tx) []*chain.Tx {
	byID := make(map[chain.Hash]*chain.Tx, len(txs))
	for _, tx := range txs {
		byID[tx.TxHash()] = tx
	}
	ids := make([]chain.Hash, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	var out []*chain.Tx
	state := make(map[chain.Hash]int) // 1 visiting, 2 done
	var visit func(id chain.Hash)
	visit = func(id chain.Hash) {
		if state[id] != 0 {
			return
		}
		state[id] = 1
		tx := byID[id]
		for i := range tx.TxIn {
			if _, ok := byID[tx.TxIn[i].PrevOut.Hash]; ok {
				visit(tx.TxIn[i].PrevOut.Hash)
			}
		}
		state[id] = 2
		out = append(out, tx)
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}
