package node

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/apiserver"
	"github.com/minichain/minichain/node/query"
	"github.com/minichain/minichain/wallet"
)

// actions is what the API may change in the node (apiserver.Node): each
// call goes to the component that owns it, through the node's own paths in
// (SubmitTx), so the API has none of its own.
type actions struct{ n *Node }

var _ apiserver.Node = actions{}

func (a actions) SubmitLocalTx(ctx context.Context, tx *chain.Tx) error {
	_, err := a.n.SubmitTx(ctx, tx, true)
	return err
}

// Send pays from the node's wallet and submits the payment. The change
// address is kept only once the node accepted the payment.
func (a actions) Send(ctx context.Context, req api.Send) (api.Sent, error) {
	n := a.n
	to, err := wallet.DecodeAddress(strings.TrimSpace(req.To), n.params)
	if err != nil {
		return api.Sent{}, err
	}
	if req.Amount == 0 {
		return api.Sent{}, query.BadRequest("invalid_amount", "amount must be a positive number of base units")
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

func (a actions) WalletView() (api.Wallet, error) {
	n := a.n
	coins, err := n.wallet.Coins(ledger{n})
	if err != nil {
		return api.Wallet{}, err
	}
	bal := wallet.SumCoins(coins)
	per := map[string]uint64{}
	for _, c := range coins {
		if c.Confirmed && !c.SpentInPool {
			per[n.views.AddressOf(c.PkScript)] += c.Value
		}
	}
	v := api.Wallet{Encrypted: n.wallet.Encrypted(), Balance: api.WalletBalance(bal), Addresses: []api.WalletAddress{}}
	for _, info := range n.wallet.Addresses() {
		s := info.Address.String()
		v.Addresses = append(v.Addresses, api.WalletAddress{Address: s, Path: info.Path, Change: info.Change, Balance: per[s]})
	}
	return v, nil
}

func (a actions) NewAddress() (api.NewAddress, error) {
	addr, err := a.n.wallet.NewAddress(false)
	if err != nil {
		return api.NewAddress{}, err
	}
	for _, info := range a.n.wallet.Addresses() {
		if info.Address == addr {
			return api.NewAddress{Address: addr.String(), Path: info.Path}, nil
		}
	}
	return api.NewAddress{Address: addr.String()}, nil
}

func (a actions) Mining() api.Mining {
	s := a.n.miner.Stats()
	return api.Mining{Mining: s.Mining, Threads: s.Workers, Hashrate: s.HashesPerSec}
}

func (a actions) StartMining() { a.n.miner.Start() }

func (a actions) StopMining() { a.n.miner.Stop() }

func (a actions) Generate(ctx context.Context, blocks int) ([]chain.Hash, error) {
	return a.n.miner.Generate(ctx, blocks)
}

func (a actions) AddPeer(ctx context.Context, multiaddr string) (api.Peer, error) {
	if a.n.p2p == nil {
		return api.Peer{}, &query.StatusError{Status: http.StatusConflict, Code: "p2p_disabled",
			Message: "this node runs without a network (no --p2p-listen)"}
	}
	p, err := a.n.p2p.Connect(ctx, multiaddr)
	if err != nil {
		return api.Peer{}, &query.StatusError{Status: http.StatusBadGateway, Code: "connect_failed", Message: err.Error()}
	}
	return query.PeerView(p), nil
}

func (a actions) ValidateChain(ctx context.Context, progress func(done, total int32)) (chain.ValidationReport, error) {
	return a.n.chain.ValidateChain(ctx, time.Now(), progress)
}

func (a actions) RequestShutdown() { a.n.RequestShutdown() }
