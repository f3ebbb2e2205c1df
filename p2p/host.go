package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
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
		gater: newGater(), metrics: newMetrics(cfg.Registerer), pushQ: make(chan []*chain.Tx, 64)}
	cm, err := connmgr.NewConnManager(cfg.TargetPeers, cfg.MaxPeers, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, err
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
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
	for _, b := range boot {
		hst.h.ConnManager().Protect(b.ID, "bootstrap")
		hst.h.Peerstore().AddAddrs(b.ID, b.Addrs, time.Hour)
	}
	hst.sync = newSyncer(hst)
	hst.h.SetStreamHandler(protocol.ID(hst.names.sync), hst.handleStream)
	hst.metrics.peersFunc(func() float64 { return float64(len(hst.h.Network().Peers())) })
	return hst, nil
}

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
		ConnectedF:    func(_ network.Network, c network.Conn) { hst.sync.peerConnected(c.RemotePeer()) },
		DisconnectedF: func(_ network.Network, c network.Conn) { hst.sync.peerDisconnected(c.RemotePeer()) },
	}
	hst.h.Network().Notify(notifee)
	defer hst.h.Network().StopNotify(notifee)

	var wg sync.WaitGroup
	for _, f := range []func(context.Context){hst.bootstrapLoop, hst.sync.run, hst.pushLoop,
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
	hst.gater.unban(ai.ID)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := hst.h.Connect(network.WithForceDirectDial(ctx, "user request"), ai); err != nil {
		return PeerInfo{}, fmt.Errorf("connect to %s: %w", addr, err)
	}
	hst.h.ConnManager().Protect(ai.ID, "user")
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

// BanPeer disconnects a peer and refuses it for d (setban): the node does
// it to peers that send invalid data; operators and tests may too.
func (hst *Host) BanPeer(p peer.ID, d time.Duration, why string) {
	hst.gater.ban(p, d)
	hst.metrics.bans.Inc()
	hst.log.Warn("peer banned", "peer", p.String(), "for", d, "why", why)
	_ = hst.h.Network().ClosePeer(p)
}

// UnbanPeer lifts a ban.
func (hst *Host) UnbanPeer(p peer.ID) { hst.gater.unban(p) }

// gater refuses connections to and from banned peers.
type gater struct {
	mu     sync.Mutex
	banned map[peer.ID]time.Time
}

func newGater() *gater { return &gater{banned: make(map[peer.ID]time.Time)} }

func (g *gater) ban(p peer.ID, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.banned[p] = time.Now().Add(d)
}

func (g *gater) unban(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.banned, p)
}

func (g *gater) isBanned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.banned[p]
	if ok && time.Now().After(until) {
		delete(g.banned, p)
		return false
	}
	return ok
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                                { return !g.isBanned(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool                { return !g.isBanned(p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool                     { return true }
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.isBanned(p)
}

// Close closes the host; Run does it on its way out, so Close is only
// needed for a host that never ran.
func (hst *Host) Close() error { return hst.h.Close() }
