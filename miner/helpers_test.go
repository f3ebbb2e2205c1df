package miner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/chain/store"
)

// minerKey receives the coinbases of the test miners.
var minerKey = chaintest.NewKey("miner test payee")

// impossible is a target no hash meets in practice: the hash would have to
// be zero.
var impossible = &[chain.HashSize]byte{}

// newChain returns an in-memory chain and an empty mempool on params.
func newChain(t testing.TB, params *chain.Params) (*chain.Chain, *mempool.Mempool) {
	t.Helper()
	c, err := chain.New(chain.Config{Params: params, DB: store.NewMemory()})
	if err != nil {
		t.Fatalf("chain.New: %v", err)
	}
	pool, err := mempool.New(mempool.Config{Params: params, Chain: c})
	if err != nil {
		t.Fatalf("mempool.New: %v", err)
	}
	return c, pool
}

// harness is a miner over a real chain and mempool whose Submit is the
// chain's ProcessBlock, recording every block submitted.
type harness struct {
	t      *testing.T
	params *chain.Params
	chain  *chain.Chain
	pool   *mempool.Mempool
	miner  *Miner

	mu        sync.Mutex
	submitted []*chain.Block
	submitErr error // returned by Submit instead of processing, when set

	cancel context.CancelFunc
	runErr chan error
}

// newHarness builds a harness; edit may change the config before New.
func newHarness(t *testing.T, params *chain.Params, edit func(*Config)) *harness {
	t.Helper()
	c, pool := newChain(t, params)
	h := &harness{t: t, params: params, chain: c, pool: pool}
	cfg := Config{
		Params:  params,
		Chain:   c,
		Mempool: pool,
		PayTo:   minerKey.Script,
		Submit:  h.submit,
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.miner = m
	return h
}

func (h *harness) submit(b *chain.Block) error {
	h.mu.Lock()
	h.submitted = append(h.submitted, b)
	serr := h.submitErr
	h.mu.Unlock()
	if serr != nil {
		return serr
	}
	_, err := h.chain.ProcessBlock(b, time.Now())
	return err
}

func (h *harness) submittedBlocks() []*chain.Block {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*chain.Block(nil), h.submitted...)
}

// run starts Run on its own goroutine; the test's cleanup stops it and
// checks that it returned nil.
func (h *harness) run() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runErr = make(chan error, 1)
	go func() { h.runErr <- h.miner.Run(ctx) }()
	// Generate needs Run to have started.
	waitFor(h.t, 5*time.Second, "Run to start", func() bool {
		h.miner.mu.Lock()
		defer h.miner.mu.Unlock()
		return h.miner.running
	})
	h.t.Cleanup(func() {
		if err := h.stop(); err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// stop cancels Run and waits for it (at most 10 s). Calling it twice is
// fine.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.runErr:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("Run did not return within 10 s of its context ending")
	}
}

// waitFor polls cond every few milliseconds until it holds, failing the test
// after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fixedTxs is a TxSource returning a fixed list.
type fixedTxs []*mempool.TxDesc

func (f fixedTxs) Ordered() []*mempool.TxDesc { return f }

func desc(tx *chain.Tx) *mempool.TxDesc {
	return &mempool.TxDesc{Tx: tx, TxID: tx.TxHash(), Size: tx.SerializeSize()}
}

// fakeChain is a ChainSource with a fixed tip and no UTXOs.
type fakeChain struct{ best *chain.BestState }

func (f fakeChain) BestSnapshot() *chain.BestState { return f.best }
func (fakeChain) FetchUtxo(chain.OutPoint) (*chain.UtxoEntry, error) {
	return nil, nil
}
