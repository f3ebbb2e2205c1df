package chain

import (
	"fmt"

	"github.com/minichain/minichain/chain/store"
)

// Flush writes the chain-state cache to the store in one durable, atomic
// write (see statecache.go). The chain flushes by itself when the cache
// is full; call Flush on a timer, before shutting down and before reading
// the store directly. Safe for concurrent use.
func (c *Chain) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sc.flush(c.tip())
}

// CacheStats returns the chain-state cache's size, hit rate and last
// flush. Safe for concurrent use.
func (c *Chain) CacheStats() CacheStats { return c.sc.stats() }

// unusableBlockError says that a stored block's body is missing or does
// not decode, so the block cannot be connected: the store lost it (a power
// loss can drop unsynced writes) or it was damaged.
type unusableBlockError struct {
	node *blockNode
	err  error
}

func (e *unusableBlockError) Error() string {
	return fmt.Sprintf("stored block %s at height %d is unusable: %v", e.node.hash, e.node.height, e.err)
}

func (e *unusableBlockError) Unwrap() error { return e.err }

// forgetBlock removes n, whose stored body is unusable (why), and its
// descendants from the index and the store, so that they count as never
// received and can be downloaded again. n is not on the main chain (it was
// being connected), so the chain and its state lose nothing. Called with
// mu held.
func (c *Chain) forgetBlock(n *blockNode, why error) error {
	gone := []*blockNode{n}
	for i := 0; i < len(gone); i++ {
		gone = append(gone, gone[i].children...)
	}
	c.log.Error("a stored block cannot be read (lost by a power failure or damaged); forgetting it and its descendants so they are downloaded again",
		"hash", n.hash, "height", n.height, "descendants", len(gone)-1, "err", why)
	err := c.db.Update(func(t store.Txn) error {
		for _, m := range gone {
			for _, p := range []byte{prefixIndex, prefixBlock, prefixUndo} {
				if err := t.Delete(hashKey(p, m.hash)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget unusable block %s: %w", n.hash, err)
	}
	for _, m := range gone {
		delete(c.index, m.hash)
		delete(c.candidates, m)
	}
	p := n.parent
	for i, k := range p.children {
		if k == n {
			p.children = append(p.children[:i], p.children[i+1:]...)
			break
		}
	}
	return nil
}
