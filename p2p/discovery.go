package p2p

import (
	"context"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// bootstrapRetry is how often unreachable bootstrap peers are dialled
// again. kad-dht retries them only every 2 minutes; a bootstrap node that
// starts later than the others must still be found quickly. Dials use
// WithForceDirectDial so the swarm's dial backoff does not refuse them.
const bootstrapRetry = 2 * time.Second

// bootstrapLoop keeps the node connected to its bootstrap peers: it dials
// each one that is not connected, now and every bootstrapRetry, for as long
// as the node runs (so it also reconnects after a partition).
func (hst *Host) bootstrapLoop(ctx context.Context) {
	if len(hst.bootstrap) == 0 {
		return
	}
	failures := map[peer.ID]int{}
	t := time.NewTicker(bootstrapRetry)
	defer t.Stop()
	for {
		for _, ai := range hst.bootstrap {
			if ai.ID == hst.h.ID() || hst.h.Network().Connectedness(ai.ID) == network.Connected {
				failures[ai.ID] = 0
				continue
			}
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := hst.h.Connect(network.WithForceDirectDial(dctx, "bootstrap"), ai)
			cancel()
			if err != nil {
				failures[ai.ID]++
				if n := failures[ai.ID]; n == 1 || n%15 == 0 {
					hst.log.Info("bootstrap peer not reachable yet; retrying", "peer", ai.ID.String(), "attempts", n, "err", err)
				}
				continue
			}
			hst.log.Info("connected to bootstrap peer", "peer", ai.ID.String())
			failures[ai.ID] = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// discoveryLoop advertises the node under the network's rendezvous
// namespace in the DHT and connects to the peers it finds there until it has
// TargetPeers. Advertising waits until the routing table has a peer
// (advertising into an empty table fails, and the library's helper would
// then sleep two minutes).
func (hst *Host) discoveryLoop(ctx context.Context, d *dht.IpfsDHT) {
	rd := drouting.NewRoutingDiscovery(d)
	ns := hst.names.rendezvous
	var nextAdvertise time.Time
	wait := time.Second
	for {
		if d.RoutingTable().Size() > 0 {
			if time.Now().After(nextAdvertise) {
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := rd.Advertise(actx, ns)
				cancel()
				switch {
				case err != nil:
					hst.log.Debug("advertise failed; retrying", "err", err)
					nextAdvertise = time.Now().Add(2 * time.Second)
				case len(hst.h.Network().Peers()) < hst.cfg.TargetPeers:
					nextAdvertise = time.Now().Add(time.Minute)
				default:
					nextAdvertise = time.Now().Add(10 * time.Minute)
				}
			}
			if len(hst.h.Network().Peers()) < hst.cfg.TargetPeers {
				if hst.findPeers(ctx, rd, ns) > 0 {
					wait = time.Second
				}
			} else {
				wait = 30 * time.Second
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if wait < 30*time.Second {
			wait += wait / 2
		}
	}
}

// findPeers looks up the rendezvous namespace and dials new peers; it
// returns how many it connected.
func (hst *Host) findPeers(ctx context.Context, rd *drouting.RoutingDiscovery, ns string) int {
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ch, err := rd.FindPeers(fctx, ns, discovery.Limit(64))
	if err != nil {
		return 0
	}
	connected := 0
	for ai := range ch {
		if ai.ID == hst.h.ID() || len(ai.Addrs) == 0 || hst.penalties.banned(ai.ID) ||
			hst.h.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		if len(hst.h.Network().Peers()) >= hst.cfg.TargetPeers {
			break
		}
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		if err := hst.h.Connect(dctx, ai); err == nil {
			connected++
			hst.log.Debug("connected to a discovered peer", "peer", ai.ID.String())
		}
		dcancel()
	}
	return connected
}

// Redialling the address book.
const (
	bookRetry  = 5 * time.Second  // how often the book is consulted while below target
	bookRedial = 30 * time.Second // a remembered peer is dialled at most this often
	bookSave   = 30 * time.Second // how often a changed book is written
)

// bookLoop dials remembered peers: at once, then every bookRetry while the
// node has fewer peers than its target, those not tried lately. It writes
// the book when it changed, and once more when the node stops.
func (hst *Host) bookLoop(ctx context.Context) {
	defer func() {
		if err := hst.book.save(); err != nil {
			hst.log.Warn("could not save the address book", "err", err)
		}
	}()
	tried := map[peer.ID]time.Time{}
	t := time.NewTicker(bookRetry)
	defer t.Stop()
	lastSave := time.Now()
	for {
		if n := len(hst.h.Network().Peers()); n < hst.cfg.TargetPeers {
			now := time.Now()
			for p, at := range tried {
				if now.Sub(at) > bookRedial {
					delete(tried, p)
				}
			}
			cands := hst.book.best(hst.cfg.TargetPeers-n, func(p peer.ID) bool {
				_, recent := tried[p]
				return recent || p == hst.h.ID() || hst.penalties.banned(p) ||
					hst.h.Network().Connectedness(p) == network.Connected
			})
			var wg sync.WaitGroup
			for _, ai := range cands {
				tried[ai.ID] = now
				wg.Go(func() {
					dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					if err := hst.h.Connect(network.WithForceDirectDial(dctx, "address book"), ai); err == nil {
						hst.log.Debug("connected to a remembered peer", "peer", ai.ID.String())
					}
				})
			}
			wg.Wait()
		}
		if time.Since(lastSave) >= bookSave {
			lastSave = time.Now()
			if err := hst.book.save(); err != nil {
				hst.log.Warn("could not save the address book", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
