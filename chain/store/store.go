package store

import "errors"

// ErrNotFound is returned by Txn.Get for a key that is not stored.
var ErrNotFound = errors.New("store: key not found")

// ErrClosed is returned by a DB that has been closed.
var ErrClosed = errors.New("store: closed")

// Txn is a view of the store inside View or Update. Byte slices passed to
// callbacks are valid only during the callback; copy what you keep. Reads in
// an Update see that Update's own writes.
type Txn interface {
	// Get returns a copy of the value of key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Set stores value under key (only inside Update).
	Set(key, value []byte) error
	// Delete removes key (only inside Update); deleting a missing key is
	// not an error.
	Delete(key []byte) error
	// Iterate calls fn for every key with the prefix, in ascending key
	// order, until fn returns an error (which Iterate returns).
	Iterate(prefix []byte, fn func(key, value []byte) error) error
}

// DB is a transactional key-value store.
type DB interface {
	// View runs fn with a read-only, consistent snapshot.
	View(fn func(Txn) error) error
	// Update runs fn and then writes all its changes atomically and
	// durably, or none if fn returns an error.
	Update(fn func(Txn) error) error
	// Close flushes and closes the store.
	Close() error
}

// ErrReadOnly is returned by Set or Delete inside View.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// UnsyncedUpdater is implemented by a DB that can commit a write without
// waiting for the disk. Such a write is atomic and visible at once, but a
// power loss (not a process crash) may drop it unless a later Update, which
// is durable, syncs it: a durable Update makes every write committed before
// it durable too.
type UnsyncedUpdater interface {
	UpdateUnsynced(fn func(Txn) error) error
}

// UnboundedUpdater is implemented by a DB whose one Update can hold any
// number of writes atomically, as a store in memory can. The chain writes a
// flush of any size to such a DB in one Update; to a DB without it (Badger,
// whose transactions are bounded) it writes a big flush through a journal.
type UnboundedUpdater interface {
	// UnboundedUpdates reports whether one Update may be of any size.
	UnboundedUpdates() bool
}

// Unbounded reports whether db's one Update may hold any number of writes
// (see UnboundedUpdater).
func Unbounded(db DB) bool {
	u, ok := db.(UnboundedUpdater)
	return ok && u.UnboundedUpdates()
}

// UpdateUnsynced runs fn like db.Update but without waiting for the disk
// when db supports it (see UnsyncedUpdater); otherwise it is db.Update.
func UpdateUnsynced(db DB, fn func(Txn) error) error {
	if u, ok := db.(UnsyncedUpdater); ok {
		return u.UpdateUnsynced(fn)
	}
	return db.Update(fn)
}
