package chain

import (
	"errors"
	"fmt"
	"slices"

	"github.com/minichain/minichain/chain/store"
)

// Fork choice: the chain follows the valid branch with the most cumulative
// work. Candidates are the stored blocks with more work than the tip; the
// best one is activated by a reorganisation that is validated whole before
// anything is written.

// bestCandidate returns the valid block with the most work among the
// candidates, or nil.
func (c *Chain) bestCandidate() *blockNode {
	var best *blockNode
	for n := range c.candidates {
		if n.status.invalid() {
			delete(c.candidates, n)
			continue
		}
		if best == nil || moreWork(n, best) {
			best = n
		}
	}
	return best
}

// activateBestChain moves the main chain to the candidate with the most
// work, trying the next best when a branch turns out invalid. The current
// tip stays when no candidate has strictly more work (first seen wins a tie).
// It returns the rule violations it found, by block, and the first failure
// that was not a rule violation (the store could not read or write a
// branch). Such a branch is set aside (deferred) rather than tried again
// with every new block; the next start tries it again. Called with mu held.
func (c *Chain) activateBestChain(cache map[Hash]blockData) (map[Hash]error, error) {
	var (
		failures map[Hash]error
		firstErr error
	)
	for {
		cand := c.bestCandidate()
		if cand == nil || cand.workSum.Cmp(c.tip().workSum) <= 0 {
			return failures, firstErr
		}
		err := c.reorganize(c.nextTarget(cand), cache)
		var (
			bf *blockFailure
			ub *unusableBlockError
		)
		switch {
		case err == nil:
		case errors.As(err, &ub):
			if ferr := c.forgetBlock(ub.node, ub.err); ferr != nil && firstErr == nil {
				firstErr = ferr
			}
		case errors.As(err, &bf):
			// The failing block is marked; look for the next best branch.
			if failures == nil {
				failures = make(map[Hash]error)
			}
			failures[bf.node.hash] = bf.err
		default:
			c.log.Error("could not switch to a branch with more work; it is set aside until the next start",
				"tip", cand.hash, "height", cand.height, "err", err)
			c.deferBranch(cand)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
}

// maxConnectBatch bounds how many blocks one reorganisation connects. A
// reorganisation is validated whole in layered views before it is written,
// and a lookup may walk every layer, so a long extension (the blocks after
// the last flush, reconnected at open) is connected a batch at a time.
const maxConnectBatch = 256

// nextTarget returns cand, or when cand extends the tip by more than
// maxConnectBatch blocks, its ancestor that many blocks above the tip.
// Called with mu held.
func (c *Chain) nextTarget(cand *blockNode) *blockNode {
	tip := c.tip()
	if cand.height-tip.height > maxConnectBatch && cand.ancestor(tip.height) == tip {
		return cand.ancestor(tip.height + maxConnectBatch)
	}
	return cand
}

// deferBranch sets aside the branch leading to target, from the block after
// its fork with the main chain: it and its descendants are no longer
// candidates, and blocks that extend them become none, until the next start
// clears the mark (it is never stored). Called with mu held.
func (c *Chain) deferBranch(target *blockNode) {
	first := target
	for first.parent != nil && !c.isMain(first.parent) {
		first = first.parent
	}
	queue := []*blockNode{first}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		n.status |= statusDeferred
		delete(c.candidates, n)
		queue = append(queue, n.children...)
	}
}

// step is one block of a reorganisation: its data and the UTXO view layer
// holding exactly its changes.
type step struct {
	node    *blockNode
	block   *Block
	txids   []Hash
	undo    []SpentOutput
	view    *UtxoView
	connect bool
}

// blockFailure carries the block that broke a rule out of the validation
// pass.
type blockFailure struct {
	node *blockNode
	err  error
}

func (f *blockFailure) Error() string { return f.err.Error() }
func (f *blockFailure) Unwrap() error { return f.err }

// reorganize makes target the tip. It first validates the whole move against
// layered scratch views (disconnecting back to the fork, then connecting the
// new branch) without changing anything stored; only if every block passes
// does it write, one atomic write per block. A block that fails is marked
// invalid with its descendants and the tip stays where it was. Called with mu
// held.
func (c *Chain) reorganize(target *blockNode, cache map[Hash]blockData) error {
	oldTip := c.tip()
	fork := findFork(oldTip, target)
	var detach, attach []*blockNode
	for n := oldTip; n != fork; n = n.parent {
		detach = append(detach, n)
	}
	for n := target; n != fork; n = n.parent {
		attach = append(attach, n)
	}
	slices.Reverse(attach)

	steps, err := c.validateReorg(detach, attach, cache)
	var bf *blockFailure
	if errors.As(err, &bf) {
		var re *RuleError
		if !errors.As(bf.err, &re) {
			return bf.err // not a rule violation: nothing is known to be invalid
		}
		c.log.Warn("invalid block", "hash", bf.node.hash, "height", bf.node.height, "err", bf.err)
		if merr := c.markInvalid(bf.node); merr != nil {
			return merr
		}
		return bf
	}
	if err != nil {
		return err
	}
	if err := c.writeReorg(steps, len(detach)); err != nil {
		return err
	}

	c.main = c.main[:fork.height+1]
	c.main = append(c.main, attach...)
	c.updateBest()
	for n := range c.candidates {
		if n.workSum.Cmp(target.workSum) <= 0 {
			delete(c.candidates, n)
		}
	}
	c.pending = append(c.pending, Event{Type: TipChanged, Hash: target.hash, Height: target.height, ReorgDepth: len(detach)})
	if len(detach) > 0 {
		c.log.Info("reorganized", "depth", len(detach), "fork", fork.height, "old_tip", oldTip.hash, "new_tip", target.hash, "height", target.height)
	}
	return nil
}

// validateReorg runs a reorganisation against layered scratch views of the
// stored UTXO set: the blocks to detach (tip first), then those to attach
// (lowest first), each in its own layer. It changes nothing stored. A block
// that fails to connect comes back as a *blockFailure. Called with mu held.
func (c *Chain) validateReorg(detach, attach []*blockNode, cache map[Hash]blockData) ([]step, error) {
	var steps []step
	err := c.sc.view(func(t store.Txn) error {
		var source UtxoSource = dbUtxoSource{t}
		for _, n := range detach {
			blk, txids, err := c.blockFromCacheOrStore(t, n.hash, cache)
			if err != nil {
				return err
			}
			undo, err := loadUndo(t, n.hash)
			if err != nil {
				return err
			}
			view := NewUtxoView(source)
			if err := view.DisconnectBlock(blk, txids, undo); err != nil {
				return err
			}
			steps = append(steps, step{node: n, block: blk, txids: txids, undo: undo, view: view})
			source = view
		}
		for _, n := range attach {
			blk, txids, err := c.blockFromCacheOrStore(t, n.hash, cache)
			if errors.Is(err, ErrBlockNotFound) || errors.Is(err, ErrCorrupt) {
				return &unusableBlockError{node: n, err: err}
			}
			if err != nil {
				return err
			}
			view := NewUtxoView(source)
			undo, err := ConnectBlock(blk, txids, n.height, CalcPastMedianTime(n.parent), view, c.params, c.connOpts)
			if err != nil {
				return &blockFailure{node: n, err: err}
			}
			steps = append(steps, step{node: n, block: blk, txids: txids, undo: undo, view: view, connect: true})
			source = view
		}
		return nil
	})
	return steps, err
}

// writeReorg writes a validated reorganisation, one atomic write per block,
// and queues an event for each. If a write fails, memory is reloaded from
// the stored tip and, when some blocks were written, subscribers are told
// the tip the store holds. detached is how many steps disconnect. Called
// with mu held.
func (c *Chain) writeReorg(steps []step, detached int) error {
	for i := range steps {
		s := &steps[i]
		var err error
		if s.connect {
			err = store.UpdateUnsynced(c.db, func(t store.Txn) error { return writeConnectBlock(t, s.node, s.undo) })
		}
		if err == nil {
			err = c.sc.apply(func(t store.Txn) error {
				if s.connect {
					return writeConnectState(t, s.node, s.block, s.txids, s.undo, s.view)
				}
				return writeDisconnect(t, s.node, s.block, s.txids, s.undo, s.view)
			})
		}
		if err != nil {
			werr := fmt.Errorf("write block %s: %w", s.node.hash, err)
			if rerr := c.reloadMainChain(); rerr != nil {
				return fmt.Errorf("%w (and reload failed: %v)", werr, rerr)
			}
			if i > 0 {
				tip := c.tip()
				c.pending = append(c.pending, Event{Type: TipChanged, Hash: tip.hash, Height: tip.height, ReorgDepth: min(i, detached)})
			}
			return werr
		}
		typ := BlockDisconnected
		if s.connect {
			s.node.status |= statusValid
			typ = BlockConnected
		}
		c.pending = append(c.pending, Event{Type: typ, Hash: s.node.hash, Height: s.node.height, Block: s.block})
	}
	if c.sc.full() {
		// The blocks are connected either way; a failed flush keeps the
		// cache and is retried after the next block.
		tip := steps[len(steps)-1].node
		if !steps[len(steps)-1].connect {
			tip = tip.parent
		}
		if err := c.sc.flush(tip); err != nil {
			c.log.Error("could not flush the chain-state cache; will retry", "err", err)
		}
	}
	return nil
}

func (c *Chain) blockFromCacheOrStore(t store.Txn, h Hash, cache map[Hash]blockData) (*Block, []Hash, error) {
	if d, ok := cache[h]; ok {
		if d.txids == nil {
			d.txids = d.block.TxHashes()
		}
		return d.block, d.txids, nil
	}
	blk, err := c.loadBlock(t, h)
	if err != nil {
		return nil, nil, err
	}
	return blk, blk.TxHashes(), nil
}

// markInvalid marks n failed and its descendants invalid, stores the new
// statuses and recomputes the candidates. Called with mu held.
func (c *Chain) markInvalid(n *blockNode) error {
	changed := []*blockNode{n}
	status := map[*blockNode]blockStatus{n: n.status | statusFailed}
	for i := 0; i < len(changed); i++ {
		for _, k := range changed[i].children {
			status[k] = k.status | statusInvalidAncestor
			changed = append(changed, k)
		}
	}
	err := c.db.Update(func(t store.Txn) error {
		for _, m := range changed {
			if err := t.Set(hashKey(prefixIndex, m.hash), encodeIndexRecord(m, status[m])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store invalid status of %s: %w", n.hash, err)
	}
	for _, m := range changed {
		m.status = status[m]
	}
	c.rebuildCandidates()
	return nil
}

// rebuildCandidates collects every valid block with more work than the tip.
// Called with mu held.
func (c *Chain) rebuildCandidates() {
	tipWork := c.tip().workSum
	c.candidates = make(map[*blockNode]struct{})
	for _, n := range c.index {
		if !n.status.invalid() && n.status&statusDeferred == 0 && n.workSum.Cmp(tipWork) > 0 {
			c.candidates[n] = struct{}{}
		}
	}
}
