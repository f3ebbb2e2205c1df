package hostile_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/p2p"
	"github.com/minichain/minichain/p2p/hostile"
)

var params = chain.RegtestParams

// TestCraftedBlocks: the blocks the toolkit builds are what their names
// say: orphans and the crash block pass every context-free rule, the big
// chain connects, a damaged copy keeps the hash and breaks the Merkle root.
func TestCraftedBlocks(t *testing.T) {
	o1, o2 := hostile.OrphanBlock(params, 200_000, 1), hostile.OrphanBlock(params, 200_000, 2)
	for _, o := range []*chain.Block{o1, o2} {
		if err := chain.CheckBlockSanity(o, params); err != nil {
			t.Fatalf("orphan fails sanity: %v", err)
		}
		if n := o.SerializeSize(); n < 199_000 || n > 200_000 {
			t.Fatalf("orphan of %d bytes, want about 200,000", n)
		}
	}
	if o1.BlockHash() == o2.BlockHash() || o1.Header.PrevBlock == o2.Header.PrevBlock {
		t.Fatal("orphans of different seeds are the same")
	}

	crash := hostile.CrashBlock(params, hostile.GenesisTip(params), "t")
	if err := chain.CheckBlockSanity(crash, params); err != nil {
		t.Fatalf("crash block fails sanity: %v", err)
	}
	if s := crash.Transactions[0].TxIn[0].SigScript; !bytes.HasPrefix(s, []byte{0x4c, 0x00}) {
		t.Fatalf("crash coinbase script %x does not start with an empty OP_PUSHDATA1", s)
	}

	c, err := chain.New(chain.Config{Params: params, DB: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	big, _ := hostile.BigChain(params, hostile.GenesisTip(params), hostile.FaucetFunds(params), 2, 100_000)
	for _, b := range big {
		if n := b.SerializeSize(); n < 99_000 || n > 100_000 {
			t.Fatalf("big block of %d bytes, want about 100,000", n)
		}
		if _, err := c.ProcessBlock(b, time.Now()); err != nil {
			t.Fatalf("big block rejected: %v", err)
		}
	}
	if c.BestSnapshot().Hash != big[1].BlockHash() {
		t.Fatal("the big chain is not the main chain")
	}

	d := hostile.Damaged(big[1])
	if d.BlockHash() != big[1].BlockHash() {
		t.Fatal("the damaged copy has another hash")
	}
	if err := chain.CheckBlockSanity(d, params); !errors.Is(err, chain.ErrBadMerkleRoot) {
		t.Fatalf("damaged copy: %v, want a bad Merkle root", err)
	}
	if err := chain.CheckBlockSanity(big[1], params); err != nil {
		t.Fatalf("damaging a copy changed the original: %v", err)
	}
}

// handler feeds a Host's blocks straight into a chain.
type handler struct{ c *chain.Chain }

func (h handler) HandleBlock(_ context.Context, _ peer.ID, b *chain.Block) p2p.BlockOutcome {
	res, err := h.c.ProcessBlock(b, time.Now())
	switch {
	case err == nil && res.Orphan:
		return p2p.BlockOutcome{Verdict: p2p.Ignore, Missing: &res.MissingAncestor}
	case err == nil:
		return p2p.BlockOutcome{Verdict: p2p.Accept}
	}
	return p2p.BlockOutcome{Verdict: p2p.Reject}
}
func (handler) HandleTx(context.Context, peer.ID, *chain.Tx) p2p.Verdict { return p2p.Ignore }
func (handler) PendingTxs() []*chain.Tx                                  { return nil }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newPeer(t *testing.T, cfg hostile.PeerConfig) *hostile.Peer {
	t.Helper()
	cfg.Params = params
	p, err := hostile.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestWireAgainstRealHost: the toolkit's hand-written encoding of the sync
// protocol is what the real p2p package speaks. A real Host syncs a chain
// from a ChainServer, asks a Liar for headers after reading its status, and
// answers the toolkit's own requests.
func TestWireAgainstRealHost(t *testing.T) {
	c, err := chain.New(chain.Config{Params: params, DB: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(p2p.Config{Params: params, Chain: c, Handler: handler{c}, KeyFile: t.TempDir() + "/key",
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, RequestTimeout: 5 * time.Second, StatusInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	ai, err := hostile.AddrInfo(h.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}

	// Sync from a ChainServer: status, headers and blocks as the server
	// encodes them.
	srv := hostile.NewChainServer(params, hostile.GenesisTip(params))
	blocks, _ := hostile.BigChain(params, hostile.GenesisTip(params), hostile.FaucetFunds(params), 3, 20_000)
	srv.Add(blocks...)
	feeder := newPeer(t, hostile.PeerConfig{Responder: srv})
	if err := feeder.Connect(ctx, ai); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the host to sync from the ChainServer", func() bool { return c.BestSnapshot().Hash == srv.Tip().Hash })

	// The toolkit's requests, as the host answers them.
	resp, err := feeder.Request(ctx, h.ID(), hostile.EncodeGetHeaders([]chain.Hash{params.GenesisHash}, chain.Hash{}))
	if err != nil || resp[0] != hostile.MsgHeaders {
		t.Fatalf("get headers: %x, %v", resp[:min(len(resp), 8)], err)
	}
	hs, err := hostile.DecodeHeaders(resp[1:])
	if err != nil || len(hs) != 3 || hs[2].BlockHash() != blocks[2].BlockHash() {
		t.Fatalf("headers: %d, %v", len(hs), err)
	}
	resp, err = feeder.Request(ctx, h.ID(), hostile.EncodeGetBlocks([]chain.Hash{blocks[0].BlockHash(), blocks[1].BlockHash()}))
	if err != nil || resp[0] != hostile.MsgBlocks {
		t.Fatalf("get blocks: %v", err)
	}
	raws, err := hostile.DecodeRaws(resp[1:])
	if err != nil || len(raws) != 2 || !bytes.Equal(raws[1], blocks[1].Serialize()) {
		t.Fatalf("blocks: %d, %v", len(raws), err)
	}

	// A liar's status decodes: the host believes it enough to ask for
	// headers.
	liar := newPeer(t, hostile.PeerConfig{Responder: hostile.Liar{Params: params, Height: 1e9, Work: new(big.Int).Lsh(big.NewInt(1), 200)}})
	if err := liar.Connect(ctx, ai); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the host to ask the liar for headers", func() bool { return liar.Served(hostile.MsgGetHeaders) > 0 })
}

// TestFloods: the floods and the swarm do what they say against a hostile
// peer (whose own server has no limits).
func TestFloods(t *testing.T) {
	srv := hostile.NewChainServer(params, hostile.GenesisTip(params))
	blocks, _ := hostile.BigChain(params, hostile.GenesisTip(params), hostile.FaucetFunds(params), 2, 20_000)
	srv.Add(blocks...)
	target := newPeer(t, hostile.PeerConfig{Responder: srv})
	ai := peer.AddrInfo{ID: target.ID(), Addrs: target.Host.Addrs()}
	attacker := newPeer(t, hostile.PeerConfig{})
	ctx := context.Background()
	if err := attacker.Connect(ctx, ai); err != nil {
		t.Fatal(err)
	}

	fctx, cancel := context.WithTimeout(ctx, time.Second)
	st := hostile.StreamFlood{Streams: 4, Declared: 64 << 10, Send: 32 << 10}.Run(fctx, attacker, target.ID())
	cancel()
	if st.PeakOpen != 4 || st.Opened < 4 {
		t.Fatalf("stream flood: %+v, want 4 streams held", st)
	}
	if n := target.Served(hostile.MsgPushTxs); n != 0 {
		t.Fatalf("%d half-sent requests were served", n)
	}

	fctx, cancel = context.WithTimeout(ctx, time.Second)
	req := hostile.EncodeGetBlocks([]chain.Hash{blocks[0].BlockHash(), blocks[1].BlockHash()})
	rf := hostile.RequestFlood{Workers: 2, Request: req}.Run(fctx, attacker, target.ID())
	cancel()
	if rf.Opened == 0 || rf.Bytes < rf.Opened*39_000 {
		t.Fatalf("request flood: %+v, want full answers", rf)
	}

	sw, err := hostile.NewSwarm(params, 3, func(int) string { return "/ip4/127.0.0.1/tcp/0" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	fctx, cancel = context.WithCancel(ctx)
	res := make(chan int)
	go func() { r, _ := sw.KeepConnected(fctx, ai, 100*time.Millisecond); res <- r }()
	waitFor(t, "the swarm to connect", func() bool { return sw.Connected(target.ID()) == 3 })
	old := target.Host.Network().ConnsToPeer(sw[0].ID())[0].ID()
	target.Host.Network().ClosePeer(sw[0].ID())
	waitFor(t, "the swarm to redial", func() bool {
		cs := target.Host.Network().ConnsToPeer(sw[0].ID())
		return len(cs) > 0 && cs[0].ID() != old
	})
	cancel()
	if r := <-res; r < 1 {
		t.Fatalf("%d redials, want at least one", r)
	}
}
