// Package loadgen sends transaction traffic to running nodes through their
// HTTP API and measures what becomes of it.
//
// It creates Config.Wallets wallets (keys held in memory only), funds each
// from the first node's wallet (POST /api/v1/wallet/send, which needs that
// node's API token), waits until every node has the funding transactions,
// then sends random transfers between the wallets at Config.Rate per second
// until Config.Count transfers were sent or Config.Duration passed. Wallet i
// sends through node i mod len(Nodes), so the traffic is spread over the
// nodes; a wallet spends a coin that another node created only after
// Config.Grace, so gossip has carried its parent. It then waits (at most
// Config.ConfirmWait) for the accepted transfers to be mined, and checks
// each one against the first node's chain.
//
// At the end what the wallets still hold goes back to the first node's
// wallet (unless Config.Keep), so repeated runs do not drain it. It talks to
// no host but the given nodes, and every phase is bounded in time.
package loadgen

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/wallet"
)

// pollInterval is how often the first node's tip is polled for new
// blocks: the resolution of the latency figures.
const pollInterval = 250 * time.Millisecond

type coin struct {
	op     chain.OutPoint
	value  uint64
	origin int       // node the creating transaction went to
	at     time.Time // when it was created
}

type lgWallet struct {
	priv   *secp256k1.PrivateKey
	addr   wallet.Address
	script []byte
	node   int
	coins  []coin
}

type sentTx struct {
	txid      chain.Hash
	sent      time.Time
	confirmed time.Time // zero until seen in a block
}

// Generator is one load run. New checks the config and the nodes; Run runs
// it once.
type Generator struct {
	cfg     Config
	params  *chain.Params
	clients []*client.Client
	rng     *mrand.Rand
	wallets []*lgWallet

	outMu sync.Mutex // serialises progress lines

	mu       sync.Mutex
	txs      map[chain.Hash]*sentTx
	order    []*sentTx
	sent     int
	skipped  int // ticks with no coin ready to spend
	rejected map[string]int
	perNode  []NodeCounts
}

// New checks the config and asks every node for its status: they must all
// answer and be on the same network.
func New(ctx context.Context, cfg Config) (*Generator, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, txs: make(map[chain.Hash]*sentTx), rejected: make(map[string]int)}
	seed := cfg.Seed
	if seed == 0 {
		seed = mrand.Uint64() // randomly seeded by the runtime
	}
	g.rng = mrand.New(mrand.NewPCG(seed, 0x6c6f6164))
	var genesis string
	for i, u := range cfg.Nodes {
		c := client.New(u, "", nil)
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		st, err := c.Status(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", u, err)
		}
		p, err := chain.NetworkParams(st.Network)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", u, err)
		}
		if i == 0 {
			genesis, g.params = st.Genesis, p
		} else if st.Genesis != genesis {
			return nil, fmt.Errorf("node %s is on another network (genesis %s, first node %s)", u, st.Genesis, genesis)
		}
		token := ""
		if i == 0 {
			token = cfg.Token
		}
		g.clients = append(g.clients, client.New(u, token, p))
		g.perNode = append(g.perNode, NodeCounts{Node: u})
	}
	for i := 0; i < cfg.Wallets; i++ {
		priv, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		addr := wallet.AddressFromPubKey(priv.PubKey().SerializeCompressed(), g.params)
		g.wallets = append(g.wallets, &lgWallet{priv: priv, addr: addr, script: addr.Script(), node: i % len(cfg.Nodes)})
	}
	return g, nil
}

// progress writes a line to Config.Progress; the sender and the reporter
// both write, one line at a time.
func (g *Generator) progress(format string, a ...any) {
	if g.cfg.Progress != nil {
		g.outMu.Lock()
		fmt.Fprintf(g.cfg.Progress, format+"\n", a...)
		g.outMu.Unlock()
	}
}

// Run funds the wallets, sends the traffic, waits for confirmations and
// returns the report. Cancelling ctx ends the current phase early; the
// report then covers what happened so far.
func (g *Generator) Run(ctx context.Context) (*Report, error) {
	// The first node's height, read before any coin moves: if it cannot
	// be followed, fail now rather than after the wallets were funded.
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	st, err := g.clients[0].Status(cctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", g.cfg.Nodes[0], err)
	}
	funding, err := g.fund(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	var wg sync.WaitGroup
	wg.Go(func() { g.watch(watchCtx, st.Height) })
	wg.Go(func() { g.report(watchCtx, start) })
	g.send(ctx)
	sendTime := time.Since(start)
	g.progress("sending done after %v; waiting up to %v for confirmations", sendTime.Round(time.Millisecond), max(g.cfg.ConfirmWait, 0))
	if g.cfg.ConfirmWait > 0 {
		g.waitConfirmed(ctx, g.cfg.ConfirmWait)
	}
	stopWatching()
	wg.Wait()
	// The last phases run even when ctx was cancelled (the coins must go
	// back), each under a budget of its own.
	finalCtx := context.WithoutCancel(ctx)
	r := g.finish(finalCtx, funding, start, sendTime)
	if !g.cfg.Keep {
		sweepCtx, cancel := context.WithTimeout(finalCtx, 2*time.Minute)
		defer cancel()
		r.Returned, r.ReturnTxs, r.ReturnErrors = g.sweep(sweepCtx)
		g.progress("returned %s to %s's wallet in %d transactions", wallet.FormatAmount(r.Returned), g.cfg.Nodes[0], r.ReturnTxs)
	}
	return r, nil
}

// maxSweepInputs bounds the inputs of one sweep transaction, to stay well
// inside the standard size.
const maxSweepInputs = 400
