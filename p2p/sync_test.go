package p2p

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio"

	"github.com/minichain/minichain/chain"
)

// TestSyncBansPeerServingInvalidHeaders: a peer that claims more work and
// then serves headers that do not meet their target is banned.
func TestSyncBansPeerServingInvalidHeaders(t *testing.T) {
	h, _ := testHost(t, 0)
	bad := chain.Header{Version: 1, PrevBlock: chain.RegtestParams.GenesisHash, Bits: chain.RegtestParams.PowLimitBits, Timestamp: 2e9}
	for chain.CheckProofOfWork(bad.BlockHash(), bad.Bits, chain.RegtestParams.PowLimit) == nil {
		bad.Nonce++
	}
	liar := fakePeer(t, func(typ byte, s network.Stream) {
		if typ == msgGetHeaders {
			_ = msgio.NewVarintWriter(s).WriteMsg(encodeHeaders([]chain.Header{bad}))
		}
		s.Close()
	})
	connect(t, h, liar)
	waitUntil(t, "the liar to be banned", func() bool { return isBanned(h, liar.ID()) })
	if h.h.Network().Connectedness(liar.ID()) == network.Connected {
		t.Fatal("the liar is still connected")
	}
}

// TestSyncMovesOnFromStalledPeer: a peer that claims the most work but
// never answers is dropped after the request timeout, and the node syncs
// from another peer. A stall is half a ban: when the peer comes back and
// stalls again, it is banned.
func TestSyncMovesOnFromStalledPeer(t *testing.T) {
	h, c := testHost(t, 0)
	good, gc := testHost(t, 6)
	staller := fakePeer(t, func(typ byte, s network.Stream) {
		time.Sleep(5 * time.Second) // the peer's stall (longer than the request timeout), not a wait
		s.Reset()
	})
	connect(t, h, staller)
	waitUntil(t, "the staller's status", func() bool { return h.sync.peerHeight(staller.ID()) == hugeStatus().Height })
	connect(t, h, good.h)
	waitUntil(t, "the sync to move to the good peer", func() bool {
		return c.BestSnapshot().Hash == gc.BestSnapshot().Hash
	})
	waitUntil(t, "the stalled peer to be dropped", func() bool { return !connected(h, staller.ID()) })
	if isBanned(h, staller.ID()) {
		t.Fatal("a peer that stalled once is dropped, not banned")
	}
	// It comes back, still claiming more work, and stalls again.
	connect(t, h, staller)
	waitUntil(t, "the staller to be banned after its second stall", func() bool { return isBanned(h, staller.ID()) })
}
