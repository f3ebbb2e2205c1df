// Package badgerdb is the node's on-disk store: chain/store's transactional
// interface on Badger, tuned for a small node. Only the node opens it (and
// tests); the consensus core sees the interface alone, so neither it nor the
// packages above it link the database engine.
//
// # Errors
//
// Get answers store.ErrNotFound for a missing key and a closed store
// store.ErrClosed; anything else is Badger's error, wrapped.
package badgerdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/minichain/minichain/chain/store"
)

// Options size a Badger store.
type Options struct {
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// InMemory keeps everything in memory (no directory); for tests.
	InMemory bool
}

// Memory Badger reserves with these options, about 100 MiB at most:
//
//	memtables        2 x 32 MiB  = 64 MiB (writes buffered before flushing to L0)
//	block cache                  = 24 MiB (decompressed table blocks)
//	index cache                  =  8 MiB (table indexes and Bloom filters)
//
// Value-log files (64 MiB each) and table files are memory-mapped, so they
// count in RSS as the data grows; the node also sets a Go memory limit.
// Values over 1 KiB (block bytes, undo data) go to the value log so the LSM
// tree holds only the small index, UTXO and address records.
const (
	badgerMemTableSize   = 32 << 20
	badgerNumMemtables   = 2
	badgerBlockCacheSize = 24 << 20
	badgerIndexCacheSize = 8 << 20
	badgerValueLogSize   = 64 << 20
	badgerValueThreshold = 1 << 10
)

// DB is a store.DB on Badger. Every Update is synced to disk before it
// returns, so an acknowledged write survives kill -9 and power loss.
// UpdateUnsynced commits without the sync; the next Update's sync covers
// it (see Update).
type DB struct {
	db       *badger.DB
	inMemory bool
}

var (
	_ store.DB              = (*DB)(nil)
	_ store.UnsyncedUpdater = (*DB)(nil)
)

// Open opens (creating if needed) a Badger store in dir.
func Open(dir string, o Options) (*DB, error) {
	opts := badger.DefaultOptions(dir).
		WithInMemory(o.InMemory).
		// Syncing is Update's job (commit, then Sync), so that
		// UpdateUnsynced can skip it.
		WithSyncWrites(false).
		WithLogger(slogAdapter{o.Logger}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithNumGoroutines(2).
		WithMemTableSize(badgerMemTableSize).
		WithNumMemtables(badgerNumMemtables).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).
		WithBlockCacheSize(badgerBlockCacheSize).
		WithIndexCacheSize(badgerIndexCacheSize).
		WithValueLogFileSize(badgerValueLogSize).
		WithValueThreshold(badgerValueThreshold).
		WithCompression(options.Snappy)
	if o.InMemory {
		opts.Dir, opts.ValueDir = "", ""
	} else if err := removeEmptyLogs(dir, o.Logger); err != nil {
		return nil, fmt.Errorf("open badger store in %s: %w", dir, err)
	}
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger store in %s: %w", dir, err)
	}
	return &DB{db: db, inMemory: o.InMemory}, nil
}

// removeEmptyLogs deletes zero-length value-log (.vlog) and memtable (.mem)
// files. Badger creates such a file and only then sizes it and writes its
// header; a process killed in between leaves it empty, and Badger v4.9.6
// then refuses to open the store ("Create a new file"). An empty log holds
// nothing the LSM tree can point to (a value is synced before the key that
// points to it), so removing it loses nothing, and Badger creates the next
// log as usual.
func removeEmptyLogs(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".vlog") || strings.HasSuffix(name, ".mem")) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove the empty log %s left by a crash: %w", name, err)
		}
		if log != nil {
			log.Warn("removed an empty log file left by a crash", "file", name, "component", "badger")
		}
	}
	return nil
}

// View runs fn in a read-only Badger transaction.
func (b *DB) View(fn func(store.Txn) error) error {
	err := b.db.View(func(t *badger.Txn) error { return fn(badgerTxn{t}) })
	return mapErr(err)
}

// Update runs fn in a read-write Badger transaction, commits it and syncs
// Badger's logs to disk before returning. Badger appends every commit to
// the active memtable's write-ahead log and to the value log in commit
// order, and Sync fsyncs both files, so the sync also makes durable every
// earlier UpdateUnsynced that is in the same files. (A memtable rotated out
// since then is not fsynced by Sync: its log is durable once Badger has
// flushed it to a table. That leaves a window for power loss, not for a
// process crash, whose writes the OS still holds; docs/STORAGE.md.)
func (b *DB) Update(fn func(store.Txn) error) error {
	if err := mapErr(b.db.Update(func(t *badger.Txn) error { return fn(badgerTxn{t}) })); err != nil {
		return err
	}
	if b.inMemory {
		return nil
	}
	if err := b.db.Sync(); err != nil {
		return fmt.Errorf("sync badger store: %w", err)
	}
	return nil
}

// UpdateUnsynced runs fn in a read-write Badger transaction and commits it
// without syncing: it survives a process crash (the OS holds the write) but
// not a power loss until the next Update syncs.
func (b *DB) UpdateUnsynced(fn func(store.Txn) error) error {
	return mapErr(b.db.Update(func(t *badger.Txn) error { return fn(badgerTxn{t}) }))
}

// Close flushes memtables and closes the store.
func (b *DB) Close() error { return b.db.Close() }

// RunValueLogGC reclaims space in value-log files that are mostly garbage,
// one file at a time, until nothing is left to rewrite.
func (b *DB) RunValueLogGC(discardRatio float64) {
	for b.db.RunValueLogGC(discardRatio) == nil {
	}
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return store.ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return store.ErrClosed
	}
	return err
}

type badgerTxn struct{ t *badger.Txn }

func (t badgerTxn) Get(key []byte) ([]byte, error) {
	item, err := t.t.Get(key)
	if err != nil {
		return nil, mapErr(err)
	}
	return item.ValueCopy(nil)
}

func (t badgerTxn) Set(key, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return mapErr(t.t.Set(key, value))
}

func (t badgerTxn) Delete(key []byte) error { return mapErr(t.t.Delete(key)) }

func (t badgerTxn) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := t.t.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
		if err != nil {
			return err
		}
	}
	return nil
}

// slogAdapter sends Badger's log lines to slog: errors and warnings only,
// since its info lines (compactions, flushes) are noise for a node's user.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) log(level slog.Level, format string, args ...any) {
	if a.l == nil {
		return
	}
	a.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (a slogAdapter) Errorf(f string, args ...any)   { a.log(slog.LevelError, f, args...) }
func (a slogAdapter) Warningf(f string, args ...any) { a.log(slog.LevelWarn, f, args...) }
func (a slogAdapter) Infof(string, ...any)           {}
func (a slogAdapter) Debugf(string, ...any)          {}
