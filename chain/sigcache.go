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
type SigCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[32]byte]struct{}
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
	return &SigCache{max: max, entries: make(map[[32]byte]struct{})}
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
	if len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = struct{}{}
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
