// Package query is the node's read model: the views of its chain, pool,
// miner and network that the JSON API serves and the block explorer shows.
// Both read through one Reader, so what a visitor sees is what a program
// gets. Nothing here changes the node's state.
//
// # Errors
//
// A view answers a *StatusError for a request that cannot be answered (a
// malformed id: 400, something unknown: 404). Classify maps any error,
// those and the chain's, mempool's and wallet's, to an HTTP status and a
// stable code: the one mapping the API and the explorer share.
package query

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/miner"
	"github.com/minichain/minichain/p2p"
)

// Miner is what the views read of the miner.
type Miner interface {
	Stats() miner.Stats
}

// Network is what the views read of the p2p host.
type Network interface {
	ID() peer.ID
	Addrs() []string
	Peers() []p2p.PeerInfo
	SyncInfo() p2p.SyncInfo
}

// Config is what a Reader reads.
type Config struct {
	Params *chain.Params
	Chain  *chain.Chain
	Pool   *mempool.Mempool
	Miner  Miner
	// Network is nil for a node without a network.
	Network Network
	// Version is the node's software version; Started when it started.
	Version string
	Started time.Time
}

// Reader builds the node's views. Safe for concurrent use: every view reads
// the components' own concurrency-safe methods.
type Reader struct {
	params  *chain.Params
	chain   *chain.Chain
	pool    *mempool.Mempool
	miner   Miner
	net     Network
	version string
	started time.Time
}

// New returns a Reader over cfg's components.
func New(cfg Config) *Reader {
	return &Reader{params: cfg.Params, chain: cfg.Chain, pool: cfg.Pool, miner: cfg.Miner,
		net: cfg.Network, version: cfg.Version, started: cfg.Started}
}

// Params returns the network's parameters.
func (r *Reader) Params() *chain.Params { return r.params }

// Chain returns the chain the views read, for readers that need more than
// the views (the explorer's pictures of the block tree).
func (r *Reader) Chain() *chain.Chain { return r.chain }

// Pool returns the transaction pool the views read.
func (r *Reader) Pool() *mempool.Mempool { return r.pool }

// Network returns the p2p host the views read, or nil.
func (r *Reader) Network() Network { return r.net }
