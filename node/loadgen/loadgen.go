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
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/wallet"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("loadgen: invalid config")

// Config is one load run.
type Config struct {
	// Nodes are the nodes' API base URLs, e.g. http://127.0.0.1:8081. The
	// first one funds the wallets and is the reference for confirmations.
	Nodes []string
	// Token is the first node's API token (for its wallet).
	Token string
	// Wallets is how many wallets send to each other (default 10).
	Wallets int
	// Fund is what each wallet gets, in base units (default 10 coins).
	Fund uint64
	// Rate is the target transfers per second (default 5).
	Rate float64
	// Count stops sending after this many transfers (0: no limit).
	Count int
	// Duration stops sending after this long (default 1 minute).
	Duration time.Duration
	// ConfirmWait bounds the wait for confirmations after sending
	// (default 2 minutes; negative: do not wait).
	ConfirmWait time.Duration
	// Grace is how long a wallet waits before spending a coin created
	// through another node (default 2 s).
	Grace time.Duration
	// FeeRate is the fee in base units per byte (default 2).
	FeeRate uint64
	// Workers is how many submissions may be in flight at once (default
	// 4); the node acknowledges a transfer only once it is stored.
	Workers int
	// Keep leaves the coins in the throwaway wallets at the end; by
	// default they go back to the first node's wallet.
	Keep bool
	// Seed seeds the choice of payers, payees and amounts (0: random).
	Seed uint64
	// Progress, if set, receives a line about every second.
	Progress io.Writer
}

func (c *Config) setDefaults() error {
	if err := CheckNodes(c.Nodes); err != nil {
		return err
	}
	if c.Wallets == 0 {
		c.Wallets = 10
	}
	if c.Fund == 0 {
		c.Fund = 10 * chain.UnitsPerCoin
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Duration == 0 {
		c.Duration = time.Minute
	}
	if c.ConfirmWait == 0 {
		c.ConfirmWait = 2 * time.Minute
	}
	if c.Grace == 0 {
		c.Grace = 2 * time.Second
	}
	if c.FeeRate == 0 {
		c.FeeRate = 2
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	switch {
	case c.Wallets < 2 || c.Wallets > 10_000:
		return fmt.Errorf("%w: --wallets %d: want 2 to 10000", ErrConfig, c.Wallets)
	case c.Rate < 0 || math.IsNaN(c.Rate) || c.Rate > 10_000:
		return fmt.Errorf("%w: --rate %v: want up to 10000 per second", ErrConfig, c.Rate)
	case c.Workers < 1 || c.Workers > 256:
		return fmt.Errorf("%w: --workers %d: want 1 to 256", ErrConfig, c.Workers)
	case c.Count < 0:
		return fmt.Errorf("%w: --count must not be negative", ErrConfig)
	case c.Duration < 0 || c.Duration > 24*time.Hour:
		return fmt.Errorf("%w: --duration %v: want up to 24h", ErrConfig, c.Duration)
	case c.ConfirmWait > 24*time.Hour:
		return fmt.Errorf("%w: --confirm-wait %v: want up to 24h", ErrConfig, c.ConfirmWait)
	case c.Fund < 10*minSplit:
		return fmt.Errorf("%w: --fund %d: want at least %d base units", ErrConfig, c.Fund, 10*minSplit)
	case c.Token == "":
		return fmt.Errorf("%w: the first node's API token is needed to fund the wallets", ErrConfig)
	}
	return nil
}

// CheckNodes checks the node URLs: at least one, each http:// or https://
// with a host.
func CheckNodes(nodes []string) error {
	if len(nodes) == 0 {
		return fmt.Errorf("%w: no --node given", ErrConfig)
	}
	for _, n := range nodes {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: node %q is not an http:// or https:// URL", ErrConfig, n)
		}
	}
	return nil
}

// minSplit is the smallest coin a transfer splits; smaller ones are paid
// whole.
const minSplit = 100_000

// requestTimeout bounds one API call.
const requestTimeout = 15 * time.Second

// Report is what a run measured. Sent == Accepted + the sum of Rejected;
// Confirmed <= Accepted, and every confirmed transfer was found on the first
// node's main chain at the end.
type Report struct {
	Nodes         []string       `json:"nodes"`
	Wallets       int            `json:"wallets"`
	FundingTxs    []string       `json:"funding_txs"`
	Sent          int            `json:"sent"`
	Skipped       int            `json:"skipped_no_coin_ready"`
	Accepted      int            `json:"accepted"`
	Rejected      map[string]int `json:"rejected"`
	Confirmed     int            `json:"confirmed"`
	Unconfirmed   int            `json:"unconfirmed"`
	SendSeconds   float64        `json:"send_seconds"`
	TargetRate    float64        `json:"target_rate"`
	Throughput    float64        `json:"throughput"`     // accepted per second of sending
	ConfirmedRate float64        `json:"confirmed_rate"` // confirmed per second from the first send to the last confirmation
	Latency       Latency        `json:"confirmation_latency_seconds"`
	PerNode       []NodeCounts   `json:"per_node"`
	ConfirmedTxs  []string       `json:"confirmed_txids"`
	Returned      uint64         `json:"returned"` // base units swept back to the first node's wallet
	ReturnTxs     int            `json:"return_txs"`
	ReturnErrors  []string       `json:"return_errors,omitempty"`
}

// Latency summarises submission-to-confirmation times, in seconds.
type Latency struct {
	N      int     `json:"n"`
	P50    float64 `json:"p50"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Poll   float64 `json:"poll_interval"`
	Source string  `json:"source"`
}

// NodeCounts is the traffic one node took.
type NodeCounts struct {
	Node     string `json:"node"`
	Sent     int    `json:"sent"`
	Accepted int    `json:"accepted"`
}

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

// sweep sends what the wallets still hold back to a fresh address of the
// first node's wallet, so runs do not drain it: one transaction per wallet
// (per 400 coins), through the first node.
func (g *Generator) sweep(ctx context.Context) (returned uint64, txs int, errs []string) {
	addr, err := g.clients[0].NewAddress(ctx)
	if err != nil {
		return 0, 0, []string{fmt.Sprintf("new address on %s: %v", g.cfg.Nodes[0], err)}
	}
	to, err := wallet.DecodeAddress(addr.Address, g.params)
	if err != nil {
		return 0, 0, []string{fmt.Sprintf("node gave address %q: %v", addr.Address, err)}
	}
	for _, w := range g.wallets {
		for len(w.coins) > 0 {
			batch := w.coins[:min(len(w.coins), maxSweepInputs)]
			w.coins = w.coins[len(batch):]
			var total uint64
			tx := &chain.Tx{Version: 1}
			for _, c := range batch {
				tx.TxIn = append(tx.TxIn, chain.TxIn{PrevOut: c.op, Sequence: chain.MaxSequence})
				total += c.value
			}
			fee := g.cfg.FeeRate * uint64(wallet.EstimateSize(len(batch), 1))
			if total <= fee+wallet.DustLimit {
				continue
			}
			tx.TxOut = []chain.TxOut{{Value: total - fee, PkScript: to.Script()}}
			sh := chain.NewSigHashes(tx)
			for i, c := range batch {
				if err = chain.SignP2PKH(tx, i, w.priv, c.value, sh); err != nil {
					break
				}
			}
			if err == nil {
				cctx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, err = g.clients[0].SubmitTx(cctx, tx)
				cancel()
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("return %s from %s: %v", wallet.FormatAmount(total-fee), w.addr, err))
				continue
			}
			returned += total - fee
			txs++
		}
	}
	return returned, txs, errs
}

// fund pays every wallet from the first node's wallet and waits until each
// node has every funding transaction.
func (g *Generator) fund(ctx context.Context) ([]string, error) {
	var ids []string
	for i, w := range g.wallets {
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		sent, err := g.clients[0].Send(cctx, api.Send{To: w.addr.String(), Amount: g.cfg.Fund, FeeRate: g.cfg.FeeRate})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("fund wallet %d from %s: %w", i, g.cfg.Nodes[0], err)
		}
		txid, err := chain.ParseHash(sent.TxID)
		if err != nil {
			return nil, fmt.Errorf("fund wallet %d: node answered txid %q: %w", i, sent.TxID, err)
		}
		// The funding transaction pays the wallet's script once; find it.
		cctx, cancel = context.WithTimeout(ctx, requestTimeout)
		tx, err := g.clients[0].Tx(cctx, sent.TxID)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("fund wallet %d: read back %s: %w", i, sent.TxID, err)
		}
		found := false
		for k, out := range tx.Outputs {
			if out.Address == w.addr.String() && out.Value == g.cfg.Fund {
				w.coins = append(w.coins, coin{op: chain.OutPoint{Hash: txid, Index: uint32(k)}, value: out.Value, origin: 0, at: time.Time{}})
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("fund wallet %d: transaction %s does not pay %s", i, sent.TxID, w.addr)
		}
		ids = append(ids, sent.TxID)
	}
	g.progress("funded %d wallets with %s each from %s", len(g.wallets), wallet.FormatAmount(g.cfg.Fund), g.cfg.Nodes[0])
	// Every node must have the funding before its wallets spend it.
	deadline := time.Now().Add(time.Minute)
	for n, c := range g.clients {
		for _, id := range ids {
			for {
				cctx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, err := c.Tx(cctx, id)
				cancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("node %s has not seen funding transaction %s after a minute: are the nodes connected? (%v)", g.cfg.Nodes[n], id, err)
				}
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}
	return ids, nil
}

// job is one transfer on its way to a node.
type job struct {
	tx       *chain.Tx
	txid     chain.Hash
	from, to *lgWallet
	spent    coin
	at       time.Time
	err      error
}

// send submits transfers at the target rate until the count, the duration
// or ctx ends it. This goroutine alone owns the wallets' coins: it builds
// each transfer and hands it to one of Config.Workers submitters, and it
// credits the new coins when the node has accepted the transfer, so a
// transfer never spends an output its node has not seen yet.
func (g *Generator) send(ctx context.Context) {
	workers := g.cfg.Workers
	jobs := make(chan *job, 4*workers)
	results := make(chan *job, 4*workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				cctx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, j.err = g.clients[j.from.node].SubmitTx(cctx, j.tx)
				cancel()
				results <- j
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	interval := time.Duration(float64(time.Second) / g.cfg.Rate)
	deadline := time.Now().Add(g.cfg.Duration)
	next := time.Now()
	issued, inflight := 0, 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	ended := time.NewTimer(g.cfg.Duration)
	defer ended.Stop()
	done := ctx.Done()
	stopping := false
	for {
		if !stopping && (ctx.Err() != nil || !time.Now().Before(deadline) || (g.cfg.Count > 0 && issued >= g.cfg.Count)) {
			stopping = true
		}
		if stopping && inflight == 0 {
			return
		}
		var tick <-chan time.Time
		if !stopping && inflight < cap(jobs) {
			timer.Reset(max(time.Until(next), 0))
			tick = timer.C
		}
		select {
		case r := <-results:
			inflight--
			g.settle(r)
		case <-tick:
			if lag := time.Since(next); lag > time.Second {
				next = time.Now() // too far behind: do not burst to catch up
			}
			next = next.Add(interval)
			issued++
			if j := g.build(); j != nil {
				jobs <- j // never blocks: inflight < cap(jobs)
				inflight++
			}
		case <-done:
			stopping, done = true, nil
		case <-ended.C:
			stopping = true
		}
	}
}

// build makes one payment from a random wallet with a spendable coin to
// another wallet, to go through the payer's node; nil when no wallet has a
// coin ready.
func (g *Generator) build() *job {
	now := time.Now()
	fee := g.cfg.FeeRate * uint64(wallet.EstimateSize(1, 2))
	var from *lgWallet
	pick := -1
	for try := 0; try < 2*len(g.wallets) && pick < 0; try++ {
		w := g.wallets[g.rng.IntN(len(g.wallets))]
		// Dust is not worth a transfer: the wallet forgets it.
		w.coins = slices.DeleteFunc(w.coins, func(c coin) bool { return c.value <= fee+wallet.DustLimit })
		for i, c := range w.coins {
			if c.origin == w.node || now.Sub(c.at) >= g.cfg.Grace {
				from, pick = w, i
				break
			}
		}
	}
	if pick < 0 {
		g.mu.Lock()
		g.skipped++
		g.mu.Unlock()
		return nil
	}
	to := g.wallets[g.rng.IntN(len(g.wallets))]
	for to == from {
		to = g.wallets[g.rng.IntN(len(g.wallets))]
	}
	c := from.coins[pick]
	from.coins = slices.Delete(from.coins, pick, pick+1)
	tx := &chain.Tx{Version: 1, TxIn: []chain.TxIn{{PrevOut: c.op, Sequence: chain.MaxSequence}}}
	if c.value < minSplit || c.value < 2*(fee+wallet.DustLimit) {
		tx.TxOut = []chain.TxOut{{Value: c.value - fee, PkScript: to.script}}
	} else {
		amount := uint64(float64(c.value) * (0.1 + 0.5*g.rng.Float64()))
		tx.TxOut = []chain.TxOut{{Value: amount, PkScript: to.script}, {Value: c.value - amount - fee, PkScript: from.script}}
	}
	if err := chain.SignP2PKH(tx, 0, from.priv, c.value, chain.NewSigHashes(tx)); err != nil {
		from.coins = append(from.coins, c)
		return nil
	}
	return &job{tx: tx, txid: tx.TxHash(), from: from, to: to, spent: c, at: now}
}

// settle records a submission's outcome and credits the new coins.
func (g *Generator) settle(j *job) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent++
	g.perNode[j.from.node].Sent++
	if j.err != nil {
		g.rejected[reason(j.err)]++
		if !isConflict(j.err) {
			j.from.coins = append(j.from.coins, j.spent) // the coin is still unspent
		}
		return
	}
	g.perNode[j.from.node].Accepted++
	st := &sentTx{txid: j.txid, sent: j.at}
	g.txs[j.txid] = st
	g.order = append(g.order, st)
	now := time.Now()
	j.to.coins = append(j.to.coins, coin{op: chain.OutPoint{Hash: j.txid, Index: 0}, value: j.tx.TxOut[0].Value, origin: j.from.node, at: now})
	if len(j.tx.TxOut) > 1 {
		j.from.coins = append(j.from.coins, coin{op: chain.OutPoint{Hash: j.txid, Index: 1}, value: j.tx.TxOut[1].Value, origin: j.from.node, at: now})
	}
}

// reason names a rejection: the API's error code, or the kind of failure.
func reason(err error) string {
	var ce *client.Error
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "transport_error"
}

// isConflict reports whether a rejection means the coin is spent (the API
// answers 409 for a double spend or a conflict).
func isConflict(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == 409
}

// watch follows the first node's tip and marks transfers confirmed when a
// block holding them appears.
func (g *Generator) watch(ctx context.Context, seen int32) {
	c := g.clients[0]
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		st, err := c.Status(cctx)
		cancel()
		if err != nil {
			continue // a slow answer: try at the next tick
		}
		for h := seen + 1; h <= st.Height && ctx.Err() == nil; h++ {
			cctx, cancel := context.WithTimeout(ctx, requestTimeout)
			b, err := c.Block(cctx, fmt.Sprint(h))
			cancel()
			if err != nil {
				break
			}
			now := time.Now()
			g.mu.Lock()
			for _, tx := range b.Transactions {
				if id, err := chain.ParseHash(tx.TxID); err == nil {
					if s := g.txs[id]; s != nil && s.confirmed.IsZero() {
						s.confirmed = now
					}
				}
			}
			g.mu.Unlock()
			seen = h
		}
	}
}

// waitConfirmed waits until every accepted transfer was seen in a block,
// or d passes.
func (g *Generator) waitConfirmed(ctx context.Context, d time.Duration) {
	deadline := time.After(d)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		g.mu.Lock()
		pending := 0
		for _, s := range g.order {
			if s.confirmed.IsZero() {
				pending++
			}
		}
		g.mu.Unlock()
		if pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}

// report prints a progress line every second until ctx ends.
func (g *Generator) report(ctx context.Context, start time.Time) {
	if g.cfg.Progress == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g.mu.Lock()
		confirmed := 0
		for _, s := range g.order {
			if !s.confirmed.IsZero() {
				confirmed++
			}
		}
		rej := 0
		for _, n := range g.rejected {
			rej += n
		}
		line := fmt.Sprintf("%5.0fs  sent %d  accepted %d  rejected %d%s  confirmed %d  pending %d",
			time.Since(start).Seconds(), g.sent, len(g.order), rej, reasons(g.rejected), confirmed, len(g.order)-confirmed)
		g.mu.Unlock()
		g.progress("%s", line)
	}
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// finish checks every accepted transfer on the first node's chain and
// builds the report. A transfer counts as confirmed only if the node says
// it is in a main-chain block now.
func (g *Generator) finish(ctx context.Context, funding []string, start time.Time, sendTime time.Duration) *Report {
	g.mu.Lock()
	order := slices.Clone(g.order)
	r := &Report{
		Nodes: g.cfg.Nodes, Wallets: len(g.wallets), FundingTxs: funding, Sent: g.sent, Skipped: g.skipped, Accepted: len(order),
		Rejected: make(map[string]int), SendSeconds: sendTime.Seconds(), TargetRate: g.cfg.Rate,
		PerNode: slices.Clone(g.perNode),
	}
	for k, v := range g.rejected {
		r.Rejected[k] = v
	}
	g.mu.Unlock()
	var lat []float64
	var last time.Time
	for _, s := range order {
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		tx, err := g.clients[0].Tx(cctx, s.txid.String())
		cancel()
		if err != nil || tx.Confirmations < 1 {
			r.Unconfirmed++
			continue
		}
		at := s.confirmed
		if at.IsZero() {
			at = time.Now() // mined after the last poll
		}
		r.Confirmed++
		r.ConfirmedTxs = append(r.ConfirmedTxs, s.txid.String())
		lat = append(lat, at.Sub(s.sent).Seconds())
		if at.After(last) {
			last = at
		}
	}
	if sendTime > 0 {
		r.Throughput = float64(r.Accepted) / sendTime.Seconds()
	}
	if r.Confirmed > 0 {
		r.ConfirmedRate = float64(r.Confirmed) / last.Sub(start).Seconds()
	}
	r.Latency = summarize(lat)
	return r
}

func summarize(xs []float64) Latency {
	l := Latency{N: len(xs), Poll: pollInterval.Seconds(), Source: "first seen in a block of the first node, polled"}
	if len(xs) == 0 {
		return l
	}
	slices.Sort(xs)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	l.P50, l.P95, l.Max, l.Mean = at(0.5), at(0.95), xs[len(xs)-1], sum/float64(len(xs))
	return l
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	rej := 0
	for _, n := range r.Rejected {
		rej += n
	}
	lines := []string{
		fmt.Sprintf("nodes        %s", strings.Join(r.Nodes, ", ")),
		fmt.Sprintf("wallets      %d, funded by %d transactions", r.Wallets, len(r.FundingTxs)),
		fmt.Sprintf("sent         %d in %.1fs (target %g/s): %d accepted, %d rejected%s; %d skipped (no coin ready)", r.Sent, r.SendSeconds, r.TargetRate, r.Accepted, rej, reasons(r.Rejected), r.Skipped),
		fmt.Sprintf("throughput   %.2f accepted/s while sending; %.2f confirmed/s overall", r.Throughput, r.ConfirmedRate),
		fmt.Sprintf("confirmed    %d of %d accepted (%d not yet)", r.Confirmed, r.Accepted, r.Unconfirmed),
	}
	if r.Latency.N > 0 {
		lines = append(lines, fmt.Sprintf("latency      submission to confirmation: p50 %.2fs, p95 %.2fs, max %.2fs (polled every %.2fs)",
			r.Latency.P50, r.Latency.P95, r.Latency.Max, r.Latency.Poll))
	}
	for _, n := range r.PerNode {
		lines = append(lines, fmt.Sprintf("  %-30s sent %d, accepted %d", n.Node, n.Sent, n.Accepted))
	}
	if r.ReturnTxs > 0 || len(r.ReturnErrors) > 0 {
		lines = append(lines, fmt.Sprintf("returned     %s to the first node's wallet in %d transactions", wallet.FormatAmount(r.Returned), r.ReturnTxs))
	}
	for _, e := range r.ReturnErrors {
		lines = append(lines, "  not returned: "+e)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
