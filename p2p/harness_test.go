package p2p

import (
	"context"
	"log/slog"
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

// The test harness: real libp2p hosts on loopback TCP. Honest hosts listen
// on 127.0.0.1; hostile ones on 127.0.0.2 and beyond, which count as other
// machines for the per-address limits (conns.go).

// chainHandler is the simplest Handler: blocks go straight into a chain.
type chainHandler struct{ c *chain.Chain }

func (h chainHandler) HandleBlock(_ context.Context, _ peer.ID, b *chain.Block) BlockOutcome {
	if h.c.HaveBlock(b.BlockHash()) {
		return BlockOutcome{Verdict: Ignore}
	}
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

// newChain returns an in-memory regtest chain of n blocks.
func newChain(t testing.TB, n int) *chain.Chain {
	t.Helper()
	c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		chaintest.MineOnTip(c, chaintest.NewKey("m"), string(rune('a'+i)))
	}
	return c
}

// testHost runs a p2p Host over an in-memory regtest chain of n blocks.
func testHost(t *testing.T, blocks int) (*Host, *chain.Chain) {
	t.Helper()
	c := newChain(t, blocks)
	return runHost(t, c), c
}

// runHost runs a Host over c on 127.0.0.1; tweaks adjust its config.
func runHost(t *testing.T, c *chain.Chain, tweaks ...func(*Config)) *Host {
	t.Helper()
	cfg := Config{Params: chain.RegtestParams, Chain: c, Handler: chainHandler{c},
		KeyFile: t.TempDir() + "/key", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		RequestTimeout: time.Second, StatusInterval: time.Hour}
	cfg.Logger = debugLogger
	for _, f := range tweaks {
		f(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// debugLogger is the hosts' logger: nil (discard) unless a test file sets
// it while debugging.
var debugLogger *slog.Logger

// hostileHost is a bare libp2p host listening on ip, without resource
// limits of its own.
func hostileHost(t *testing.T, ip string) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/"+ip+"/tcp/0"),
		libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// genesisStatus is the status of a node at genesis.
func genesisStatus() Status {
	p := chain.RegtestParams
	return Status{Genesis: p.GenesisHash, Tip: p.GenesisHash, Work: chain.CalcWork(p.GenesisBlock.Header.Bits)}
}

// hugeStatus claims a chain of height 10^9 with a great deal of work.
func hugeStatus() Status {
	return Status{Genesis: chain.RegtestParams.GenesisHash, Tip: chain.Hash{0xee}, Height: 1_000_000_000,
		Work: new(big.Int).Lsh(big.NewInt(1), 200)}
}

// speakSync makes h answer the sync protocol: status requests with st,
// other requests through serve (nil: close the stream unanswered).
func speakSync(h host.Host, st Status, serve func(typ byte, s network.Stream)) {
	h.SetStreamHandler(protocol.ID(SyncProtocol(chain.RegtestParams)), func(s network.Stream) {
		req, err := msgio.NewVarintReaderSize(s, 1<<20).ReadMsg()
		if err != nil || len(req) == 0 {
			s.Reset()
			return
		}
		if req[0] == msgStatus {
			_ = msgio.NewVarintWriter(s).WriteMsg(encodeStatus(st))
			s.Close()
			return
		}
		if serve == nil {
			s.Close()
			return
		}
		serve(req[0], s)
	})
}

// fakePeer is a hostile host on 127.0.0.2 that claims a chain with a great
// deal of work and answers other requests with serve.
func fakePeer(t *testing.T, serve func(typ byte, s network.Stream)) host.Host {
	t.Helper()
	h := hostileHost(t, "127.0.0.2")
	speakSync(h, hugeStatus(), serve)
	return h
}

// connect has from dial to.
func connect(t *testing.T, from *Host, to host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := from.h.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// dial has a bare host dial a Host (an inbound connection for it).
func dial(ctx context.Context, from host.Host, to *Host) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return from.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.h.Addrs()})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, 30*time.Second, what, cond)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func connected(h *Host, p peer.ID) bool { return h.h.Network().Connectedness(p) == network.Connected }
