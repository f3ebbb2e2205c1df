package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minichain/minichain/chain/store"
)

// This file holds the write-back chain-state cache. The chain state is
// every record that says what the main chain is: the UTXO set ('u'), the
// address indexes ('o', 'a'), the tx index ('t'), the height map ('h') and
// the tip ("mtip"). Connecting or disconnecting a block changes these in
// the cache only; block bodies, undo data and block index records are
// written to the store at once but unsynced. Flush writes the cached
// changes in one synced, atomic store update, which also moves "mtip": the
// stored tip is therefore the "flushed up to" marker, and the stored chain
// state is always exactly the state at that tip. A crash loses only cached
// changes; at open the chain reconnects the stored blocks beyond the
// stored tip (they have more work), which rebuilds them. docs/STORAGE.md.

// DefaultStateCacheBytes is the chain-state cache size used when
// Config.StateCacheBytes is 0.
const DefaultStateCacheBytes = 32 << 20

// A flush larger than one store transaction should hold is written through
// a journal (see flushJournal). These bounds stay well below Badger's limit
// per transaction (15% of its memtable, in bytes and in entries). They are
// variables so tests can force the journal path.
var (
	flushTxnMaxEntries       = 10000
	flushTxnMaxBytes   int64 = 2 << 20
)

// StateCacheOff, as Config.StateCacheBytes, turns the chain-state cache
// off: the chain state each block changes is written to the store as the
// block is connected or disconnected, in one durable update that also
// moves the stored tip, as a flush after every block would, without the
// cache's copy of it. It is for stores in memory (UnboundedUpdater), where
// a write-back cache saves no disk writes: the simulator's shared store.
const StateCacheOff = -1

// cacheEntryOverhead approximates the memory a cached record costs beyond
// its key and value bytes (map slot, string header, slice header).
const cacheEntryOverhead = 80

// Journal records: a big flush is first copied under prefixJournal in
// chunks, then keyJournal commits it, then it is applied and removed.
//
//	j | seq(4 BE)   -> count(compact) then per record: key(var) op(1: 1 set, 0 delete) value(var, set only)
//	"mjournal"      -> number of chunks (4 LE): the journal is complete and must be applied
const prefixJournal = 'j'

var keyJournal = append([]byte{prefixMeta}, "journal"...)

// cachedValue is a cached record: a value to store, or a deletion.
type cachedValue struct {
	value   []byte
	deleted bool
}

// FlushInfo describes the last flush of the chain-state cache.
type FlushInfo struct {
	Hash    Hash      // the tip the flush wrote (the stored tip since)
	Height  int32     // its height
	Records int       // records written (sets and deletions)
	Bytes   int64     // their approximate size in the cache
	Journal bool      // written through the journal (too big for one write)
	Count   uint64    // flushes since the chain was opened
	Time    time.Time // when, if Config.Clock is set
}

// CacheStats is a snapshot of the chain-state cache.
type CacheStats struct {
	LimitBytes int64 // flush when the cache holds more than this
	Bytes      int64 // approximate memory the cached records take
	Records    int   // cached records (changes not yet flushed)
	// UTXO lookups answered by the cache and by the store.
	Hits, Misses uint64
	LastFlush    FlushInfo // zero before the first flush
}

// HitRate is Hits / (Hits + Misses), 0 with no lookups.
func (s CacheStats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// stateCache holds the chain-state changes not yet flushed. mu guards
// entries and size; readers hold it for reading for the whole of a store
// view, so cache and store are read as one consistent state.
type stateCache struct {
	db    store.DB
	limit int64
	off   bool             // StateCacheOff: apply writes to the store
	clock func() time.Time // nil: flushes are not stamped

	mu      sync.RWMutex
	entries map[string]cachedValue
	size    int64
	last    FlushInfo
	written int // off: records written since the last flush call

	hits, misses atomic.Uint64
}

func newStateCache(db store.DB, limit int64, clock func() time.Time) *stateCache {
	if limit == 0 {
		limit = DefaultStateCacheBytes
	}
	return &stateCache{db: db, limit: limit, off: limit == StateCacheOff, clock: clock, entries: make(map[string]cachedValue)}
}

// full reports whether the cache holds more than its limit; with the
// cache off, whether anything was written since the last flush call,
// which then records it.
func (sc *stateCache) full() bool {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	if sc.off {
		return sc.written > 0
	}
	return sc.size > sc.limit
}

func (sc *stateCache) stats() CacheStats {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	return CacheStats{LimitBytes: sc.limit, Bytes: sc.size, Records: len(sc.entries),
		Hits: sc.hits.Load(), Misses: sc.misses.Load(), LastFlush: sc.last}
}

// view runs fn on a read-only store view with the cache laid over it.
func (sc *stateCache) view(fn func(store.Txn) error) error {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	return sc.db.View(func(t store.Txn) error { return fn(&overlayTxn{t: t, sc: sc}) })
}

// apply runs fn, whose Sets and Deletes land in the cache. fn must not
// read. All of fn's writes are applied, or none if it fails.
func (sc *stateCache) apply(fn func(store.Txn) error) error {
	if sc.off {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		n := 0
		err := sc.db.Update(func(t store.Txn) error {
			w := &throughWriter{t: t}
			if err := fn(w); err != nil {
				return err
			}
			n = w.n
			return nil
		})
		if err == nil {
			sc.written += n
		}
		return err
	}
	w := &cacheWriter{}
	if err := fn(w); err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.entries) == 0 && len(w.ops) > 8 {
		// Sized once, not grown by doubling: a cache flushed after
		// every block (a small limit) starts empty every time.
		sc.entries = make(map[string]cachedValue, len(w.ops))
	}
	for _, op := range w.ops {
		if old, ok := sc.entries[op.key]; ok {
			sc.size -= int64(len(op.key) + len(old.value) + cacheEntryOverhead)
		}
		sc.entries[op.key] = op.val
		sc.size += int64(len(op.key) + len(op.val.value) + cacheEntryOverhead)
	}
	return nil
}

// flush writes every cached change to the store, durably and atomically,
// and empties the cache. tip is the main chain's tip, which the cache's
// "mtip" record names. On error the cache is kept, so a later flush can
// retry.
func (sc *stateCache) flush(tip *blockNode) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.off {
		// Written already, by apply: only the record of it is left.
		if sc.written > 0 {
			sc.last = FlushInfo{Hash: tip.hash, Height: tip.height, Records: sc.written, Count: sc.last.Count + 1}
			if sc.clock != nil {
				sc.last.Time = sc.clock()
			}
			sc.written = 0
		}
		return nil
	}
	if len(sc.entries) == 0 {
		return nil
	}
	keys := make([]string, 0, len(sc.entries))
	for k := range sc.entries {
		keys = append(keys, k)
	}
	journal := (len(keys) > flushTxnMaxEntries || sc.size > flushTxnMaxBytes) && !store.Unbounded(sc.db)
	var err error
	if journal {
		// Chunks in key order, so a replayed journal is the same one
		// whatever the map's order was. One transaction needs no order.
		sort.Strings(keys)
		err = sc.flushJournal(keys)
	} else {
		err = sc.db.Update(func(t store.Txn) error { return sc.writeKeys(t, keys) })
	}
	if err != nil {
		return fmt.Errorf("flush the chain-state cache: %w", err)
	}
	sc.last = FlushInfo{Hash: tip.hash, Height: tip.height, Records: len(keys), Bytes: sc.size,
		Journal: journal, Count: sc.last.Count + 1}
	if sc.clock != nil {
		sc.last.Time = sc.clock()
	}
	sc.entries = make(map[string]cachedValue)
	sc.size = 0
	return nil
}

// writeKeys writes the cached records keys to t. Called with mu held.
func (sc *stateCache) writeKeys(t store.Txn, keys []string) error {
	for _, k := range keys {
		v := sc.entries[k]
		var err error
		if v.deleted {
			err = t.Delete([]byte(k))
		} else {
			err = t.Set([]byte(k), v.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// flushJournal writes a flush too big for one store transaction so that a
// crash at any moment leaves either the old state or the new one:
//  1. the records are copied under 'j' in chunks (unsynced);
//  2. one synced write sets "mjournal": from here the flush is decided;
//  3. the records are applied in chunks (unsynced), then one synced write
//     deletes "mjournal";
//  4. the 'j' chunks are deleted.
//
// recoverJournal, at open, finishes step 3 when "mjournal" is set and
// deletes leftover chunks otherwise. Applying a record twice is harmless:
// each sets or deletes a key to its final state. Called with mu held.
func (sc *stateCache) flushJournal(keys []string) error {
	var chunks [][]string
	for start := 0; start < len(keys); {
		end, size := start, int64(0)
		for end < len(keys) && (end == start || end-start < max(flushTxnMaxEntries/2, 1) && size < flushTxnMaxBytes/2) {
			size += int64(len(keys[end]) + len(sc.entries[keys[end]].value) + 8)
			end++
		}
		chunks = append(chunks, keys[start:end])
		start = end
	}
	for i, ch := range chunks {
		rec := sc.encodeChunk(ch)
		err := store.UpdateUnsynced(sc.db, func(t store.Txn) error { return t.Set(journalKey(uint32(i)), rec) })
		if err != nil {
			return err
		}
	}
	n := binary.LittleEndian.AppendUint32(nil, uint32(len(chunks)))
	if err := sc.db.Update(func(t store.Txn) error { return t.Set(keyJournal, n) }); err != nil {
		return err
	}
	for _, ch := range chunks {
		if err := store.UpdateUnsynced(sc.db, func(t store.Txn) error { return sc.writeKeys(t, ch) }); err != nil {
			return err
		}
	}
	if err := sc.db.Update(func(t store.Txn) error { return t.Delete(keyJournal) }); err != nil {
		return err
	}
	return deleteJournalChunks(sc.db)
}

func journalKey(i uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixJournal}, i)
}

func (sc *stateCache) encodeChunk(keys []string) []byte {
	b := AppendCompactSize(nil, uint64(len(keys)))
	for _, k := range keys {
		v := sc.entries[k]
		b = appendVarBytes(b, []byte(k))
		if v.deleted {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = appendVarBytes(b, v.value)
	}
	return b
}

// maxJournalRecord bounds one record's key or value when decoding a chunk.
const maxJournalRecord = 1 << 22

// applyJournalChunk decodes a journal chunk and writes its records to t.
func applyJournalChunk(t store.Txn, b []byte) error {
	r := newReader(b, "journal chunk")
	n := r.count("count", 2)
	for i := 0; i < n && r.err == nil; i++ {
		k := r.varBytes("key", maxJournalRecord)
		op := r.next(1, "op")
		if r.err != nil {
			break
		}
		var err error
		if op[0] == 0 {
			err = t.Delete(k)
		} else {
			err = t.Set(k, r.varBytes("value", maxJournalRecord))
		}
		if err != nil {
			return err
		}
	}
	if err := r.finish(); err != nil {
		return corruptf("%v", err)
	}
	return nil
}

// deleteJournalChunks removes every 'j' record, a chunk at a time.
func deleteJournalChunks(db store.DB) error {
	for {
		var keys [][]byte
		err := db.View(func(t store.Txn) error {
			return t.Iterate([]byte{prefixJournal}, func(k, _ []byte) error {
				keys = append(keys, append([]byte(nil), k...))
				if len(keys) >= 256 {
					return errStopIteration
				}
				return nil
			})
		})
		if err != nil && !errors.Is(err, errStopIteration) {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		err = store.UpdateUnsynced(db, func(t store.Txn) error {
			for _, k := range keys {
				if err := t.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

var errStopIteration = errors.New("stop iteration")

// recoverJournal finishes or drops a journaled flush a crash cut short.
// It runs at open, before anything reads the chain state. It returns
// whether a decided flush was finished.
func recoverJournal(db store.DB) (bool, error) {
	var count []byte
	err := db.View(func(t store.Txn) error {
		var err error
		count, err = t.Get(keyJournal)
		if errors.Is(err, store.ErrNotFound) {
			count, err = nil, nil
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if count == nil {
		// Chunks without the marker are a flush that never got decided:
		// the store still holds the state before it.
		return false, deleteJournalChunks(db)
	}
	if len(count) != 4 {
		return false, corruptf("journal marker of %d bytes", len(count))
	}
	for i := uint32(0); i < binary.LittleEndian.Uint32(count); i++ {
		var chunk []byte
		err := db.View(func(t store.Txn) error {
			var err error
			chunk, err = t.Get(journalKey(i))
			return err
		})
		if err != nil {
			return false, fmt.Errorf("journal chunk %d of a decided flush: %w", i, err)
		}
		if err := store.UpdateUnsynced(db, func(t store.Txn) error { return applyJournalChunk(t, chunk) }); err != nil {
			return false, fmt.Errorf("apply journal chunk %d: %w", i, err)
		}
	}
	if err := db.Update(func(t store.Txn) error { return t.Delete(keyJournal) }); err != nil {
		return false, err
	}
	return true, deleteJournalChunks(db)
}

// cacheWriter collects writes for stateCache.apply.
type cacheWriter struct {
	ops []struct {
		key string
		val cachedValue
	}
}

var errCacheWriteOnly = errors.New("chain-state cache writer cannot read")

func (w *cacheWriter) Get([]byte) ([]byte, error) { return nil, errCacheWriteOnly }

func (w *cacheWriter) Set(key, value []byte) error {
	w.ops = append(w.ops, struct {
		key string
		val cachedValue
	}{string(key), cachedValue{value: append([]byte{}, value...)}})
	return nil
}

func (w *cacheWriter) Delete(key []byte) error {
	w.ops = append(w.ops, struct {
		key string
		val cachedValue
	}{string(key), cachedValue{deleted: true}})
	return nil
}

func (w *cacheWriter) Iterate([]byte, func(key, value []byte) error) error {
	return errCacheWriteOnly
}

// throughWriter is apply's writer with the cache off: the writes go to
// the store's update, counted; like cacheWriter, it cannot read.
type throughWriter struct {
	t store.Txn
	n int
}

func (w *throughWriter) Get([]byte) ([]byte, error) { return nil, errCacheWriteOnly }

func (w *throughWriter) Set(key, value []byte) error {
	w.n++
	return w.t.Set(key, value)
}

func (w *throughWriter) Delete(key []byte) error {
	w.n++
	return w.t.Delete(key)
}

func (w *throughWriter) Iterate([]byte, func(key, value []byte) error) error {
	return errCacheWriteOnly
}

// overlayTxn reads the cache first and the store under it. It is read-only.
type overlayTxn struct {
	t  store.Txn
	sc *stateCache
}

func (o *overlayTxn) Get(key []byte) ([]byte, error) {
	v, ok := o.sc.entries[string(key)]
	isUtxo := len(key) > 0 && key[0] == prefixUtxo
	if ok {
		if isUtxo {
			o.sc.hits.Add(1)
		}
		if v.deleted {
			return nil, store.ErrNotFound
		}
		return append([]byte(nil), v.value...), nil
	}
	if isUtxo {
		o.sc.misses.Add(1)
	}
	return o.t.Get(key)
}

func (o *overlayTxn) Set([]byte, []byte) error { return store.ErrReadOnly }
func (o *overlayTxn) Delete([]byte) error      { return store.ErrReadOnly }

// Iterate merges the cached records under prefix with the stored ones, in
// key order; a cached record replaces or deletes the stored one. It scans
// the whole cache for the prefix, which the cache's bound keeps cheap next
// to a store scan.
func (o *overlayTxn) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	var cached []string
	p := string(prefix)
	for k := range o.sc.entries {
		if strings.HasPrefix(k, p) {
			cached = append(cached, k)
		}
	}
	sort.Strings(cached)
	i := 0
	// emit sends the cached records that sort before limit (all when nil).
	emit := func(limit []byte) error {
		for ; i < len(cached) && (limit == nil || cached[i] < string(limit)); i++ {
			if v := o.sc.entries[cached[i]]; !v.deleted {
				if err := fn([]byte(cached[i]), v.value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := o.t.Iterate(prefix, func(k, v []byte) error {
		if err := emit(k); err != nil {
			return err
		}
		if i < len(cached) && bytes.Equal([]byte(cached[i]), k) {
			i++
			if cv := o.sc.entries[string(k)]; !cv.deleted {
				return fn(k, cv.value)
			}
			return nil
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	return emit(nil)
}
