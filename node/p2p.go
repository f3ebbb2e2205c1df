package node

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/node/relay"
	"github.com/minichain/minichain/p2p"
)

// p2pHandler is how the network hands the node what peers send: the node
// validates, package relay turns the result into a verdict (the simulator
// calls the same rules), p2p acts on the verdict.
type p2pHandler struct{ n *Node }

var _ p2p.Handler = p2pHandler{}

// HandleBlock processes a block from a peer: gossiped, or asked for by our
// sync (p2p.Requested), which the chain's storage rule tells apart.
func (h p2pHandler) HandleBlock(ctx context.Context, from peer.ID, b *chain.Block) p2p.BlockOutcome {
	if h.n.chain.HaveBlock(b.BlockHash()) {
		return p2p.BlockOutcome{Verdict: p2p.Ignore}
	}
	res, err := h.n.SubmitBlockFrom(b, chain.BlockOrigin{Peer: from.String(), Requested: p2p.Requested(ctx)})
	out := relay.Block(res, err)
	if out.Verdict == p2p.Reject {
		h.n.log.Info("invalid block from peer", "peer", from.String(), "hash", b.BlockHash(), "err", err)
	}
	return out
}

// HandleTx processes a transaction from a peer.
func (h p2pHandler) HandleTx(ctx context.Context, from peer.ID, tx *chain.Tx) p2p.Verdict {
	res, err := h.n.SubmitTx(ctx, tx, false)
	return relay.Tx(res, err)
}

// PendingTxs serves a peer's mempool request.
func (h p2pHandler) PendingTxs() []*chain.Tx { return ledger{h.n}.pendingTxs() }

func (l ledger) pendingTxs() []*chain.Tx {
	txs, _ := l.PendingTxs()
	return txs
}

// announceBlock publishes a block this node mined.
func (n *Node) announceBlock(b *chain.Block) {
	if n.p2p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.p2p.PublishBlock(ctx, b); err != nil && !errors.Is(err, p2p.ErrNotRunning) {
		n.log.Warn("could not announce a block", "hash", b.BlockHash(), "err", err)
	}
}

// reannounceTxs offers the transactions a reorganisation returned to the
// pool to every peer directly: the network has seen them, so gossip would
// not carry them again.
func (n *Node) reannounceTxs(descs []*mempool.TxDesc) {
	if n.p2p == nil || len(descs) == 0 {
		return
	}
	txs := make([]*chain.Tx, len(descs))
	for i, d := range descs {
		txs[i] = d.Tx
	}
	n.p2p.PushTxs(txs)
}

// announceTxs publishes transactions this node accepted from its users.
func (n *Node) announceTxs(descs []*mempool.TxDesc) {
	if n.p2p == nil || len(descs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, d := range descs {
		if err := n.p2p.PublishTx(ctx, d.Tx); err != nil && !errors.Is(err, p2p.ErrNotRunning) {
			n.log.Warn("could not announce a transaction", "txid", d.TxID, "err", err)
		}
	}
}
