package p2p

import (
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Resource-manager limits of the sync protocol. libp2p's defaults scale with
// the machine's memory (1/8 of it: gigabytes on a server) and allow a peer
// 75 inbound streams of a protocol; a sync request needs one stream and at
// most a few MiB, so ours are fixed and small. A stream over a limit is
// reset by libp2p before our handler sees it; memory the server cannot
// reserve for a request or a response gets a "busy" answer.
const (
	syncStreamsPerPeer = 8        // inbound, and as many outbound
	syncMemoryPerPeer  = 16 << 20 // reserved by one peer's requests and responses
	syncStreamsTotal   = 128      // inbound, and as many outbound
	syncMemoryTotal    = 48 << 20 // reserved by everyone's
)

// newResourceManager builds libp2p's resource manager with its scaled
// defaults and our limits for the sync protocol. Per-IP connection limits
// are libp2p's (which exempt loopback); ours are in the connection gater
// (conns.go).
func newResourceManager(syncProto string) (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	proto := protocol.ID(syncProto)
	limits.AddProtocolLimit(proto, rcmgr.BaseLimit{
		Streams: 2 * syncStreamsTotal, StreamsInbound: syncStreamsTotal, StreamsOutbound: syncStreamsTotal,
		Memory: syncMemoryTotal,
	}, rcmgr.BaseLimitIncrease{})
	limits.AddProtocolPeerLimit(proto, rcmgr.BaseLimit{
		Streams: 2 * syncStreamsPerPeer, StreamsInbound: syncStreamsPerPeer, StreamsOutbound: syncStreamsPerPeer,
		Memory: syncMemoryPerPeer,
	}, rcmgr.BaseLimitIncrease{})
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
}
