package miner

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/miner/sha256d"
)

func TestNewValidates(t *testing.T) {
	c, _ := newChain(t, chain.RegtestParams)
	ok := Config{Params: chain.RegtestParams, Chain: c, PayTo: minerKey.Script,
		Submit: func(*chain.Block) error { return nil }}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no params", func(c *Config) { c.Params = nil }},
		{"no chain", func(c *Config) { c.Chain = nil }},
		{"no payee", func(c *Config) { c.PayTo = nil }},
		{"payee script too long", func(c *Config) { c.PayTo = make([]byte, chain.MaxScriptSize+1) }},
		{"no submit", func(c *Config) { c.Submit = nil }},
		{"negative workers", func(c *Config) { c.Workers = -1 }},
		{"unknown kernel", func(c *Config) { c.Kernel = sha256d.Kernel(99) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
	m, err := New(ok)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if st := m.Stats(); st.Workers != runtime.GOMAXPROCS(0) || st.Mining || st.Template != nil || st.Kernel != sha256d.Best().String() {
		t.Fatalf("fresh miner stats %+v", st)
	}
	for _, k := range sha256d.Kernels() {
		cfg := ok
		cfg.Kernel = k
		m, err := New(cfg)
		switch {
		case k.Supported() && (err != nil || m.Stats().Kernel != k.String()):
			t.Errorf("New with kernel %v: %v", k, err)
		case !k.Supported() && (!errors.Is(err, ErrInvalidConfig) || !errors.Is(err, sha256d.ErrUnsupported)):
			t.Errorf("New with unsupported kernel %v: %v, want ErrInvalidConfig and sha256d.ErrUnsupported", k, err)
		}
	}
}

// checkMined checks that hashes are the main chain's last blocks, each with
// a coinbase paying reward(height) to the miner.
func checkMined(t *testing.T, h *harness, hashes []chain.Hash, reward func(height int32) uint64) {
	t.Helper()
	best := h.chain.BestSnapshot()
	if int(best.Height) < len(hashes) {
		t.Fatalf("height %d, mined %d blocks", best.Height, len(hashes))
	}
	first := best.Height - int32(len(hashes)) + 1
	for i, hash := range hashes {
		height := first + int32(i)
		onChain, err := h.chain.BlockHashByHeight(height)
		if err != nil || onChain != hash {
			t.Fatalf("block %d: main chain has %s (%v), miner returned %s", height, onChain, err, hash)
		}
		b, err := h.chain.BlockByHash(hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := chain.CheckBlockSanity(b, h.params); err != nil {
			t.Fatalf("block %d: %v", height, err)
		}
		cb := b.Transactions[0]
		if got, want := cb.TxOut[0].Value, reward(height); got != want {
			t.Errorf("block %d: coinbase pays %d, want %d", height, got, want)
		}
	}
}

func TestGenerateRegtest(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hashes, err := h.miner.Generate(ctx, 5)
	if err != nil || len(hashes) != 5 {
		t.Fatalf("Generate: %d blocks, %v", len(hashes), err)
	}
	checkMined(t, h, hashes, func(height int32) uint64 { return chain.CalcBlockSubsidy(height, h.params) })
	st := h.miner.Stats()
	if st.BlocksFound != 5 || st.Hashes < 5 || len(h.submittedBlocks()) != 5 || st.StaleBlocks != 0 || st.RejectedBlocks != 0 {
		t.Fatalf("stats %+v, %d submitted; want 5 blocks found and submitted", st, len(h.submittedBlocks()))
	}
	// Generate alone does not turn continuous mining on: the miner is idle
	// again.
	waitFor(t, 5*time.Second, "the miner to go idle", func() bool { return h.miner.Stats().Template == nil })
	if got, _ := h.miner.Generate(ctx, 0); got != nil {
		t.Fatalf("Generate(0) = %v", got)
	}
}

// TestGenerateDevnet mines a real devnet block on each kernel.
func TestGenerateDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("devnet difficulty: about 2^24 hashes per block")
	}
	for _, k := range kernels(t) {
		t.Run(k.String(), func(t *testing.T) { testGenerateDevnet(t, k) })
	}
}

func testGenerateDevnet(t *testing.T, k sha256d.Kernel) {
	h := newHarness(t, chain.DevnetParams, func(c *Config) { c.Workers = 2; c.Kernel = k })
	h.run()
	// One block at devnet's starting difficulty: a few seconds, but tens
	// of seconds under the race detector.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	hashes, err := h.miner.Generate(ctx, 1)
	if err != nil || len(hashes) != 1 {
		t.Fatalf("Generate: %d blocks, %v", len(hashes), err)
	}
	checkMined(t, h, hashes, func(height int32) uint64 { return chain.CalcBlockSubsidy(height, h.params) })
	hdr, _, err := h.chain.HeaderByHash(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Bits != h.params.GenesisBlock.Header.Bits {
		t.Fatalf("block bits %08x, devnet requires %08x", hdr.Bits, h.params.GenesisBlock.Header.Bits)
	}
	if err := chain.CheckProofOfWork(hashes[0], hdr.Bits, h.params.PowLimit); err != nil {
		t.Fatalf("block %s: %v", hashes[0], err)
	}
	st := h.miner.Stats()
	t.Logf("devnet: 1 block, %d hashes in %v", st.Hashes, time.Since(start).Round(time.Millisecond))
}

// TestGenerateIncludesMempoolTxs mines a block holding two pool
// transactions; the chain accepts it and its coinbase claims subsidy + fees.
func TestGenerateIncludesMempoolTxs(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	parent, child, fees := fundPool(t, h.params, h.pool)
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hashes, err := h.miner.Generate(ctx, 1)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	checkMined(t, h, hashes, func(height int32) uint64 { return chain.CalcBlockSubsidy(height, h.params) + fees })
	b, err := h.chain.BlockByHash(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Transactions) != 3 || b.Transactions[1].TxHash() != parent.TxHash() || b.Transactions[2].TxHash() != child.TxHash() {
		t.Fatalf("block holds %d transactions, want coinbase, parent, child", len(b.Transactions))
	}
	for _, tx := range []*chain.Tx{parent, child} {
		if ok, err := h.chain.HaveTx(tx.TxHash()); !ok || err != nil {
			t.Fatalf("transaction %s not confirmed: %v", tx.TxHash(), err)
		}
	}
}

// startHashing starts continuous mining towards an impossible target and
// waits until the workers have hashed something.
func startHashing(t *testing.T, h *harness) {
	t.Helper()
	h.miner.Start()
	waitFor(t, 10*time.Second, "the workers to hash", func() bool {
		st := h.miner.Stats()
		return st.Template != nil && st.Hashes > 0
	})
}

// TestRefreshStopsWorkers shows that Refresh stops every worker of the
// current template within 100 ms (asserted with a generous bound; the time
// measured is logged) and that a new template follows.
func TestRefreshStopsWorkers(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	stopped := make(chan error, 16)
	h.miner.hooks.target = impossible
	h.miner.hooks.stopped = func(cause error) { stopped <- cause }
	h.run()
	startHashing(t, h)

	for i := range 3 {
		h.miner.mu.Lock()
		before := h.miner.templates
		h.miner.mu.Unlock()
		start := time.Now()
		h.miner.Refresh()
		select {
		case cause := <-stopped:
			elapsed := time.Since(start)
			t.Logf("refresh %d: all %d workers stopped %v after Refresh", i, h.miner.workers, elapsed)
			if !errors.Is(cause, errRefresh) {
				t.Fatalf("cause %v, want errRefresh", cause)
			}
			if elapsed > 2*time.Second {
				t.Fatalf("workers took %v to stop, want well under 100 ms", elapsed)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("workers did not stop within 10 s of Refresh")
		}
		waitFor(t, 5*time.Second, "a new template", func() bool {
			h.miner.mu.Lock()
			defer h.miner.mu.Unlock()
			return h.miner.templates > before
		})
	}
}

// TestTipChangeStopsWorkers moves the tip under the miner without calling
// Refresh: the workers notice it themselves and the next template builds on
// the new tip.
func TestTipChangeStopsWorkers(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	stopped := make(chan error, 16)
	h.miner.hooks.target = impossible
	h.miner.hooks.stopped = func(cause error) { stopped <- cause }
	h.run()
	startHashing(t, h)

	b := chaintest.MineOnTip(h.chain, chaintest.NewKey("rival"), "rival")
	select {
	case cause := <-stopped:
		if !errors.Is(cause, errStaleTip) {
			t.Fatalf("cause %v, want errStaleTip", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("workers did not notice the new tip within 10 s")
	}
	waitFor(t, 5*time.Second, "a template on the new tip", func() bool {
		st := h.miner.Stats()
		return st.Template != nil && st.Template.PrevBlock == b.BlockHash() && st.Template.Height == 2
	})
}

// TestStaleBlockNotSubmitted moves the tip after the worker has started on
// a template but before it finds the block (regtest: the first few nonces
// will do, long before the next tip check). The block found must be dropped,
// and the block Generate returns must build on the new tip.
func TestStaleBlockNotSubmitted(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, func(c *Config) { c.Workers = 1 })
	genesis := h.params.GenesisHash
	rival := chaintest.BlockOn(h.params, genesis, 0, h.params.GenesisBlock.Header.Timestamp, chaintest.NewKey("rival"), "rival")
	var once sync.Once
	var rivalErr error
	h.miner.hooks.visit = func(_ int, hdr *[chain.HeaderSize]byte) {
		once.Do(func() { _, rivalErr = h.chain.ProcessBlock(rival, time.Now()) })
	}
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hashes, err := h.miner.Generate(ctx, 1)
	if err != nil || rivalErr != nil {
		t.Fatalf("Generate: %v; rival block: %v", err, rivalErr)
	}
	sub := h.submittedBlocks()
	if len(sub) != 1 {
		t.Fatalf("%d blocks submitted, want 1", len(sub))
	}
	if sub[0].Header.PrevBlock != rival.BlockHash() || sub[0].BlockHash() != hashes[0] {
		t.Fatalf("submitted a block on %s, want one on the rival %s", sub[0].Header.PrevBlock, rival.BlockHash())
	}
	if st := h.miner.Stats(); st.StaleBlocks != 1 || st.BlocksFound != 1 {
		t.Fatalf("stats %+v, want 1 stale and 1 found", st)
	}
	if best := h.chain.BestSnapshot(); best.Height != 2 || best.Hash != hashes[0] {
		t.Fatalf("tip %s at %d, want the mined block at 2", best.Hash, best.Height)
	}
}

func TestStartStop(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	h.run()
	if st := h.miner.Stats(); st.Mining || st.Template != nil {
		t.Fatalf("before Start: %+v", st)
	}
	h.miner.Start()
	waitFor(t, 10*time.Second, "3 blocks", func() bool { return h.miner.Stats().BlocksFound >= 3 })
	h.miner.Stop()
	waitFor(t, 5*time.Second, "the miner to go idle", func() bool { return h.miner.Stats().Template == nil })
	st := h.miner.Stats()
	if st.Mining {
		t.Fatal("Mining after Stop")
	}
	if got := h.chain.BestSnapshot().Height; uint64(got) != st.BlocksFound {
		t.Fatalf("height %d, %d blocks found", got, st.BlocksFound)
	}
	time.Sleep(100 * time.Millisecond) // an observation window, not synchronisation
	if again := h.miner.Stats(); again.BlocksFound != st.BlocksFound || again.Template != nil {
		t.Fatalf("mined after Stop: %+v, then %+v", st, again)
	}

	h.miner.Start()
	waitFor(t, 10*time.Second, "more blocks after Start", func() bool { return h.miner.Stats().BlocksFound >= st.BlocksFound+2 })
	h.miner.Stop()
}

// TestRunLeavesNoGoroutine mines with all workers and checks that once Run
// returns no goroutine of the miner is left.
func TestRunLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHarness(t, chain.RegtestParams, func(c *Config) { c.Workers = 4 })
	h.miner.hooks.target = impossible
	h.run()
	startHashing(t, h)
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Run returned:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.miner.Stats(); st.Template != nil {
		t.Fatalf("template left after Run: %+v", st.Template)
	}
}

func TestGenerateNeedsRun(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	ctx := context.Background()
	if _, err := h.miner.Generate(ctx, 1); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Generate before Run: %v, want ErrNotRunning", err)
	}

	// A call waiting when Run ends gets ErrNotRunning.
	h.miner.hooks.target = impossible
	h.run()
	errc := make(chan error, 1)
	go func() {
		_, err := h.miner.Generate(ctx, 1)
		errc <- err
	}()
	waitFor(t, 10*time.Second, "the workers to hash", func() bool { return h.miner.Stats().Hashes > 0 })
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNotRunning) {
			t.Fatalf("Generate as Run ended: %v, want ErrNotRunning", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Generate still blocked 10 s after Run ended")
	}

	// And a call after Run ended fails at once.
	if _, err := h.miner.Generate(ctx, 1); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Generate after Run: %v, want ErrNotRunning", err)
	}
}

func TestGenerateContext(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	h.miner.hooks.target = impossible
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	hashes, err := h.miner.Generate(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) || len(hashes) != 0 {
		t.Fatalf("Generate: %v, %v; want DeadlineExceeded", hashes, err)
	}
	// Nobody wants blocks any more: the search is cancelled.
	waitFor(t, 5*time.Second, "the miner to go idle", func() bool { return h.miner.Stats().Template == nil })
}

func TestRunTwice(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	h.run()
	if err := h.miner.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run: %v, want ErrAlreadyRunning", err)
	}
}

func TestSubmitErrorFailsGenerate(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	refused := errors.New("refused")
	h.submitErr = refused
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.miner.Generate(ctx, 2); !errors.Is(err, refused) {
		t.Fatalf("Generate: %v, want the Submit error", err)
	}
	if st := h.miner.Stats(); st.RejectedBlocks != 1 || st.BlocksFound != 0 {
		t.Fatalf("stats %+v, want 1 rejected", st)
	}
}

// TestMinerDisjointWorkers runs the controller with 4 workers over a small
// search space: every header of the template is hashed once, then the
// miner waits instead of hashing the same headers again.
func TestMinerDisjointWorkers(t *testing.T) {
	const workers, extraNonces, nonces = 4, 8, 1000
	h := newHarness(t, chain.RegtestParams, func(c *Config) { c.Workers = workers })
	var (
		mu        sync.Mutex
		seen      = map[[chain.HeaderSize]byte]bool{}
		dups      int
		recording atomic.Bool
	)
	recording.Store(true)
	stopped := make(chan error, 16)
	h.miner.hooks = testHooks{
		target: impossible, nonceSpace: nonces, extraNonces: extraNonces,
		visit: func(_ int, hdr *[chain.HeaderSize]byte) {
			if !recording.Load() {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[*hdr] {
				dups++
			}
			seen[*hdr] = true
		},
		stopped: func(cause error) {
			recording.Store(false) // only the first template counts
			stopped <- cause
		},
	}
	h.run()
	h.miner.Start()
	select {
	case cause := <-stopped:
		if !errors.Is(cause, errExhausted) {
			t.Fatalf("cause %v, want errExhausted", cause)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("search space not exhausted within 30 s")
	}
	h.miner.Stop()
	mu.Lock()
	defer mu.Unlock()
	if want := extraNonces * nonces; len(seen) != want || dups != 0 {
		t.Fatalf("%d distinct headers, %d repeated; want %d and 0", len(seen), dups, want)
	}
	if st := h.miner.Stats(); st.Hashes < extraNonces*nonces {
		t.Fatalf("%d hashes counted, want at least %d", st.Hashes, extraNonces*nonces)
	}
}

func TestStatsHashRate(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, nil)
	h.miner.hooks.target = impossible
	h.run()
	startHashing(t, h)
	waitFor(t, 10*time.Second, "a hash rate", func() bool { return h.miner.Stats().HashesPerSec > 0 })
	st := h.miner.Stats()
	if !st.Mining || st.Template == nil || st.Template.Height != 1 || st.Template.Reward != chain.CalcBlockSubsidy(1, h.params) {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("hash rate %.0f/s with %d workers", st.HashesPerSec, st.Workers)
}

// refreshingTxs is a TxSource that calls Refresh while each template is
// built, as a node receiving transactions faster than templates are built
// would.
type refreshingTxs struct {
	m     *Miner
	calls atomic.Int32
}

func (r *refreshingTxs) Ordered() []*mempool.TxDesc {
	r.calls.Add(1)
	r.m.Refresh()
	return nil
}

// TestRefreshDuringBuild checks that a template overtaken by a Refresh while
// it was built is built again, but only once in a row: a stream of Refresh
// calls cannot keep the workers from mining.
func TestRefreshDuringBuild(t *testing.T) {
	src := &refreshingTxs{}
	h := newHarness(t, chain.RegtestParams, func(c *Config) { c.Mempool = src })
	src.m = h.miner
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.miner.Generate(ctx, 3); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// Each block: one template dropped, one mined.
	if got := src.calls.Load(); got != 6 {
		t.Fatalf("%d templates built for 3 blocks, want 6", got)
	}
}

// TestMinIntervalPacesContinuousMining: with MinInterval, continuous mining
// waits that long after each block; Generate is not paced. The interval is
// an hour, so the test needs no timing: unpaced regtest mining would make
// thousands of blocks in the half second it watches.
func TestMinIntervalPacesContinuousMining(t *testing.T) {
	h := newHarness(t, chain.RegtestParams, func(c *Config) {
		c.Workers = 1
		c.MinInterval = time.Hour
	})
	h.run()
	h.miner.Start()
	waitFor(t, 10*time.Second, "the first block", func() bool { return h.chain.BestSnapshot().Height >= 1 })
	time.Sleep(500 * time.Millisecond)
	if n := h.chain.BestSnapshot().Height; n != 1 {
		t.Fatalf("%d blocks: continuous mining did not wait the interval", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.miner.Generate(ctx, 5); err != nil {
		t.Fatalf("Generate must not be paced: %v", err)
	}
	if n := h.chain.BestSnapshot().Height; n != 6 {
		t.Fatalf("height %d after Generate(5), want 6", n)
	}
	h.miner.Stop()
}
