package p2p

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minichain/minichain/chain"
)

// Chain is what the network reads of the chain: enough to report status and
// to serve and drive sync. *chain.Chain implements it.
type Chain interface {
	BestSnapshot() *chain.BestState
	BlockLocator() []chain.Hash
	LocateHeaders(locator []chain.Hash, stop chain.Hash, max int) []chain.Header
	BlockByHash(h chain.Hash) (*chain.Block, error)
	HaveBlock(h chain.Hash) bool
	// BlockInfo tells the height and cumulative work of a block in the
	// index: what sync needs to weigh the headers a peer serves.
	BlockInfo(h chain.Hash) (chain.BlockInfo, error)
}

var _ Chain = (*chain.Chain)(nil)

// Verdict is what the node makes of a message from a peer.
type Verdict int

// Verdicts, as gossipsub's: Accept relays the message; Ignore drops it
// without blame (a duplicate, an orphan, something not checkable yet or
// against local policy); Reject drops it and scores the sender down.
const (
	Accept Verdict = iota
	Ignore
	Reject
)

var verdictNames = [...]string{"accept", "ignore", "reject"}

// String names the verdict for logs and metrics.
func (v Verdict) String() string { return verdictNames[v] }

// BlockOutcome is what the node made of a block from a peer.
type BlockOutcome struct {
	Verdict Verdict
	// Missing is set when the block's parent is unknown: the network
	// fetches the chain up to it from the sender.
	Missing *chain.Hash
	// Refetch is set when the block's header is valid but its body is not:
	// the real block may exist under the same hash, so it is fetched from
	// other peers.
	Refetch bool
}

// Handler processes what peers send. The node implements it; it decides
// validity (the verdict), the network decides what a fault costs the
// sender (penalty.go).
type Handler interface {
	// HandleBlock processes a block from a peer: gossiped, or asked for by
	// our sync, which Requested(ctx) tells.
	HandleBlock(ctx context.Context, from peer.ID, b *chain.Block) BlockOutcome
	// HandleTx processes a transaction from a peer.
	HandleTx(ctx context.Context, from peer.ID, tx *chain.Tx) Verdict
	// PendingTxs returns the pool's transactions, to serve a peer's
	// mempool request.
	PendingTxs() []*chain.Tx
}

// requestedKey marks the context of blocks our own sync asked for.
type requestedKey struct{}

func withRequested(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestedKey{}, true)
}

// Requested reports whether the block handed to HandleBlock with ctx was
// asked for by our sync (headers-first download, a fetch by hash) rather
// than gossiped: the chain stores an unrequested block only when its branch
// could become the best chain.
func Requested(ctx context.Context) bool {
	v, _ := ctx.Value(requestedKey{}).(bool)
	return v
}

// Config configures a Host.
type Config struct {
	// Params is the network; its genesis hash names every protocol and
	// topic. Required.
	Params *chain.Params
	// Chain and Handler connect the network to the node. Required.
	Chain   Chain
	Handler Handler
	// KeyFile holds the node's identity key: read when it exists, created
	// (mode 0600) when it does not. Required.
	KeyFile string
	// ListenAddrs are the multiaddrs to listen on (default
	// /ip4/0.0.0.0/tcp/4001).
	ListenAddrs []string
	// Bootstrap are peers to join the network through, as multiaddrs with
	// /p2p/<id> (/dns4/... allowed). They are retried until they answer.
	Bootstrap []string
	// TargetPeers is the peer count discovery keeps up (default 8);
	// MaxPeers the count above which the connection manager trims
	// (default 32).
	TargetPeers int
	MaxPeers    int
	// StatusInterval is how often peers' chain status is polled (default
	// 15 s); new connections are asked at once.
	StatusInterval time.Duration
	// MaxInboundPerIP and MaxInboundPerSubnet limit inbound connections
	// from one address and from one /16 (IPv4) or /32 (IPv6) subnet
	// (defaults 4 and 8); conns.go says which addresses are exempt.
	// Inbound connections in all are limited to MaxPeers - TargetPeers.
	MaxInboundPerIP     int
	MaxInboundPerSubnet int
	// BanDuration is how long a misbehaving peer is first refused
	// (default 10 min); each further ban within a day doubles it, up to a
	// day.
	BanDuration time.Duration
	// PeersFile is the address book: peers remembered across restarts
	// (a node keeps it in <datadir>/peers.json). Empty keeps them in
	// memory only.
	PeersFile string
	// RequestTimeout bounds one sync request/response exchange (default
	// 20 s); a peer that does not answer within it is dropped.
	RequestTimeout time.Duration
	// UserAgent names the software in identify.
	UserAgent string
	// Logger receives the network's log lines (default: discard).
	Logger *slog.Logger
	// Registerer receives the network's Prometheus series (optional).
	Registerer prometheus.Registerer
	// HostOptions are appended to the libp2p options the host is built
	// with. Tests use them to run the real stack over a simulated network
	// (x/simlibp2p's QUIC transport over simnet, in virtual time); a node
	// has no need of them.
	HostOptions []libp2p.Option
}

// Defaults.
const (
	DefaultListenAddr = "/ip4/0.0.0.0/tcp/4001"
	defaultTarget     = 8
	defaultMax        = 32
)

func (c *Config) setDefaults() error {
	if c.Params == nil || c.Chain == nil || c.Handler == nil || c.KeyFile == "" {
		return errors.New("p2p: Params, Chain, Handler and KeyFile are required")
	}
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = []string{DefaultListenAddr}
	}
	if c.TargetPeers <= 0 {
		c.TargetPeers = defaultTarget
	}
	if c.MaxPeers < c.TargetPeers {
		c.MaxPeers = max(defaultMax, 2*c.TargetPeers)
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 15 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 20 * time.Second
	}
	if c.MaxInboundPerIP <= 0 {
		c.MaxInboundPerIP = defaultPerIP
	}
	if c.MaxInboundPerSubnet <= 0 {
		c.MaxInboundPerSubnet = defaultPerSubnet
	}
	if c.BanDuration <= 0 {
		c.BanDuration = 10 * time.Minute
	}
	if c.UserAgent == "" {
		c.UserAgent = "minichain"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// names derives every protocol and topic name from the genesis hash, so
// networks with different genesis blocks never mix.
type names struct {
	dhtPrefix  string // kad protocol is <prefix>/kad/1.0.0
	sync       string
	blockTopic string
	txTopic    string
	rendezvous string
}

func namesFor(p *chain.Params) names {
	g := p.GenesisHash.String()
	return names{
		dhtPrefix:  "/minichain/" + g,
		sync:       "/minichain/" + g + "/sync/1.0.0",
		blockTopic: "/minichain/" + g + "/block/1",
		txTopic:    "/minichain/" + g + "/tx/1",
		rendezvous: "minichain/" + g + "/peers",
	}
}

// Topics returns the gossip topic names of a network: NEW_BLOCK and
// NEW_TX. Both carry the genesis hash.
func Topics(p *chain.Params) (block, tx string) {
	n := namesFor(p)
	return n.blockTopic, n.txTopic
}

// MaxMessageSize is the gossip message limit of a network: its maximum
// block size plus room for the envelope.
func MaxMessageSize(p *chain.Params) int { return p.MaxBlockSize + 64<<10 }

// SyncProtocol returns the sync protocol's ID on a network.
func SyncProtocol(p *chain.Params) string { return namesFor(p).sync }
