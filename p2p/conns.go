package p2p

import (
	"net/netip"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// The connection gater: who may connect. It refuses banned peers both ways,
// and holds inbound connections to limits per IP address, per subnet and in
// all. When the inbound slots are full, a newcomer may take the slot of an
// inbound peer that has done nothing for us, from the subnet with the most
// such peers, the youngest (after Bitcoin Core's eviction), if that makes
// the subnets more even: the newcomer's subnet must have fewer connections
// than the victim's even after the swap, or the victim must have had its
// slot for evictMinAge. So identities from few subnets evict each other, not
// others, and a flood from many subnets churns at most one slot each
// evictMinAge; the refusal comes before the handshake whenever the address
// alone decides it. An address that dials more often than dialRate (past a
// burst of dialBurst), or a subnet (of the third class below) more often
// than subnetDialRate, is flooding: it is refused for floodBan, and its
// connections are the first to give their slot to a newcomer, whatever
// their age. An honest node redials its bootstrap peer every 2 s; several
// behind one address still stay under the rate. Peers that are kept never
// lose their slot and always
// find one (evicting if they must): this machine's own, bootstrap and
// user-added peers, and peers that delivered us valid blocks or
// transactions recently.
//
// Addresses fall in three classes:
//   - this machine, 127.0.0.1 and ::1: kept, and no per-IP or subnet limit
//     (several nodes of one operator, and every in-process test);
//   - private ranges (RFC 1918, unique local, link-local): a per-IP limit
//     but no subnet limit, since a private network such as a Docker compose
//     network is one subnet by construction;
//   - everything else, public addresses and the rest of 127.0.0.0/8: both
//     limits. Tests put attackers on 127.0.0.2 and beyond to meet them.
//
// libp2p's own resource manager also limits connections per IP (8 per IPv4
// address, with a connection rate limit), exempting all of loopback.

// connLimits are the inbound connection limits.
type connLimits struct {
	maxInbound int // inbound connections in all
	perIP      int // inbound connections from one address
	perSubnet  int // inbound connections from one /16 (IPv4) or /32 (IPv6)
}

// Defaults of the per-address limits.
const (
	defaultPerIP     = 4
	defaultPerSubnet = 8
	// servedRecently is how long a peer that delivered us something
	// valid keeps its slot.
	servedRecently = 30 * time.Minute
	// pendingGrace is how long an admitted connection counts before it
	// shows in the network's list (or fails its upgrade).
	pendingGrace = 10 * time.Second
	// evictMinAge is how long a slot is safe from a newcomer whose subnet
	// is as big as the slot holder's.
	evictMinAge = 30 * time.Second
	// dialRate and dialBurst bound how often one address may connect;
	// floodBan is how long an address that dialled faster is refused.
	dialRate        = 1
	dialBurst       = 10
	subnetDialRate  = 4
	subnetDialBurst = 40
	floodBan        = time.Minute
)

type addrClass int

const (
	classLocal addrClass = iota
	classPrivate
	classOther
)

func classify(ip netip.Addr) addrClass {
	ip = ip.Unmap()
	switch {
	case ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || ip == netip.IPv6Loopback():
		return classLocal
	case ip.IsPrivate() || ip.IsLinkLocalUnicast():
		return classPrivate
	}
	return classOther
}

// subnetOf is the subnet an address is limited and grouped by.
func subnetOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 16
	if ip.Is6() {
		bits = 32
	}
	p, _ := ip.Prefix(bits)
	return p
}

// remoteIP is a connection's remote IP address.
func remoteIP(addr ma.Multiaddr) (netip.Addr, bool) {
	ip, err := manet.ToIP(addr)
	if err != nil {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// gater implements libp2p's ConnectionGater.
type gater struct {
	pen    *penalties
	limits connLimits
	// keep reports whether a peer keeps its slot whatever happens.
	keep func(peer.ID) bool

	mu       sync.Mutex
	attempts map[netip.Prefix]*bucket   // inbound connection attempts per address (/32, /128) and subnet
	flooding map[netip.Prefix]time.Time // addresses and subnets refused until then
	net      network.Network            // set by attach once the host exists
	pending  map[peer.ID]pendingConn    // admitted, not yet in net's list
	evicting map[network.Conn]time.Time // closed by us, maybe not gone yet
}

type pendingConn struct {
	ip netip.Addr
	at time.Time
}

func newGater(pen *penalties, limits connLimits, keep func(peer.ID) bool) *gater {
	return &gater{pen: pen, limits: limits, keep: keep,
		attempts: make(map[netip.Prefix]*bucket), flooding: make(map[netip.Prefix]time.Time),
		pending: make(map[peer.ID]pendingConn), evicting: make(map[network.Conn]time.Time)}
}

// attach gives the gater the host's network, whose connections it counts.
func (g *gater) attach(n network.Network) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.net = n
}

// connected tells the gater an admitted connection is in the network's
// list now.
func (g *gater) connected(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.pending, p)
}

// inbound is one inbound connection the gater counts.
type inbound struct {
	conn network.Conn // nil for a pending one
	peer peer.ID
	ip   netip.Addr
}

// inboundLocked lists the inbound connections: established and pending.
func (g *gater) inboundLocked(now time.Time) []inbound {
	for c, at := range g.evicting {
		if now.Sub(at) > pendingGrace {
			delete(g.evicting, c)
		}
	}
	for p, pc := range g.pending {
		if now.Sub(pc.at) > pendingGrace {
			delete(g.pending, p)
		}
	}
	var out []inbound
	seen := map[peer.ID]bool{}
	if g.net != nil {
		for _, c := range g.net.Conns() {
			if c.Stat().Direction != network.DirInbound || c.IsClosed() {
				continue
			}
			if _, gone := g.evicting[c]; gone {
				continue
			}
			ip, ok := remoteIP(c.RemoteMultiaddr())
			if !ok {
				continue
			}
			out = append(out, inbound{conn: c, peer: c.RemotePeer(), ip: ip})
			seen[c.RemotePeer()] = true
		}
	}
	for p, pc := range g.pending {
		if !seen[p] {
			out = append(out, inbound{peer: p, ip: pc.ip})
		}
	}
	return out
}

// overAddrLimits reports whether one more inbound connection from ip would
// break the per-IP or per-subnet limit.
func (g *gater) overAddrLimits(conns []inbound, ip netip.Addr) bool {
	class := classify(ip)
	if class == classLocal {
		return false
	}
	sameIP, sameSubnet := 0, 0
	sub := subnetOf(ip)
	for _, c := range conns {
		if c.ip == ip {
			sameIP++
		}
		if sub.Contains(c.ip) && classify(c.ip) != classLocal {
			sameSubnet++
		}
	}
	return sameIP >= g.limits.perIP || class == classOther && sameSubnet >= g.limits.perSubnet
}

// dialedLocked counts a connection attempt from ip, against the address
// and, for the third class, its subnet, and reports whether either is
// flooding (refused) now.
func (g *gater) dialedLocked(ip netip.Addr, now time.Time) bool {
	if len(g.attempts) >= maxRecords {
		for a, b := range g.attempts {
			if b.full(now) {
				delete(g.attempts, a)
			}
		}
		for a, until := range g.flooding {
			if now.After(until) {
				delete(g.flooding, a)
			}
		}
	}
	count := func(key netip.Prefix, rate, burst float64) {
		b := g.attempts[key]
		if b == nil {
			b = newBucket(rate, burst, now)
			g.attempts[key] = b
		}
		if _, ok := b.take(now, 1, 0); !ok {
			g.flooding[key] = now.Add(floodBan)
		}
	}
	count(netip.PrefixFrom(ip, ip.BitLen()), dialRate, dialBurst)
	if classify(ip) == classOther {
		count(subnetOf(ip), subnetDialRate, subnetDialBurst)
	}
	return g.floodingLocked(ip, now)
}

// floodingLocked reports whether ip, or its subnet, is flooding now.
func (g *gater) floodingLocked(ip netip.Addr, now time.Time) bool {
	if now.Before(g.flooding[netip.PrefixFrom(ip, ip.BitLen())]) {
		return true
	}
	return classify(ip) == classOther && now.Before(g.flooding[subnetOf(ip)])
}

// victim picks the inbound connection a newcomer from ip takes the slot of,
// or nil. A connection from a flooding address goes first, whatever its
// age. Otherwise, from the subnet with the most connections that may be
// evicted (not local, not kept), the youngest; kept newcomers take it
// whatever its age and subnet, others only when the swap leaves the
// subnets more even or the victim has had its slot for evictMinAge.
func (g *gater) victim(conns []inbound, ip netip.Addr, kept bool, now time.Time) network.Conn {
	bySubnet := map[netip.Prefix][]network.Conn{}
	var biggest netip.Prefix
	for _, c := range conns {
		if c.conn == nil || classify(c.ip) == classLocal || g.keep(c.peer) {
			continue
		}
		if g.floodingLocked(c.ip, now) {
			return c.conn
		}
		sub := subnetOf(c.ip)
		bySubnet[sub] = append(bySubnet[sub], c.conn)
		if n, m := len(bySubnet[sub]), len(bySubnet[biggest]); n > m || n == m && sub.String() < biggest.String() {
			biggest = sub
		}
	}
	ours := 0
	if !kept {
		ours = len(bySubnet[subnetOf(ip)])
	}
	evenEnough := kept || ours+1 < len(bySubnet[biggest])
	var young network.Conn
	for _, c := range bySubnet[biggest] {
		if !evenEnough && now.Sub(c.Stat().Opened) < evictMinAge {
			continue
		}
		if young == nil || c.Stat().Opened.After(young.Stat().Opened) {
			young = c
		}
	}
	return young
}

// admit decides on an inbound connection from ip, of peer p once known
// (empty before the handshake). It returns false to refuse it, and the
// connection to close to make room, if any.
func (g *gater) admit(p peer.ID, ip netip.Addr, now time.Time) (bool, network.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	conns := g.inboundLocked(now)
	kept := classify(ip) == classLocal || p != "" && g.keep(p)
	if p == "" && classify(ip) != classLocal && g.dialedLocked(ip, now) {
		return false, nil
	}
	if !kept && g.overAddrLimits(conns, ip) {
		return false, nil
	}
	var evict network.Conn
	if len(conns) >= g.limits.maxInbound {
		evict = g.victim(conns, ip, kept, now)
		if evict == nil && !kept {
			// No slot for this address: before the handshake when the
			// address alone decides it.
			return false, nil
		}
	}
	if p == "" {
		return true, nil // the slot is taken once the peer is known
	}
	if evict != nil {
		g.evicting[evict] = now
	}
	g.pending[p] = pendingConn{ip: ip, at: now}
	return true, evict
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return !g.pen.banned(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.pen.banned(p) }

func (g *gater) InterceptAccept(addrs network.ConnMultiaddrs) bool {
	ip, ok := remoteIP(addrs.RemoteMultiaddr())
	if !ok {
		return true
	}
	admitted, _ := g.admit("", ip, time.Now())
	return admitted
}

func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if g.pen.banned(p) {
		return false
	}
	if dir != network.DirInbound {
		return true
	}
	ip, ok := remoteIP(addrs.RemoteMultiaddr())
	if !ok {
		return true
	}
	admitted, evict := g.admit(p, ip, time.Now())
	if evict != nil {
		go evict.Close() // never close a connection from inside the upgrade of another
	}
	return admitted
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// servedLog remembers which peers delivered us valid blocks or
// transactions, and when. It is safe for concurrent use.
type servedLog struct {
	mu   sync.Mutex
	last map[peer.ID]time.Time
}

func newServedLog() *servedLog { return &servedLog{last: make(map[peer.ID]time.Time)} }

func (sl *servedLog) mark(p peer.ID, now time.Time) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if len(sl.last) >= maxRecords {
		for q, t := range sl.last {
			if now.Sub(t) > servedRecently {
				delete(sl.last, q)
			}
		}
	}
	sl.last[p] = now
}

// recently reports whether p delivered something within servedRecently.
func (sl *servedLog) recently(p peer.ID, now time.Time) bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	t, ok := sl.last[p]
	return ok && now.Sub(t) <= servedRecently
}
