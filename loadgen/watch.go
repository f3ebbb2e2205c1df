package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/minichain/minichain/chain"
)

// watch follows the first node's tip and marks transfers confirmed when a
// block holding them appears.
func (g *Generator) watch(ctx context.Context, seen int32) {
	c := g.clients[0]
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		st, err := c.Status(cctx)
		cancel()
		if err != nil {
			continue // a slow answer: try at the next tick
		}
		for h := seen + 1; h <= st.Height && ctx.Err() == nil; h++ {
			cctx, cancel := context.WithTimeout(ctx, requestTimeout)
			b, err := c.Block(cctx, fmt.Sprint(h))
			cancel()
			if err != nil {
				break
			}
			now := time.Now()
			g.mu.Lock()
			for _, tx := range b.Transactions {
				if id, err := chain.ParseHash(tx.TxID); err == nil {
					if s := g.txs[id]; s != nil && s.confirmed.IsZero() {
						s.confirmed = now
					}
				}
			}
			g.mu.Unlock()
			seen = h
		}
	}
}

// waitConfirmed waits until every accepted transfer was seen in a block,
// or d passes.
func (g *Generator) waitConfirmed(ctx context.Context, d time.Duration) {
	deadline := time.After(d)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		g.mu.Lock()
		pending := 0
		for _, s := range g.order {
			if s.confirmed.IsZero() {
				pending++
			}
		}
		g.mu.Unlock()
		if pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}
