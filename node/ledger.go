package node

import (
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/wallet"
)

// ledger is the node's implementation of wallet.Ledger over its own chain
// and mempool.
type ledger struct{ n *Node }

var _ wallet.Ledger = ledger{}

func (l ledger) TipHeight() (int32, error) { return l.n.chain.BestSnapshot().Height, nil }

func (l ledger) AddressUtxos(pkh [20]byte) ([]chain.AddressUtxo, error) {
	return l.n.chain.AddressUtxos(pkh)
}

func (l ledger) AddressHistory(pkh [20]byte) ([]chain.AddressTx, error) {
	return l.n.chain.AddressHistory(pkh)
}

func (l ledger) PendingTxs() ([]*chain.Tx, error) {
	descs := l.n.mempool.Ordered()
	out := make([]*chain.Tx, len(descs))
	for i, d := range descs {
		out[i] = d.Tx
	}
	return out, nil
}
