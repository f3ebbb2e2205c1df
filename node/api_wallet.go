package node

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/wallet"
)

func (n *Node) handleWallet(w http.ResponseWriter, r *http.Request) error {
	coins, err := n.wallet.Coins(ledger{n})
	if err != nil {
		return err
	}
	bal := wallet.SumCoins(coins)
	per := map[string]uint64{}
	for _, c := range coins {
		if c.Confirmed && !c.SpentInPool {
			per[n.addressOf(c.PkScript)] += c.Value
		}
	}
	v := api.Wallet{Encrypted: n.wallet.Encrypted(), Balance: api.WalletBalance(bal), Addresses: []api.WalletAddress{}}
	for _, a := range n.wallet.Addresses() {
		s := a.Address.String()
		v.Addresses = append(v.Addresses, api.WalletAddress{Address: s, Path: a.Path, Change: a.Change, Balance: per[s]})
	}
	return ok(w, v)
}

func (n *Node) handleNewAddress(w http.ResponseWriter, r *http.Request) error {
	a, err := n.wallet.NewAddress(false)
	if err != nil {
		return err
	}
	for _, info := range n.wallet.Addresses() {
		if info.Address == a {
			return ok(w, api.NewAddress{Address: a.String(), Path: info.Path})
		}
	}
	return ok(w, api.NewAddress{Address: a.String()})
}

// Send pays from the node's wallet and submits the payment.
func (n *Node) Send(ctx context.Context, req api.Send) (api.Sent, error) {
	to, err := wallet.DecodeAddress(strings.TrimSpace(req.To), n.params)
	if err != nil {
		return api.Sent{}, err
	}
	if req.Amount == 0 {
		return api.Sent{}, badRequest("invalid_amount", "amount must be a positive number of base units")
	}
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	pay, err := n.wallet.BuildPayment(ledger{n}, to, req.Amount,
		wallet.PayOptions{FeeRate: req.FeeRate, MaxFeeRate: n.cfg.MaxFeeRate, Force: req.Force})
	if err != nil {
		return api.Sent{}, err
	}
	if _, err := n.SubmitTx(ctx, pay.Tx, true); err != nil {
		return api.Sent{}, err
	}
	if err := n.wallet.KeepChange(pay); err != nil {
		n.log.Error("the payment was accepted but its change address could not be saved in the wallet", "txid", pay.Tx.TxHash(), "err", err)
	}
	out := api.Sent{TxID: pay.Tx.TxHash().String(), Fee: pay.Fee, Change: pay.Change}
	if pay.ChangeAddress != nil {
		out.ChangeAddress = pay.ChangeAddress.String()
	}
	n.log.Info("payment sent", "txid", out.TxID, "to", to.String(), "amount", req.Amount, "fee", pay.Fee)
	return out, nil
}

func (n *Node) handleSend(w http.ResponseWriter, r *http.Request) error {
	var req api.Send
	if err := readJSON(r, &req); err != nil {
		return err
	}
	out, err := n.Send(r.Context(), req)
	if err != nil {
		return err
	}
	return ok(w, out)
}

func (n *Node) miningView() api.Mining {
	s := n.miner.Stats()
	return api.Mining{Mining: s.Mining, Threads: s.Workers, Hashrate: s.HashesPerSec}
}

func (n *Node) handleMiningStart(w http.ResponseWriter, r *http.Request) error {
	n.miner.Start()
	n.log.Info("mining started")
	return ok(w, n.miningView())
}

func (n *Node) handleMiningStop(w http.ResponseWriter, r *http.Request) error {
	n.miner.Stop()
	n.log.Info("mining stopped")
	return ok(w, n.miningView())
}

// maxGenerate bounds one generate call.
const maxGenerate = 1000

func (n *Node) handleGenerate(w http.ResponseWriter, r *http.Request) error {
	var req api.Generate
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Blocks < 1 || req.Blocks > maxGenerate {
		return badRequest("invalid_blocks", "blocks must be 1 to %d", maxGenerate)
	}
	extendWriteDeadline(w, 10*time.Minute)
	hashes, err := n.miner.Generate(r.Context(), req.Blocks)
	if err != nil {
		return err
	}
	out := api.Generated{Blocks: []string{}}
	for _, h := range hashes {
		out.Blocks = append(out.Blocks, h.String())
	}
	return ok(w, out)
}

// extendWriteDeadline lets a long call outlive the server's write timeout.
func extendWriteDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// handleValidate re-validates the whole chain. With "Accept:
// application/x-ndjson" it streams progress lines and then the result;
// otherwise it answers with the result alone.
func (n *Node) handleValidate(w http.ResponseWriter, r *http.Request) error {
	stream := strings.Contains(r.Header.Get("Accept"), "application/x-ndjson")
	rc := http.NewResponseController(w)
	start := time.Now()
	var (
		mu       sync.Mutex
		enc      *json.Encoder
		lastSent time.Time
	)
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc = json.NewEncoder(w)
	}
	progress := func(done, total int32) {
		if !stream {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done != total && time.Since(lastSent) < 200*time.Millisecond {
			return
		}
		lastSent = time.Now()
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		_ = enc.Encode(api.Progress{Progress: &api.ProgressBody{Done: done + 1, Total: total + 1}})
		_ = rc.Flush()
	}
	extendWriteDeadline(w, time.Hour)
	rep, err := n.chain.ValidateChain(r.Context(), time.Now(), progress)
	res := api.Validation{Valid: rep.Valid, Tip: rep.Tip.String(), Height: rep.Height, Blocks: rep.Blocks,
		Utxos: rep.Utxos, BadHeight: rep.BadHeight, Error: rep.Error, Seconds: time.Since(start).Seconds()}
	if stream {
		if err != nil {
			_, code, msg := classify(err)
			return enc.Encode(api.Progress{Error: &api.ErrorBody{Code: code, Message: msg}})
		}
		return enc.Encode(api.Progress{Result: &res})
	}
	if err != nil {
		return err
	}
	n.log.Info("chain validated", "valid", res.Valid, "height", res.Height, "seconds", res.Seconds)
	return ok(w, res)
}

func (n *Node) handleShutdown(w http.ResponseWriter, r *http.Request) error {
	n.log.Info("shutdown requested through the API")
	writeJSON(w, http.StatusOK, api.Shutdown{ShuttingDown: true})
	n.RequestShutdown()
	return nil
}

// registerGauges adds the series read at scrape time.
func (n *Node) registerGauges() {
	m := n.metrics
	m.gaugeFunc("minichain_mempool_txs", "Transactions in the mempool.", func() float64 { return float64(n.mempool.Count()) })
	m.gaugeFunc("minichain_mempool_bytes", "Serialized size of the mempool.", func() float64 { return float64(n.mempool.Bytes()) })
	m.gaugeFunc("minichain_mempool_orphans", "Orphan transactions waiting for parents.", func() float64 { return float64(n.mempool.OrphanCount()) })
	m.gaugeFunc("minichain_hashrate", "The miner's hashes per second.", func() float64 { return n.miner.Stats().HashesPerSec })
	m.gaugeFunc("minichain_blocks_mined_total", "Blocks found by this node's miner.", func() float64 { return float64(n.miner.Stats().BlocksFound) })
	m.height.Set(float64(n.chain.BestSnapshot().Height))
}
