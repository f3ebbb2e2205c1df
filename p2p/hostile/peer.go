package hostile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-msgio"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/p2p"
)

// maxMessage bounds what a hostile peer reads (requests it serves,
// responses it gets); the protocol's own limits are below it.
const maxMessage = 16 << 20

// PeerConfig configures a hostile peer.
type PeerConfig struct {
	// Params is the network whose protocols the peer speaks. Required.
	Params *chain.Params
	// Listen is the multiaddr to listen on (default /ip4/127.0.0.1/tcp/0).
	// Outgoing connections leave from the listening address, so peers
	// listening on 127.1.0.1, 127.1.0.2 ... look like distinct hosts.
	Listen string
	// Gossip joins the block and transaction topics, so the peer can
	// publish.
	Gossip bool
	// Responder answers sync requests (default: an honest server at the
	// genesis block, whose status makes nobody sync from it).
	Responder Responder
}

// Peer is a hostile peer: a libp2p host of its own with no resource or
// connection limits (nothing on its side stops a flood), serving the sync
// protocol through its Responder and, with gossip, publishing whatever it
// is given without checking it.
type Peer struct {
	Host   host.Host
	params *chain.Params
	resp   atomic.Pointer[Responder]
	served [256]atomic.Uint64 // requests received, by type byte

	cancel     context.CancelFunc
	wg         sync.WaitGroup
	blockTopic *pubsub.Topic
	txTopic    *pubsub.Topic
}

// NewPeer starts a hostile peer. Close stops it.
func NewPeer(cfg PeerConfig) (*Peer, error) {
	if cfg.Params == nil {
		return nil, errors.New("hostile: PeerConfig.Params is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = "/ip4/127.0.0.1/tcp/0"
	}
	if cfg.Responder == nil {
		cfg.Responder = NewChainServer(cfg.Params, GenesisTip(cfg.Params))
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings(cfg.Listen),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("minichain-hostile"),
	)
	if err != nil {
		return nil, fmt.Errorf("hostile: start host on %s: %w", cfg.Listen, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{Host: h, params: cfg.Params, cancel: cancel}
	p.SetResponder(cfg.Responder)
	h.SetStreamHandler(protocol.ID(p2p.SyncProtocol(cfg.Params)), p.serve)
	if cfg.Gossip {
		if err := p.startGossip(ctx); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// startGossip joins both topics. The message ID is the hash of the whole
// message, so the peer itself can publish two bodies under one header.
func (p *Peer) startGossip(ctx context.Context) error {
	ps, err := pubsub.NewGossipSub(ctx, p.Host,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor(),
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(4<<20),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { h := sha256.Sum256(m.Data); return string(h[:]) }))
	if err != nil {
		return fmt.Errorf("hostile: gossipsub: %w", err)
	}
	bt, tt := p2p.Topics(p.params)
	if p.blockTopic, err = ps.Join(bt); err != nil {
		return err
	}
	if p.txTopic, err = ps.Join(tt); err != nil {
		return err
	}
	for _, t := range []*pubsub.Topic{p.blockTopic, p.txTopic} {
		sub, err := t.Subscribe()
		if err != nil {
			return err
		}
		p.wg.Go(func() {
			defer sub.Cancel()
			for {
				if _, err := sub.Next(ctx); err != nil {
					return
				}
			}
		})
	}
	return nil
}

// Close stops the peer and closes its connections.
func (p *Peer) Close() error {
	p.cancel()
	p.wg.Wait()
	return p.Host.Close()
}

// ID is the peer's identity.
func (p *Peer) ID() peer.ID { return p.Host.ID() }

// SetResponder changes how the peer answers sync requests.
func (p *Peer) SetResponder(r Responder) { p.resp.Store(&r) }

// Served is how many sync requests of type typ (MsgStatus, MsgGetHeaders
// ...) the peer has received.
func (p *Peer) Served(typ byte) uint64 { return p.served[typ].Load() }

// serve answers one sync request through the Responder.
func (p *Peer) serve(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	r := msgio.NewVarintReaderSize(s, maxMessage)
	req, err := r.ReadMsg()
	if err != nil || len(req) == 0 {
		s.Reset()
		return
	}
	p.served[req[0]].Add(1)
	resp := (*p.resp.Load()).Respond(req[0], req[1:])
	r.ReleaseMsg(req)
	if resp == nil {
		s.Reset()
		return
	}
	if err := msgio.NewVarintWriter(s).WriteMsg(resp); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// AddrInfo parses a node's full multiaddr (/ip4/…/tcp/…/p2p/<id>).
func AddrInfo(addr string) (peer.AddrInfo, error) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	ai, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	return *ai, nil
}

// Connect dials a node, past the swarm's dial backoff.
func (p *Peer) Connect(ctx context.Context, ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return p.Host.Connect(network.WithForceDirectDial(ctx, "hostile"), ai)
}

// Connected reports whether the peer has a connection to id.
func (p *Peer) Connected(id peer.ID) bool {
	return p.Host.Network().Connectedness(id) == network.Connected
}

// KeepConnected redials ai whenever the connection is gone, checking every
// interval, until ctx ends: an attacker that is trimmed or disconnected
// comes straight back. It returns the number of dials after the first and
// how many of them failed.
func (p *Peer) KeepConnected(ctx context.Context, ai peer.AddrInfo, interval time.Duration) (redials, failed int) {
	first := true
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if !p.Connected(ai.ID) {
			if !first {
				redials++
			}
			if err := p.Connect(ctx, ai); err != nil && ctx.Err() == nil && !first {
				failed++
			}
			first = false
		}
		select {
		case <-ctx.Done():
			return redials, failed
		case <-t.C:
		}
	}
}

// Request sends one sync request to id and returns the response message
// (type byte first).
func (p *Peer) Request(ctx context.Context, id peer.ID, req []byte) ([]byte, error) {
	s, err := p.Host.NewStream(ctx, id, protocol.ID(p2p.SyncProtocol(p.params)))
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if err := msgio.NewVarintWriter(s).WriteMsg(req); err != nil {
		s.Reset()
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, err
	}
	r := msgio.NewVarintReaderSize(s, maxMessage)
	msg, err := r.ReadMsg()
	if err != nil {
		s.Reset()
		return nil, err
	}
	resp := append([]byte(nil), msg...)
	r.ReleaseMsg(msg)
	s.Close()
	if len(resp) == 0 {
		return nil, errors.New("hostile: empty response")
	}
	return resp, nil
}

// PublishBlock publishes raw bytes on the block topic, unchecked.
func (p *Peer) PublishBlock(ctx context.Context, raw []byte) error {
	if p.blockTopic == nil {
		return errors.New("hostile: peer was started without gossip")
	}
	return p.blockTopic.Publish(ctx, raw)
}

// PublishTx publishes raw bytes on the transaction topic, unchecked.
func (p *Peer) PublishTx(ctx context.Context, raw []byte) error {
	if p.txTopic == nil {
		return errors.New("hostile: peer was started without gossip")
	}
	return p.txTopic.Publish(ctx, raw)
}

// WaitTopicPeers waits until every id is subscribed to the block topic as
// this peer sees it (so a publication reaches them), or ctx ends.
func (p *Peer) WaitTopicPeers(ctx context.Context, ids ...peer.ID) error {
	if p.blockTopic == nil {
		return errors.New("hostile: peer was started without gossip")
	}
	for {
		have := map[peer.ID]bool{}
		for _, id := range p.blockTopic.ListPeers() {
			have[id] = true
		}
		all := true
		for _, id := range ids {
			all = all && have[id]
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hostile: waiting for topic peers: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
