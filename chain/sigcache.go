package chain

import (
	"crypto/sha256"
	"sync"
)

// SigCache remembers signatures that verified, so a transaction checked when
// it entered the mempool is not checked again when its block connects (as
// btcd's and Bitcoin Core's signature caches do). An entry is the SHA-256 of
// the signature hash, the signature and the public key: the signature hash
// commits to the transaction, the input, the amount and the script code, so
// a hit means exactly this check passed before. Only successes are stored.
//
// The cache holds at most its size in entries; when full, adding one evicts
// an arbitrary entry. Which one is evicted never changes a verdict, only
// whether it is computed again. A nil *SigCache caches nothing. Safe for
// concurrent use.
//
// It also remembers whole transactions whose every script passed (as
// Bitcoin Core's script execution cache does), so a block's transactions
// that the mempool checked skip the script engine and their signature
// hashes altogether: see ScriptsVerified.
type SigCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[32]byte]struct{}
	txs     map[Hash]struct{} // transactions whose scripts all passed
}

// DefaultSigCacheSize is the number of entries a node's cache holds: about
// 6 MiB.
const DefaultSigCacheSize = 100_000

// NewSigCache returns a cache of at most max entries (max <= 0: the
// default).
func NewSigCache(max int) *SigCache {
	if max <= 0 {
		max = DefaultSigCacheSize
	}
	return &SigCache{max: max, entries: make(map[[32]byte]struct{}), txs: make(map[Hash]struct{})}
}

// ScriptsVerified reports whether every input script of transaction txid
// was seen to pass. That is a function of the txid alone: the txid commits
// to each input's outpoint and signature script, each outpoint to the
// output it spends (its transaction's id commits to that output's script
// and amount), txids are unique (BIP34's coinbase heights), and minichain's
// script rules do not change with height or context. Whether those outputs
// are still unspent is not part of it: callers check that themselves.
func (c *SigCache) ScriptsVerified(txid Hash) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	_, ok := c.txs[txid]
	c.mu.RUnlock()
	return ok
}

// AddScriptsVerified records that every input script of transaction txid
// passed. The transactions share the cache's bound with the signatures.
func (c *SigCache) AddScriptsVerified(txid Hash) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	addBounded(c.txs, c.max, txid)
}

func sigCacheKey(digest Hash, sig, pub []byte) [32]byte {
	h := sha256.New()
	h.Write(digest[:])
	h.Write([]byte{byte(len(sig))})
	h.Write(sig)
	h.Write(pub)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// has reports whether the check was seen to pass.
func (c *SigCache) has(k [32]byte) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	_, ok := c.entries[k]
	c.mu.RUnlock()
	return ok
}

// add records a check that passed.
func (c *SigCache) add(k [32]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	addBounded(c.entries, c.max, k)
}

// addBounded adds k to the set m, first evicting an arbitrary entry when m
// holds max already.
func addBounded[K comparable](m map[K]struct{}, max int, k K) {
	if len(m) >= max {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[k] = struct{}{}
}

// Len returns the number of entries.
func (c *SigCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
