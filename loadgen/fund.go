package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/wallet"
)

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
