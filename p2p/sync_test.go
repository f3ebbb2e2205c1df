package p2p

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// chainHandler is the simplest Handler: blocks go straight into a chain.
type chainHandler struct{ c *chain.Chain }

func (h chainHandler) HandleBlock(_ context.Context, _ peer.ID, b *chain.Block) BlockOutcome {
	res, err := h.c.ProcessBlock(b, time.Now())
	switch {
	case err == nil && res.Orphan:
		return BlockOutcome{Verdict: Ignore, Missing: &res.MissingAncestor}
	case err == nil:
		return BlockOutcome{Verdict: Accept}
	}
	return BlockOutcome{Verdict: Reject}
}
func (chainHandler) HandleTx(context.Context, peer.ID, *chain.Tx) Verdict { return Ignore }
func (chainHandler) PendingTxs() []*chain.Tx                              { return nil }

// testHost runs a p2p Host over an in-memory regtest chain.
func testHost(t *testing.T, blocks int) (*Host, *chain.Chain) {
	t.Helper()
	c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < blocks; i++ {
		chaintest.MineOnTip(c, chaintest.NewKey("m"), string(rune('a'+i)))
	}
	h, err := New(Config{Params: chain.RegtestParams, Chain: c, Handler: chainHandler{c},
		KeyFile: t.TempDir() + "/key", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		RequestTimeout: time.Second, StatusInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, c
}

// fakePeer is a libp2p host that speaks the sync protocol with a scripted
// server: it claims a chain with a great deal of work.
func fakePeer(t *testing.T, serve func(typ byte, s network.Stream)) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	h.SetStreamHandler(protocol.ID(SyncProtocol(chain.RegtestParams)), func(s network.Stream) {
		req, err := msgio.NewVarintReaderSize(s, 1<<20).ReadMsg()
		if err != nil || len(req) == 0 {
			s.Reset()
			return
		}
		if req[0] == msgStatus {
			p := chain.RegtestParams
			_ = msgio.NewVarintWriter(s).WriteMsg(encodeStatus(Status{Genesis: p.GenesisHash, Tip: chain.Hash{0xee},
				Height: 1000, Work: new(big.Int).Lsh(big.NewInt(1), 100)}))
			s.Close()
			return
		}
		serve(req[0], s)
	})
	return h
}

func connect(t *testing.T, from *Host, to host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := from.h.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
	waitUntil(t, "the liar to be banned", func() bool { return h.gater.isBanned(liar.ID()) })
	if h.h.Network().Connectedness(liar.ID()) == network.Connected {
		t.Fatal("the liar is still connected")
	}
}

// TestSyncMovesOnFromStalledPeer: a peer that claims the most work but
// never answers is dropped after the request timeout, and the node syncs
// from another peer.
func TestSyncMovesOnFromStalledPeer(t *testing.T) {
	h, c := testHost(t, 0)
	good, gc := testHost(t, 6)
	staller := fakePeer(t, func(typ byte, s network.Stream) {
		time.Sleep(5 * time.Second) // longer than the request timeout
		s.Reset()
	})
	connect(t, h, staller)
	waitUntil(t, "the staller's status", func() bool { return h.sync.peerHeight(staller.ID()) == 1000 })
	connect(t, h, good.h)
	waitUntil(t, "the sync to move to the good peer", func() bool {
		return c.BestSnapshot().Hash == gc.BestSnapshot().Hash
	})
	if h.h.Network().Connectedness(staller.ID()) == network.Connected {
		t.Fatal("the stalled peer was not dropped")
	}
	if h.gater.isBanned(staller.ID()) {
		t.Fatal("a slow peer is dropped, not banned")
	}
}
