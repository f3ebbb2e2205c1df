package p2p

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// transports are the host's transports: TCP, which every node listens on,
// and QUIC (listen addresses such as /ip4/.../udp/4001/quic-v1, and the
// simulated network of the tests). libp2p's TCP transport sets SO_REUSEPORT
// on its listening socket by default, so a second node started on the same
// port would bind it too and the kernel would share inbound connections
// between the two, silently; without it the second bind fails. QUIC's
// sockets are plain net.ListenUDP (quicreuse shares a socket only within one
// process), so they conflict already. WebSocket, WebTransport and WebRTC,
// which libp2p adds by default, are left out: no node listens on them.
func transports() libp2p.Option {
	return libp2p.ChainOptions(
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(libp2pquic.NewTransport),
	)
}

// listenEach makes h listen on every address in addrs, one at a time, and
// fails on the first it cannot listen on. libp2p's own listening (the
// ListenAddrs option) succeeds when any one address works, logging the
// others, and so would start a node without a port it was told to use.
func listenEach(h host.Host, addrs []string) error {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("p2p listen address %q: %v", s, err)
		}
		if err := h.Network().Listen(a); err != nil {
			// The swarm formats the transport's error into a string, so
			// errors.Is cannot find the errno: look for its text.
			if strings.Contains(err.Error(), syscall.EADDRINUSE.Error()) {
				return fmt.Errorf("the p2p address %s is in use (another node?): stop that program or choose another address with --p2p-listen", s)
			}
			return fmt.Errorf("cannot listen on the p2p address %s: %v; choose another with --p2p-listen", s, err)
		}
	}
	return nil
}
