package loadgen

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/wallet"
)

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
