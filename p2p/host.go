package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/minichain/minichain/chain"
)

// Errors.
var (
	// ErrNotRunning is returned by calls that need Run to be running.
	ErrNotRunning = errors.New("p2p: not running")
	// ErrTooLarge is returned by Publish for a message over the limit.
	ErrTooLarge = errors.New("p2p: message too large to publish")
)

// Host is the node's presence on the network.
//
// Fields set by New never change; the ones set by Run are guarded by mu.
type Host struct {
	cfg       Config
	names     names
	log       *slog.Logger
	h         host.Host
	gater     *gater
	penalties *penalties    // what offences cost, and the ban list
	limiter   *rateLimiter  // the sync server's per-peer rate limits
	pacer     *pacer        // keeps our own requests within others' limits
	served    *servedLog    // peers that delivered us something valid
	book      *addrBook     // peers remembered across restarts
	poolSem   chan struct{} // one mempool download at a time
	metrics   *metrics
	bootstrap []peer.AddrInfo
	sync      *syncer
	pushQ     chan []*chain.Tx // re-announcements for pushLoop

	mu         sync.Mutex
	running    bool
	runCtx     context.Context // Run's context while it runs
	blockTopic *pubsub.Topic
	txTopic    *pubsub.Topic
}

// Connection-manager protection tags of peers that keep their slot.
const (
	tagBootstrap = "bootstrap"
	tagUser      = "user"
	tagServed    = "minichain-served" // a value tag: peers that delivered us something
)

// New creates the libp2p host, listening at once, with the identity in
// cfg.KeyFile. Discovery, gossip and sync start with Run.
func New(cfg Config) (*Host, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	key, err := LoadOrCreateKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	boot, err := ParseBootstrap(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	hst := &Host{cfg: cfg, names: namesFor(cfg.Params), log: cfg.Logger, bootstrap: boot,
		penalties: newPenalties(cfg.BanDuration), limiter: newRateLimiter(), pacer: newPacer(),
		served: newServedLog(), poolSem: make(chan struct{}, 1),
		metrics: newMetrics(cfg.Registerer), pushQ: make(chan []*chain.Tx, 64)}
	hst.book, err = loadAddrBook(cfg.PeersFile)
	if err != nil {
		hst.log.Warn("address book", "err", err)
	}
	// The connection manager trims only above MaxPeers and a margin: the
	// gater keeps inbound connections within their limits, so trimming
	// (which cannot tell an attacker that joined the gossip mesh from an
	// honest peer) is a last resort.
	cm, err := connmgr.NewConnManager(cfg.MaxPeers, cfg.MaxPeers+max(4, cfg.MaxPeers/4),
		connmgr.WithGracePeriod(connGrace))
	if err != nil {
		return nil, err
	}
	hst.gater = newGater(hst.penalties, connLimits{maxInbound: max(1, cfg.MaxPeers-cfg.TargetPeers),
		perIP: cfg.MaxInboundPerIP, perSubnet: cfg.MaxInboundPerSubnet},
		func(p peer.ID) bool {
			return cm.IsProtected(p, tagBootstrap) || cm.IsProtected(p, tagUser) || hst.served.recently(p, time.Now())
		})
	rm, err := newResourceManager(hst.names.sync)
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.NoListenAddrs, // listenEach below, address by address
		transports(),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(hst.gater),
		libp2p.UserAgent(cfg.UserAgent),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.AddrsFactory(preferNonLoopback),
	}
	hst.h, err = libp2p.New(append(opts, cfg.HostOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	if err := listenEach(hst.h, cfg.ListenAddrs); err != nil {
		hst.h.Close()
		return nil, err
	}
	hst.gater.attach(hst.h.Network())
	for _, b := range boot {
		hst.h.ConnManager().Protect(b.ID, tagBootstrap)
		hst.h.Peerstore().AddAddrs(b.ID, b.Addrs, time.Hour)
	}
	hst.sync = newSyncer(hst)
	hst.h.SetStreamHandler(protocol.ID(hst.names.sync), hst.handleStream)
	hst.metrics.peersFunc(func() float64 { return float64(len(hst.h.Network().Peers())) })
	return hst, nil
}

// connGrace is how long a new connection is safe from the connection
// manager's trimming.
const connGrace = 20 * time.Second

// ParseBootstrap parses bootstrap multiaddrs, which must name the peer
// (/p2p/<id>); /dns4 and /dns6 addresses are resolved when dialled.
func ParseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q must end in /p2p/<peer id>: %w", s, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}

// preferNonLoopback drops loopback addresses when the host has others, so
// peers are not told to dial 127.0.0.1; a host listening on loopback only
// keeps them (tests, a single machine).
func preferNonLoopback(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if !manet.IsIPLoopback(a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return addrs
	}
	return out
}

// ID returns the node's peer ID.
func (hst *Host) ID() peer.ID { return hst.h.ID() }

// Addrs returns the node's full multiaddrs, /p2p/<id> included: what
// another node is given as --bootstrap.
func (hst *Host) Addrs() []string {
	suffix, _ := ma.NewMultiaddr("/p2p/" + hst.h.ID().String())
	var out []string
	for _, a := range hst.h.Addrs() {
		out = append(out, a.Encapsulate(suffix).String())
	}
	sort.Strings(out)
	return out
}

// Run starts the DHT, discovery, gossip and sync, and runs them until ctx
// ends; then it closes the host. It returns after every goroutine it
// started has stopped.
func (hst *Host) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer hst.h.Close()
	d, err := dht.New(ctx, hst.h, dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(protocol.ID(hst.names.dhtPrefix)), dht.BootstrapPeers(hst.bootstrap...))
	if err != nil {
		return fmt.Errorf("start DHT: %w", err)
	}
	defer d.Close()
	if err := hst.startGossip(ctx); err != nil {
		return err
	}
	hst.mu.Lock()
	hst.running, hst.runCtx = true, ctx
	hst.mu.Unlock()
	defer func() {
		hst.mu.Lock()
		hst.running, hst.runCtx = false, nil
		hst.mu.Unlock()
	}()
	notifee := &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			hst.gater.connected(c.RemotePeer())
			hst.sync.peerConnected(c.RemotePeer())
		},
		DisconnectedF: func(_ network.Network, c network.Conn) { hst.sync.peerDisconnected(c.RemotePeer()) },
	}
	hst.h.Network().Notify(notifee)
	defer hst.h.Network().StopNotify(notifee)

	var wg sync.WaitGroup
	for _, f := range []func(context.Context){hst.bootstrapLoop, hst.bookLoop, hst.sync.run, hst.pushLoop,
		func(ctx context.Context) { hst.discoveryLoop(ctx, d) },
		func(ctx context.Context) { hst.readLoop(ctx, hst.blockTopic) },
		func(ctx context.Context) { hst.readLoop(ctx, hst.txTopic) }} {
		wg.Go(func() { f(ctx) })
	}
	hst.log.Info("p2p running", "peer_id", hst.h.ID().String(), "addrs", hst.Addrs(), "bootstrap", len(hst.bootstrap))
	// Peers already connected (a bootstrap dial may have raced Run) get a
	// status exchange too.
	for _, p := range hst.h.Network().Peers() {
		hst.sync.peerConnected(p)
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Connect dials a peer given as a full multiaddr (the seeds' add_peer).
func (hst *Host) Connect(ctx context.Context, addr string) (PeerInfo, error) {
	infos, err := ParseBootstrap([]string{addr})
	if err != nil {
		return PeerInfo{}, err
	}
	ai := infos[0]
	if ai.ID == hst.h.ID() {
		return PeerInfo{}, errors.New("that is this node's own address")
	}
	hst.penalties.unban(ai.ID)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := hst.h.Connect(network.WithForceDirectDial(ctx, "user request"), ai); err != nil {
		return PeerInfo{}, fmt.Errorf("connect to %s: %w", addr, err)
	}
	hst.h.ConnManager().Protect(ai.ID, tagUser)
	for _, p := range hst.Peers() {
		if p.ID == ai.ID.String() {
			return p, nil
		}
	}
	return PeerInfo{ID: ai.ID.String()}, nil
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID         string
	Addrs      []string
	Direction  string // inbound or outbound
	Latency    time.Duration
	BestHeight int32 // from its last status; -1 before the first
	UserAgent  string
}

// Peers lists the connected peers.
func (hst *Host) Peers() []PeerInfo {
	var out []PeerInfo
	for _, p := range hst.h.Network().Peers() {
		conns := hst.h.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		info := PeerInfo{ID: p.String(), Direction: conns[0].Stat().Direction.String(),
			Latency: hst.h.Peerstore().LatencyEWMA(p), BestHeight: hst.sync.peerHeight(p)}
		for _, c := range conns {
			info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
		}
		if av, err := hst.h.Peerstore().Get(p, "AgentVersion"); err == nil {
			info.UserAgent, _ = av.(string)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// BanPeer disconnects a peer and refuses it for d (setban); zero d means
// the escalated duration its record calls for. The node bans peers whose
// offences reach the threshold (penalise); operators and tests may too.
func (hst *Host) BanPeer(p peer.ID, d time.Duration, why string) {
	hst.dropBanned(p, hst.penalties.ban(p, d), why)
}

// UnbanPeer lifts a ban and forgets the peer's offences.
func (hst *Host) UnbanPeer(p peer.ID) { hst.penalties.unban(p) }

// Banned reports whether a peer is banned now.
func (hst *Host) Banned(p peer.ID) bool { return hst.penalties.banned(p) }

// penalise charges p with an offence, and bans it when its score reaches
// the threshold.
func (hst *Host) penalise(p peer.ID, o Offence, why string) {
	if p == "" || p == hst.h.ID() {
		return
	}
	score, ban := hst.penalties.add(p, o)
	hst.metrics.offences.WithLabelValues(o.String()).Inc()
	hst.log.Info("peer misbehaved", "peer", p.String(), "offence", o.String(), "score", fmt.Sprintf("%.0f", score), "why", why)
	if ban > 0 {
		hst.dropBanned(p, ban, fmt.Sprintf("%s: %s", o, why))
	}
}

func (hst *Host) dropBanned(p peer.ID, d time.Duration, why string) {
	hst.metrics.bans.Inc()
	hst.book.forget(p)
	hst.log.Warn("peer banned", "peer", p.String(), "for", d, "why", why)
	_ = hst.h.Network().ClosePeer(p)
}

// servedUs records that p delivered a valid block or transaction first:
// it keeps its connection slot and rises in the address book.
func (hst *Host) servedUs(p peer.ID) {
	if p == hst.h.ID() {
		return
	}
	hst.served.mark(p, time.Now())
	hst.book.good(p)
	hst.h.ConnManager().TagPeer(p, tagServed, 20)
}

// remember records a peer of this network in the address book with the
// addresses it can be dialled at: those of an outbound connection, and
// what identify told, but not the ephemeral source port of an inbound one.
func (hst *Host) remember(p peer.ID) {
	inboundFrom := map[string]bool{}
	var addrs []ma.Multiaddr
	for _, c := range hst.h.Network().ConnsToPeer(p) {
		if c.Stat().Direction == network.DirInbound {
			inboundFrom[c.RemoteMultiaddr().String()] = true
		} else {
			addrs = append(addrs, c.RemoteMultiaddr())
		}
	}
	for _, a := range hst.h.Peerstore().Addrs(p) {
		if !inboundFrom[a.String()] && !slices.ContainsFunc(addrs, a.Equal) {
			addrs = append(addrs, a)
		}
	}
	hst.book.seen(p, addrs)
}

// Close closes the host; Run does it on its way out, so Close is only
// needed for a host that never ran.
func (hst *Host) Close() error { return hst.h.Close() }
