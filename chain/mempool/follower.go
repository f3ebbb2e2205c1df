package mempool

import "github.com/minichain/minichain/chain"

// Follower keeps a pool in step with its chain. Feed it the chain's events in
// the order they were published: a connected block's transactions leave the
// pool (with what conflicts with them); a disconnected block's come back once
// the reorganisation is over, oldest block first, and the pool is then
// re-checked against the new tip. The node and the simulator both drive
// their pools with it, so what a simulated day exercises is the node's rule.
//
// A Follower is used by one goroutine: the one reading the subscription.
type Follower struct {
	pool  *Mempool
	readd []*chain.Tx // transactions of disconnected blocks, oldest block first
}

// NewFollower returns a follower for pool.
func NewFollower(pool *Mempool) *Follower { return &Follower{pool: pool} }

// Apply applies one chain event. On the TipChanged that ends a change of
// tip it returns the transactions that went back to the pool, which the
// network has seen before and which must be re-announced directly.
func (f *Follower) Apply(ev chain.Event) (back []*TxDesc) {
	switch ev.Type {
	case chain.BlockConnected:
		f.pool.RemoveConfirmed(ev.Block)
	case chain.BlockDisconnected:
		// Disconnects come tip first: prepend to keep block order.
		f.readd = append(append([]*chain.Tx(nil), ev.Block.Transactions[1:]...), f.readd...)
	case chain.TipChanged:
		if len(f.readd) > 0 {
			back = f.pool.Readd(f.readd)
			f.readd = nil
		}
		if ev.ReorgDepth > 0 {
			f.pool.Revalidate()
		}
	}
	return back
}

// Lagged resynchronises the pool after the subscription dropped events
// (chain.ErrLagged): what the lost events would have done is done by
// checking every pool transaction against the current tip. Transactions of
// blocks disconnected meanwhile are not recovered.
func (f *Follower) Lagged() {
	f.pool.Revalidate()
	f.readd = nil
}

// Pending reports how many transactions of disconnected blocks wait for the
// end of a reorganisation.
func (f *Follower) Pending() int { return len(f.readd) }
