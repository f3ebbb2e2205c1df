package miner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minichain/minichain/chain"
)

// startTemplate makes info the template being mined, whose search cancel
// stops, unless the miner is no longer wanted (errStopped) or, with
// mayDrop, a Refresh came while the template was built (errBuildRaced).
func (m *Miner) startTemplate(info *TemplateInfo, cancel context.CancelCauseFunc, mayDrop bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case !m.wanted(): // Stop, or a Generate cancelled, while the template was built
		return errStopped
	case m.dirty && mayDrop: // Refresh while the template was built: it may miss the change
		return errBuildRaced
	}
	m.cancelCur = cancel
	m.tmplInfo = info
	m.templates++
	return nil
}

// mine searches one template on the workers until a block is found, the
// template is cancelled (Refresh, Stop, a new tip, ctx) or too old, then
// waits for every worker to exit and submits the block found, if any and if
// the tip has not moved. It returns why the search ended.
//
// With mayDrop, a template that a Refresh overtook while it was built is
// dropped at once (errBuildRaced) so the next one sees the change. Run
// allows that once in a row, so a stream of Refresh calls faster than
// templates are built cannot keep the workers idle.
func (m *Miner) mine(ctx context.Context, tmpl *Template, tick *time.Ticker, mayDrop bool) error {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	info := tmpl.Info()
	if err := m.startTemplate(&info, cancel, mayDrop); err != nil {
		return err
	}
	m.log.Debug("mining template", "height", info.Height, "prev", info.PrevBlock,
		"txs", info.TxCount, "fees", info.Fees, "workers", m.workers)

	s := m.newSearch(tmpl)
	found := make(chan *chain.Block, m.workers) // one send per worker at most
	var (
		wg   sync.WaitGroup
		live atomic.Int32
	)
	live.Store(int32(m.workers))
	for w := range m.workers {
		wg.Go(func() {
			b, err := s.work(tctx, w)
			switch {
			case b != nil:
				found <- b
				cancel(errSolved)
			case errors.Is(err, errStaleTip):
				cancel(errStaleTip)
			case err != nil && !errors.Is(err, errExhausted) && tctx.Err() == nil:
				m.log.Error("mining worker failed", "worker", w, "err", err)
				cancel(fmt.Errorf("%w: %w", errWorkerFailed, err))
			}
			if live.Add(-1) == 0 && b == nil {
				cancel(errExhausted) // a no-op unless every worker ran out
			}
		})
	}

	age := time.NewTimer(templateMaxAge)
	defer age.Stop()
	var block *chain.Block
wait:
	for {
		select {
		case block = <-found:
			break wait
		case <-tctx.Done():
			break wait
		case <-age.C:
			cancel(errTemplateAged)
			break wait
		case <-tick.C:
			m.sample()
		}
	}
	wg.Wait()
	if block == nil {
		select {
		case block = <-found: // found just as the search was cancelled
		default:
		}
	}
	cause := context.Cause(tctx)
	m.mu.Lock()
	m.cancelCur = nil
	m.mu.Unlock()
	if m.hooks.stopped != nil {
		m.hooks.stopped(cause)
	}
	m.log.Debug("template done", "height", info.Height, "cause", cause)
	if block != nil && ctx.Err() == nil {
		m.submit(tmpl, block)
	}
	return cause
}

// newSearch sets up the search over tmpl, with the test hooks applied.
func (m *Miner) newSearch(tmpl *Template) *search {
	prev := tmpl.PrevBlock()
	s := &search{
		tmpl:      tmpl,
		kernel:    m.kernel,
		target:    tmpl.target,
		workers:   m.workers,
		lastNonce: math.MaxUint32,
		stale: func() bool {
			best := m.cfg.Chain.BestSnapshot()
			return best == nil || best.Hash != prev
		},
		hashes:      &m.hashes,
		extraNonces: m.hooks.extraNonces,
		visit:       m.hooks.visit,
	}
	if m.hooks.target != nil {
		s.target = *m.hooks.target
	}
	if n := m.hooks.nonceSpace; n > 0 && n <= math.MaxUint32 {
		s.lastNonce = uint32(n - 1)
	}
	return s
}

// submit hands a found block to Submit unless the tip has moved since the
// template was built, and gives its hash to the oldest Generate call. Takes
// mu after Submit returns.
func (m *Miner) submit(tmpl *Template, b *chain.Block) {
	hash := b.BlockHash()
	if best := m.cfg.Chain.BestSnapshot(); best == nil || best.Hash != tmpl.PrevBlock() {
		m.stale.Add(1)
		m.log.Info("dropped a block found on a stale tip", "hash", hash, "height", tmpl.Height())
		return
	}
	err := m.cfg.Submit(b)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.rejected.Add(1)
		m.log.Error("mined block rejected", "hash", hash, "height", tmpl.Height(), "err", err)
		if len(m.requests) > 0 {
			r := m.requests[0]
			m.requests = m.requests[1:]
			r.err = fmt.Errorf("miner: submit block %s: %w", hash, err)
			close(r.done)
		}
		return
	}
	m.found.Add(1)
	m.lastFound = time.Now()
	m.log.Info("mined a block", "hash", hash, "height", tmpl.Height(), "txs", tmpl.TxCount(), "reward", tmpl.Reward())
	if len(m.requests) > 0 {
		r := m.requests[0]
		r.hashes = append(r.hashes, hash)
		if len(r.hashes) == r.n {
			m.requests = m.requests[1:]
			close(r.done)
		}
	}
}
