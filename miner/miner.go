package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/miner/sha256d"
)

// ChainSource is what the miner needs of the chain: the tip to build on and
// the UTXO set to check template transactions against. *chain.Chain
// implements it.
type ChainSource interface {
	BestSnapshot() *chain.BestState
	FetchUtxo(op chain.OutPoint) (*chain.UtxoEntry, error)
}

// TxSource is where templates take their transactions: in fee-rate order,
// parents before children. *mempool.Mempool implements it.
type TxSource interface {
	Ordered() []*mempool.TxDesc
}

var (
	_ ChainSource = (*chain.Chain)(nil)
	_ TxSource    = (*mempool.Mempool)(nil)
)

// Errors returned by the miner.
var (
	// ErrInvalidConfig is wrapped by New when the Config lacks something.
	ErrInvalidConfig = errors.New("miner: invalid config")
	// ErrNotRunning is returned by Generate when Run is not running, or
	// stopped before the blocks were mined.
	ErrNotRunning = errors.New("miner: not running")
	// ErrAlreadyRunning is returned by Run when another Run is active.
	ErrAlreadyRunning = errors.New("miner: already running")
)

// Timing of the controller.
const (
	// templateMaxAge is how long one template is mined before it is built
	// again (fresh time, new mempool transactions) even without Refresh.
	templateMaxAge = time.Minute
	// templateRetryDelay is the wait after a template could not be built.
	templateRetryDelay = time.Second
	// sampleInterval and sampleCount: the hash rate is averaged over the
	// last sampleCount samples taken every sampleInterval.
	sampleInterval = time.Second
	sampleCount    = 5
)

// Causes of a template's end, for the log.
var (
	errStopped      = errors.New("mining stopped")
	errRefresh      = errors.New("refresh")
	errSolved       = errors.New("block found")
	errTemplateAged = errors.New("template too old")
	errBuildRaced   = errors.New("refresh while the template was built")
	errWorkerFailed = errors.New("worker failed")
)

// Config configures a Miner.
type Config struct {
	// Params are the consensus parameters; required.
	Params *chain.Params
	// Chain gives the tip and the UTXO set; required.
	Chain ChainSource
	// Mempool gives the transactions to include; nil mines coinbase-only
	// blocks. It must not be a typed nil pointer.
	Mempool TxSource
	// PayTo is the locking script of the coinbase output; required.
	PayTo []byte
	// Workers is the number of hashing goroutines; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Submit receives every block found on the current tip; required. It
	// must be the path a block from the network takes (the node's
	// ProcessBlock). It is called from Run's goroutine with no miner lock
	// held, so it may call Refresh.
	Submit func(*chain.Block) error
	// Logger receives the miner's log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock for block times (default time.Now). The hash rate
	// is always measured with the real clock.
	Now func() time.Time
	// Kernel is the nonce-scan kernel (sha256d.Auto, the zero value:
	// the fastest this CPU supports). New refuses one the CPU cannot run.
	Kernel sha256d.Kernel
	// MinInterval paces continuous mining: after it finds a block it
	// waits until this long has passed before the next template. Zero
	// does not pace. Generate is never paced. On regtest, where a block
	// takes two hashes, it keeps a running node from minting thousands of
	// blocks a second.
	MinInterval time.Duration
}

// Stats is a snapshot of the miner's state.
type Stats struct {
	// Mining is true while continuous mining is on (Start).
	Mining bool `json:"mining"`
	// Workers is the number of hashing goroutines per template.
	Workers int `json:"workers"`
	// Kernel is the nonce-scan kernel the workers run (portable, avx2,
	// avx512).
	Kernel string `json:"kernel"`
	// HashesPerSec is the hash rate over the last few seconds.
	HashesPerSec float64 `json:"hashes_per_sec"`
	// Hashes is the number of headers hashed since New.
	Hashes uint64 `json:"hashes"`
	// BlocksFound counts the blocks Submit accepted.
	BlocksFound uint64 `json:"blocks_found"`
	// StaleBlocks counts blocks found on a tip that had moved on; they
	// are dropped, never submitted.
	StaleBlocks uint64 `json:"stale_blocks"`
	// RejectedBlocks counts blocks Submit returned an error for.
	RejectedBlocks uint64 `json:"rejected_blocks"`
	// Template is the template being mined, or nil when idle.
	Template *TemplateInfo `json:"template,omitempty"`
}

// genRequest is one Generate call waiting for its blocks.
type genRequest struct {
	n      int
	hashes []chain.Hash  // guarded by Miner.mu until done is closed
	err    error         // set before done is closed
	done   chan struct{} // closed when the request is finished
}

// Miner builds block templates and searches their proof of work on a pool
// of workers. Run drives it; Start, Stop, Refresh, Generate and Stats may be
// called from any goroutine.
//
// Lock contract: mu guards the fields below it. It is never held while
// hashing, building a template or calling Submit. The counters are atomics
// and need no lock.
type Miner struct {
	// Set by New and never changed.
	cfg       Config
	log       *slog.Logger
	workers   int
	kernel    sha256d.Kernel // resolved: never Auto
	wake      chan struct{}  // buffered(1): something for Run to look at
	started   chan struct{}  // closed when Run first starts
	startOnce sync.Once
	hooks     testHooks // zero outside tests; set before Run

	hashes   atomic.Uint64
	found    atomic.Uint64
	stale    atomic.Uint64
	rejected atomic.Uint64

	mu        sync.Mutex
	running   bool                    // a Run is active
	mining    bool                    // continuous mining is on
	requests  []*genRequest           // pending Generate calls, oldest first
	cancelCur context.CancelCauseFunc // ends the current template's search; nil when idle
	tmplInfo  *TemplateInfo           // the template being mined; nil when idle
	templates uint64                  // templates mined since New
	dirty     bool                    // Refresh since the current template was started
	samples   []rateSample            // hash-rate samples, oldest first
	lastFound time.Time               // when Submit last accepted a block
}

// testHooks let package tests shrink the search space and watch the
// workers. All zero in production.
type testHooks struct {
	target      *[chain.HashSize]byte                       // replaces the template's target
	nonceSpace  uint64                                      // nonces per extra nonce; 0 means 2^32
	extraNonces uint64                                      // extra nonces per template; 0 means 2^64
	visit       func(worker int, h *[chain.HeaderSize]byte) // sees every header hashed
	stopped     func(cause error)                           // after a template's workers all exited
}

type rateSample struct {
	at     time.Time
	hashes uint64
}

// New returns a miner. It starts nothing: call Run.
//
// Errors: ErrInvalidConfig, wrapped, when Params, Chain, PayTo or Submit is
// missing, PayTo is longer than a script may be, Workers is negative, or
// the CPU cannot run the Kernel asked for (then sha256d.ErrUnsupported is
// wrapped too).
func New(cfg Config) (*Miner, error) {
	switch {
	case cfg.Params == nil:
		return nil, fmt.Errorf("%w: Params is required", ErrInvalidConfig)
	case cfg.Chain == nil:
		return nil, fmt.Errorf("%w: Chain is required", ErrInvalidConfig)
	case len(cfg.PayTo) == 0:
		return nil, fmt.Errorf("%w: PayTo is required", ErrInvalidConfig)
	case len(cfg.PayTo) > chain.MaxScriptSize:
		return nil, fmt.Errorf("%w: PayTo of %d bytes exceeds the script limit %d", ErrInvalidConfig, len(cfg.PayTo), chain.MaxScriptSize)
	case cfg.Submit == nil:
		return nil, fmt.Errorf("%w: Submit is required", ErrInvalidConfig)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("%w: Workers is %d", ErrInvalidConfig, cfg.Workers)
	}
	kernel, err := cfg.Kernel.Resolve()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cfg.PayTo = append([]byte(nil), cfg.PayTo...)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Miner{cfg: cfg, log: log, workers: workers, kernel: kernel, wake: make(chan struct{}, 1), started: make(chan struct{})}, nil
}

// signal wakes Run if it is waiting. It never blocks.
func (m *Miner) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Start turns continuous mining on: Run mines block after block until Stop.
// It may be called before or during Run. Takes mu.
func (m *Miner) Start() {
	m.mu.Lock()
	m.mining = true
	m.mu.Unlock()
	m.signal()
}

// Stop turns continuous mining off and cancels the current search unless a
// Generate call still needs blocks. A block found just before may still be
// submitted. Takes mu.
func (m *Miner) Stop() {
	m.mu.Lock()
	m.mining = false
	if len(m.requests) == 0 && m.cancelCur != nil {
		m.cancelCur(errStopped)
	}
	m.mu.Unlock()
	m.signal()
}

// Refresh cancels the current template so that Run builds a new one; the
// node calls it when the tip or the mempool changes. The workers stop within
// 2^16 nonces each, a few milliseconds. Takes mu; never blocks on Run.
func (m *Miner) Refresh() {
	m.mu.Lock()
	m.dirty = true
	if m.cancelCur != nil {
		m.cancelCur(errRefresh)
	}
	m.mu.Unlock()
	m.signal()
}

// Generate mines exactly n blocks that Submit accepts and returns their
// hashes in order, whether or not continuous mining is on. It needs Run to
// be running. Concurrent calls are served one after the other.
//
// Errors: ErrNotRunning (wrapped when Run ended during the call); the
// context's error when ctx ends first; a Submit error for one of the
// blocks. The hashes of the blocks mined so far come with each error.
// Takes mu.
func (m *Miner) Generate(ctx context.Context, n int) ([]chain.Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("miner: generate %d blocks: negative count", n)
	}
	req := &genRequest{n: n, done: make(chan struct{})}
	m.mu.Lock()
	if !m.running {
		m.mu.Unlock()
		return nil, ErrNotRunning
	}
	if n == 0 {
		m.mu.Unlock()
		return nil, nil
	}
	m.requests = append(m.requests, req)
	m.mu.Unlock()
	m.signal()

	select {
	case <-req.done:
		return req.hashes, req.err
	case <-ctx.Done():
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.Index(m.requests, req)
	if i < 0 { // finished meanwhile
		return req.hashes, req.err
	}
	m.requests = slices.Delete(m.requests, i, i+1)
	if !m.mining && len(m.requests) == 0 && m.cancelCur != nil {
		m.cancelCur(errStopped)
	}
	return slices.Clone(req.hashes), fmt.Errorf("miner: generate: %d of %d blocks: %w", len(req.hashes), n, context.Cause(ctx))
}

// WaitRunning blocks until Run has started (nil) or ctx ends. A caller
// that starts Run on another goroutine uses it before calling Generate.
func (m *Miner) WaitRunning(ctx context.Context) error {
	select {
	case <-m.started:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns a snapshot of the miner's state. Takes mu.
func (m *Miner) Stats() Stats {
	now := time.Now()
	hashes := m.hashes.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Stats{
		Mining:         m.mining,
		Workers:        m.workers,
		Kernel:         m.kernel.String(),
		Hashes:         hashes,
		BlocksFound:    m.found.Load(),
		StaleBlocks:    m.stale.Load(),
		RejectedBlocks: m.rejected.Load(),
	}
	if len(m.samples) > 0 {
		first := m.samples[0]
		if dt := now.Sub(first.at).Seconds(); dt > 0 && hashes >= first.hashes {
			st.HashesPerSec = float64(hashes-first.hashes) / dt
		}
	}
	if m.tmplInfo != nil {
		info := *m.tmplInfo
		st.Template = &info
	}
	return st
}

// sample records the hash counter for the rate in Stats. Takes mu.
func (m *Miner) sample() {
	s := rateSample{at: time.Now(), hashes: m.hashes.Load()}
	m.mu.Lock()
	if len(m.samples) >= sampleCount {
		m.samples = slices.Delete(m.samples, 0, len(m.samples)-sampleCount+1)
	}
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

// wanted reports whether there is mining to do. Called with mu held.
func (m *Miner) wanted() bool { return m.mining || len(m.requests) > 0 }

// Run mines while mining is on or Generate calls wait, until ctx ends. It
// owns every worker goroutine and returns only after all have exited; it
// returns nil when ctx ends. Only one Run may be active at a time. Takes mu
// between templates, never while hashing or submitting.
//
// Errors: ErrAlreadyRunning when another Run is active.
func (m *Miner) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return ErrAlreadyRunning
	}
	m.running = true
	m.startOnce.Do(func() { close(m.started) })
	m.samples = m.samples[:0]
	m.mu.Unlock()
	defer m.shutdown()
	m.sample()
	m.log.Info("miner running", "kernel", m.kernel.String(), "lanes", m.kernel.Lanes(), "workers", m.workers)

	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	raced := false // the last template was dropped for a Refresh during its build
	for {
		if !m.waitForWork(ctx, tick) {
			return nil
		}
		if d := m.paceDelay(); d > 0 {
			if !m.sleep(ctx, tick, d) {
				return nil
			}
			continue // the state may have changed meanwhile
		}
		tmpl, err := NewTemplate(m.cfg.Params, m.cfg.Chain, m.cfg.Mempool, m.cfg.PayTo, m.cfg.Now())
		if err != nil {
			m.log.Error("cannot build a block template", "err", err)
			if !m.sleep(ctx, tick, templateRetryDelay) {
				return nil
			}
			continue
		}
		cause := m.mine(ctx, tmpl, tick, !raced)
		raced = errors.Is(cause, errBuildRaced)
		if (errors.Is(cause, errExhausted) || errors.Is(cause, errWorkerFailed)) && !m.sleep(ctx, tick, templateRetryDelay) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// shutdown ends a Run: pending Generate calls fail and the state is idle.
// Takes mu.
func (m *Miner) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.requests {
		r.err = fmt.Errorf("%w: run ended after %d of %d blocks", ErrNotRunning, len(r.hashes), r.n)
		close(r.done)
	}
	m.requests = nil
	m.running = false
	m.cancelCur = nil
	m.tmplInfo = nil
	m.samples = m.samples[:0]
}

// waitForWork blocks until there is mining to do (true) or ctx ends
// (false). While idle, Stats shows no template. Takes mu.
func (m *Miner) waitForWork(ctx context.Context, tick *time.Ticker) bool {
	for {
		m.mu.Lock()
		wanted := m.wanted()
		if wanted {
			m.dirty = false // the template built next sees the change
		} else {
			m.tmplInfo = nil
		}
		m.mu.Unlock()
		if wanted {
			return ctx.Err() == nil
		}
		select {
		case <-ctx.Done():
			return false
		case <-m.wake:
		case <-tick.C:
			m.sample()
		}
	}
}

// paceDelay returns how long continuous mining must still wait after the
// last block it found (Config.MinInterval); 0 when a Generate call waits.
// Takes mu.
func (m *Miner) paceDelay() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.MinInterval <= 0 || len(m.requests) > 0 || m.lastFound.IsZero() {
		return 0
	}
	return m.cfg.MinInterval - time.Since(m.lastFound)
}

// sleep waits d, or until something changes (true), or until ctx ends
// (false).
func (m *Miner) sleep(ctx context.Context, tick *time.Ticker, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-m.wake:
			return true
		case <-t.C:
			return true
		case <-tick.C:
			m.sample()
		}
	}
}
