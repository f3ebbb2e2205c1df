package p2p

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAddressClasses(t *testing.T) {
	for addr, want := range map[string]addrClass{
		"127.0.0.1": classLocal, "::1": classLocal, "::ffff:127.0.0.1": classLocal,
		"127.0.0.2": classOther, "127.5.0.1": classOther, "1.2.3.4": classOther, "2001:db8::1": classOther,
		"10.1.2.3": classPrivate, "172.18.0.4": classPrivate, "192.168.1.1": classPrivate,
		"fd00::1": classPrivate, "169.254.1.1": classPrivate,
	} {
		if got := classify(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: class %d, want %d", addr, got, want)
		}
	}
	if subnetOf(netip.MustParseAddr("1.2.3.4")) != netip.MustParsePrefix("1.2.0.0/16") ||
		subnetOf(netip.MustParseAddr("2001:db8:1:2::1")) != netip.MustParsePrefix("2001:db8::/32") {
		t.Fatal("subnets are /16 and /32")
	}
}

// fakeConn is an inbound connection as the gater sees it.
type fakeConn struct {
	network.Conn
	opened time.Time
}

func (c *fakeConn) Stat() network.ConnStats {
	return network.ConnStats{Stats: network.Stats{Direction: network.DirInbound, Opened: c.opened}}
}

func TestGaterAddressLimits(t *testing.T) {
	g := newGater(newPenalties(time.Minute), connLimits{maxInbound: 100, perIP: 2, perSubnet: 3}, func(peer.ID) bool { return false })
	now := time.Now()
	admitN := func(ip string, n int) int {
		ok := 0
		for i := 0; i < n; i++ {
			if a, _ := g.admit(peer.ID(fmt.Sprint(ip, i, len(g.pending))), netip.MustParseAddr(ip), now); a {
				ok++
			}
		}
		return ok
	}
	if n := admitN("1.2.3.4", 5); n != 2 {
		t.Fatalf("%d from one address, want 2", n)
	}
	if n := admitN("1.2.9.9", 5); n != 1 {
		t.Fatalf("%d more from its /16, want 1 (3 in all)", n)
	}
	if n := admitN("1.3.0.1", 1); n != 1 {
		t.Fatal("another subnet was refused")
	}
	if n := admitN("10.0.0.1", 5); n != 2 {
		t.Fatalf("%d from a private address, want its per-IP limit of 2", n)
	}
	if n := admitN("10.0.0.2", 5); n != 2 {
		t.Fatalf("%d from another private address of the same /16, want 2: no subnet limit there", n)
	}
	if n := admitN("127.0.0.1", 10); n != 10 {
		t.Fatalf("%d from this machine, want all", n)
	}
	if n := admitN("127.0.0.2", 5); n != 2 {
		t.Fatalf("%d from 127.0.0.2, want 2: only 127.0.0.1 is this machine", n)
	}
	// Pending admissions expire if the connection never shows up.
	g.mu.Lock()
	g.inboundLocked(now.Add(pendingGrace + time.Second))
	left := len(g.pending)
	g.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d pending admissions outlived their grace", left)
	}
}

// TestGaterEviction: when the slots are full, a newcomer takes the
// youngest slot of the biggest subnet if that evens the subnets out, or if
// that slot is old enough; kept peers and this machine's are never
// evicted, and always find a slot.
func TestGaterEviction(t *testing.T) {
	now := time.Now()
	kept := map[peer.ID]bool{"kept": true}
	g := newGater(newPenalties(time.Minute), connLimits{maxInbound: 5, perIP: 5, perSubnet: 5}, func(p peer.ID) bool { return kept[p] })
	old, young := &fakeConn{opened: now.Add(-time.Hour)}, &fakeConn{opened: now.Add(-time.Second)}
	conns := []inbound{
		{conn: old, peer: "a1", ip: netip.MustParseAddr("1.1.0.1")},
		{conn: young, peer: "a2", ip: netip.MustParseAddr("1.1.0.2")},
		{conn: &fakeConn{opened: now}, peer: "kept", ip: netip.MustParseAddr("1.1.0.3")},
		{conn: &fakeConn{opened: now}, peer: "local", ip: netip.MustParseAddr("127.0.0.1")},
		{conn: &fakeConn{opened: now.Add(-time.Hour)}, peer: "b1", ip: netip.MustParseAddr("2.2.0.1")},
	}
	// From a new subnet: 0+1 < 2 in 1.1/16 (the kept one does not count):
	// the youngest there goes.
	if v := g.victim(conns, netip.MustParseAddr("3.3.0.1"), false, now); v != young {
		t.Fatalf("victim %v, want the youngest of 1.1/16", v)
	}
	// From 2.2/16 (one already): 1+1 is not below 2, and the youngest of
	// 1.1/16 is too young; the old one may go.
	if v := g.victim(conns, netip.MustParseAddr("2.2.0.9"), false, now); v != old {
		t.Fatalf("victim %v, want the old slot", v)
	}
	newest := &fakeConn{opened: now}
	conns[0].conn = newest
	if v := g.victim(conns, netip.MustParseAddr("2.2.0.9"), false, now); v != nil {
		t.Fatal("a newcomer from an as-big subnet evicted a young slot")
	}
	// A kept newcomer takes the youngest slot regardless.
	if v := g.victim(conns, netip.MustParseAddr("2.2.0.9"), true, now); v != newest {
		t.Fatalf("victim %v for a kept newcomer, want the youngest", v)
	}
	// Nobody evictable: a kept newcomer finds no victim but is admitted;
	// others are refused.
	only := []inbound{conns[2], conns[3]}
	if v := g.victim(only, netip.MustParseAddr("9.9.9.9"), true, now); v != nil {
		t.Fatal("a kept or local peer was chosen")
	}
}

// TestGaterFloodingAddress: an address that dials faster than the rate is
// refused for a while, and its connections are the first to give their
// slot to a newcomer, young or not.
func TestGaterFloodingAddress(t *testing.T) {
	now := time.Now()
	g := newGater(newPenalties(time.Minute), connLimits{maxInbound: 2, perIP: 4, perSubnet: 8}, func(peer.ID) bool { return false })
	flooder := netip.MustParseAddr("5.5.5.5")
	for i := 0; i < dialBurst; i++ {
		if ok, _ := g.admit("", flooder, now); !ok {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	if ok, _ := g.admit("", flooder, now); ok {
		t.Fatal("an attempt past the burst was admitted")
	}
	if ok, _ := g.admit("", flooder, now.Add(10*time.Second)); ok {
		t.Fatal("a flooding address was admitted within its ban")
	}
	if ok, _ := g.admit("", netip.MustParseAddr("6.6.6.6"), now); !ok {
		t.Fatal("another address was refused")
	}
	young := &fakeConn{opened: now}
	conns := []inbound{
		{conn: &fakeConn{opened: now.Add(-time.Hour)}, peer: "old", ip: netip.MustParseAddr("7.7.0.1")},
		{conn: young, peer: "f", ip: flooder},
	}
	if v := g.victim(conns, netip.MustParseAddr("8.8.8.8"), false, now); v != young {
		t.Fatalf("victim %v, want the flooding address's young connection", v)
	}
	later := now.Add(floodBan + dialBurst*time.Second)
	if ok, _ := g.admit("", flooder, later); !ok {
		t.Fatal("the address was still refused after its ban")
	}
}
