// Package chain is minichain's consensus core: the block and transaction
// types and their canonical encoding, hashing, Merkle trees and proofs,
// compact targets, work and retargeting, the P2PKH script engine with its
// signature hash, the validation rules, the consensus parameters, and the
// stateful Chain that keeps the block index, chooses the branch with the most
// work and reorganises the UTXO set.
//
// # Pure rules and the stateful chain
//
// The rules are functions of their inputs and do no I/O: they take the
// parent block, a UTXO view, the parameters and the current time as
// arguments. Validation is split by the context it needs, as btcd does:
//
//	CheckTxSanity, CheckBlockSanity      nothing but the object
//	CheckBlockHeaderContext              the parent, the time
//	CheckTxInputs, ConnectBlock          a UTXO view of the chain extended
//
// Chain is the stateful part. Blocks enter through ProcessBlock only, mined
// locally or received from peers. It stores them through the small
// transactional interface of package chain/store (Badger on disk, or memory):
// block data is written as blocks arrive, and the chain state (UTXO set,
// indexes, tip) is kept in a write-back cache flushed in one atomic, synced
// write (statecache.go); the key layout is in chainio.go and
// docs/STORAGE.md. A reorganisation is validated in full
// against layered scratch UTXO views before anything stored changes.
//
// # Errors
//
// Rule violations and decoding failures are *RuleError values carrying an
// ErrorKind; test them with errors.Is:
//
//	if errors.Is(err, chain.ErrDoubleSpend) { ... }
//
// Other errors are sentinels (ErrBlockNotFound, ErrTxNotFound, ErrCorrupt)
// wrapped with %w. A broken internal invariant is an AssertError.
//
// # Concurrency
//
// The pure functions are safe for concurrent use. Chain's methods are safe
// for concurrent use; BestSnapshot needs no lock at all. Chain starts no
// goroutines of its own, except that ConnectBlock verifies one block's
// scripts on several goroutines and waits for them.
package chain
