package p2p

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// identity is the cheapest libp2p host that can hold a connection: TCP,
// Noise and yamux only, listening on ip so that it dials from there.
func identity(t *testing.T, ip string) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/"+ip+"/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport), libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestAttackIdentityFlood: 300 identities filling a bootstrap node's
// inbound connections and dialling again whenever dropped kept a new node
// that knew only the bootstrap node out for minutes. Now inbound
// connections are limited per address, per subnet and in all; addresses
// that dial faster than an honest node would are refused, and their slots
// go to newcomers first; the new node joins at once.
func TestAttackIdentityFlood(t *testing.T) {
	victim := runHost(t, newChain(t, 0), func(c *Config) { c.TargetPeers, c.MaxPeers = 4, 12 })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	// 300 identities, 10 on each of 30 addresses, each address in a /16
	// of its own, exhaust libp2p's own limit of inbound connections (252
	// here), which is what kept newcomers out before; under the race
	// detector, which multiplies their cost, 30 still meet ours. Each
	// redials five times a second when dropped, past the swarm's backoff.
	addrs, perAddr := 30, 10
	if raceEnabled {
		addrs = 3
	}
	var dialled atomic.Int64 // identities that have dialled at least once
	for s := 1; s <= addrs; s++ {
		for i := 0; i < perAddr; i++ {
			a := identity(t, fmt.Sprintf("127.%d.0.2", s))
			speakSync(a, genesisStatus(), nil)
			wg.Go(func() {
				first := true
				for ctx.Err() == nil {
					if a.Network().Connectedness(victim.ID()) != network.Connected {
						_ = dial(network.WithForceDirectDial(ctx, "flood"), a, victim)
					}
					if first {
						dialled.Add(1)
						first = false
					}
					select {
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
				}
			})
		}
	}
	waitFor(t, 60*time.Second, "every identity of the flood to have dialled", func() bool {
		return dialled.Load() == int64(addrs*perAddr)
	})
	t.Logf("victim has %d connections", len(victim.h.Network().Conns()))

	// The newcomer is another host (127.0.0.9), with no slot of its own
	// in reserve: it must take an attacker's.
	newcomer := runHost(t, newChain(t, 0), func(c *Config) {
		c.Bootstrap = []string{victim.Addrs()[0]}
		c.ListenAddrs = []string{"/ip4/127.0.0.9/tcp/0"}
	})
	waitFor(t, 10*time.Second, "the newcomer to join through the flooded node", func() bool { return connected(newcomer, victim.ID()) })
	for i := 0; i < 30; i++ {
		if !connected(newcomer, victim.ID()) {
			t.Fatal("the newcomer lost its connection to the flooded node")
		}
		time.Sleep(100 * time.Millisecond) // a 3 s window it must stay connected through, not a wait
	}
}
