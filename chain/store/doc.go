// Package store is the key-value storage under the chain: a small
// transactional interface (View for reads, Update for an atomic batch of
// writes) with two implementations, Badger on disk and a map in memory.
//
// The package knows nothing of blocks or transactions; the chain package owns
// the key schema (see chain/chainio.go and docs/STORAGE.md).
//
// # Errors
//
// Get returns ErrNotFound for a missing key. An Update whose function returns
// an error writes nothing.
package store
