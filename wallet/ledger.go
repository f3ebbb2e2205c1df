package wallet

import (
	"sort"

	"github.com/minichain/minichain/chain"
)

// Ledger is the wallet's view of the chain and the transaction pool. The
// node implements it in process; the command line implements it over the
// node's HTTP API. The wallet itself never talks to the network.
type Ledger interface {
	// TipHeight is the height of the main chain's tip.
	TipHeight() (int32, error)
	// AddressUtxos returns the confirmed unspent outputs paying pkh.
	AddressUtxos(pkh [20]byte) ([]chain.AddressUtxo, error)
	// AddressHistory returns the confirmed transactions touching pkh.
	AddressHistory(pkh [20]byte) ([]chain.AddressTx, error)
	// PendingTxs returns the transactions waiting in the pool.
	PendingTxs() ([]*chain.Tx, error)
}

// Coin is an output the wallet could spend.
type Coin struct {
	OutPoint      chain.OutPoint
	Value         uint64
	PkScript      []byte
	Height        int32 // 0 when unconfirmed
	Confirmed     bool
	IsCoinbase    bool
	Mature        bool // spendable in the next block
	SpentInPool   bool // a pool transaction already spends it
	Confirmations int32
}

// Balance sums a wallet's money.
type Balance struct {
	// Confirmed is every confirmed coin not spent in the pool, mature or
	// not; Immature the part of it in coinbases not yet spendable.
	Confirmed uint64 `json:"confirmed"`
	Immature  uint64 `json:"immature"`
	// Unconfirmed is what pool transactions pay the wallet, not yet spent.
	Unconfirmed uint64 `json:"unconfirmed"`
	// Spendable is what a payment can use now: mature confirmed coins and
	// unconfirmed ones, not spent in the pool.
	Spendable uint64 `json:"spendable"`
	// PendingOut is the confirmed money pool transactions spend.
	PendingOut uint64 `json:"pending_out"`
}

// HistoryEntry is one transaction touching the wallet, with its net effect.
type HistoryEntry struct {
	TxID     chain.Hash `json:"txid"`
	Height   int32      `json:"height"` // -1 while unconfirmed
	Received uint64     `json:"received"`
	Sent     uint64     `json:"sent"`
}

// Coins returns every coin of the wallet's addresses: confirmed ones (marked
// when a pool transaction spends them) and unconfirmed outputs of pool
// transactions paying the wallet.
func (w *Wallet) Coins(l Ledger) ([]Coin, error) {
	pending, err := l.PendingTxs()
	if err != nil {
		return nil, err
	}
	return w.coins(l, pending)
}

// coins is Coins given the pool's transactions.
func (w *Wallet) coins(l Ledger, pending []*chain.Tx) ([]Coin, error) {
	tip, err := l.TipHeight()
	if err != nil {
		return nil, err
	}
	spentInPool := make(map[chain.OutPoint]bool)
	for _, tx := range pending {
		for i := range tx.TxIn {
			spentInPool[tx.TxIn[i].PrevOut] = true
		}
	}
	var coins []Coin
	for _, pkh := range w.PubKeyHashes() {
		utxos, err := l.AddressUtxos(pkh)
		if err != nil {
			return nil, err
		}
		script := chain.PayToPubKeyHashScript(pkh)
		for _, u := range utxos {
			coins = append(coins, Coin{OutPoint: u.OutPoint, Value: u.Value, PkScript: script,
				Height: u.Height, Confirmed: true, IsCoinbase: u.IsCoinbase,
				Mature:        !u.IsCoinbase || tip+1-u.Height >= w.params.CoinbaseMaturity,
				SpentInPool:   spentInPool[u.OutPoint],
				Confirmations: tip - u.Height + 1})
		}
	}
	for _, tx := range pending {
		txid := tx.TxHash()
		for i := range tx.TxOut {
			pkh, ok := chain.ExtractPubKeyHash(tx.TxOut[i].PkScript)
			if !ok || !w.Owns(pkh) {
				continue
			}
			op := chain.OutPoint{Hash: txid, Index: uint32(i)}
			coins = append(coins, Coin{OutPoint: op, Value: tx.TxOut[i].Value, PkScript: tx.TxOut[i].PkScript,
				Mature: true, SpentInPool: spentInPool[op]})
		}
	}
	sort.Slice(coins, func(i, j int) bool {
		a, b := coins[i].OutPoint, coins[j].OutPoint
		if a.Hash != b.Hash {
			return string(a.Hash[:]) < string(b.Hash[:])
		}
		return a.Index < b.Index
	})
	return coins, nil
}

// Balance sums the wallet's coins.
func (w *Wallet) Balance(l Ledger) (Balance, error) {
	coins, err := w.Coins(l)
	if err != nil {
		return Balance{}, err
	}
	return SumCoins(coins), nil
}

// SumCoins sums coins as Balance does, for a caller that has them already.
func SumCoins(coins []Coin) Balance {
	var b Balance
	for _, c := range coins {
		switch {
		case c.SpentInPool:
			if c.Confirmed {
				b.PendingOut += c.Value
			}
		case c.Confirmed:
			b.Confirmed += c.Value
			if c.Mature {
				b.Spendable += c.Value
			} else {
				b.Immature += c.Value
			}
		default:
			b.Unconfirmed += c.Value
			b.Spendable += c.Value
		}
	}
	return b
}

// History returns the transactions touching the wallet, newest first, each
// with what the wallet received and sent in it; pool transactions come
// first with height -1.
func (w *Wallet) History(l Ledger) ([]HistoryEntry, error) {
	byTx := make(map[chain.Hash]*HistoryEntry)
	var order []chain.Hash
	add := func(txid chain.Hash, height int32, recv, sent uint64) {
		e := byTx[txid]
		if e == nil {
			e = &HistoryEntry{TxID: txid, Height: height}
			byTx[txid] = e
			order = append(order, txid)
		}
		e.Received += recv
		e.Sent += sent
	}
	// One read of the pool for the coins and the pending entries, so both
	// see the same pool.
	pending, err := l.PendingTxs()
	if err != nil {
		return nil, err
	}
	coins, err := w.coins(l, pending)
	if err != nil {
		return nil, err
	}
	value := make(map[chain.OutPoint]uint64, len(coins))
	for _, c := range coins {
		value[c.OutPoint] = c.Value
	}
	for _, tx := range pending {
		var recv, sent uint64
		for i := range tx.TxIn {
			sent += value[tx.TxIn[i].PrevOut]
		}
		for i := range tx.TxOut {
			if pkh, ok := chain.ExtractPubKeyHash(tx.TxOut[i].PkScript); ok && w.Owns(pkh) {
				recv += tx.TxOut[i].Value
			}
		}
		if recv > 0 || sent > 0 {
			add(tx.TxHash(), -1, recv, sent)
		}
	}
	for _, pkh := range w.PubKeyHashes() {
		hist, err := l.AddressHistory(pkh)
		if err != nil {
			return nil, err
		}
		for _, h := range hist {
			add(h.TxID, h.Height, h.Received, h.Sent)
		}
	}
	out := make([]HistoryEntry, 0, len(order))
	for _, id := range order {
		out = append(out, *byTx[id])
	}
	sort.SliceStable(out, func(i, j int) bool {
		hi, hj := out[i].Height, out[j].Height
		if hi == -1 || hj == -1 {
			return hi == -1 && hj != -1
		}
		return hi > hj
	})
	return out, nil
}
