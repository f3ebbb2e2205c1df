package sim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/wallet"
)

// Traffic constants.
const (
	// txFeeRate is what the generator pays, in base units per byte.
	txFeeRate = 2
	// fanOutWidth is how many outputs one funding transaction has at most.
	fanOutWidth = 400
	// minSplit is the smallest coin the generator splits in two; smaller
	// ones are paid whole.
	minSplit = 100_000
)

// txGen is the traffic: one user per node, each with a key and the coins
// it owns. The faucet of the regtest genesis funds them before time 0, in
// blocks node 0 mines and every node starts with (see fund); then, as a
// Poisson process of rate Config.TxRate, a random user pays part of one of
// its coins to another, through its own node. A user spends only coins
// whose transaction its node already has, as a wallet on that node would.
type txGen struct {
	s     *Sim
	users []simUser
	log   []*txRecord

	sent, accepted, orphaned, skipped int
	rejected                          map[string]int
}

type simUser struct {
	priv   *secp256k1.PrivateKey
	script []byte
	coins  []simCoin
}

type simCoin struct {
	op    chain.OutPoint
	value uint64
}

// txRecord is a transaction the generator sent, for confirmation latency.
type txRecord struct {
	txid chain.Hash
	sent time.Duration
}

func newTxGen(s *Sim) *txGen {
	g := &txGen{s: s, rejected: make(map[string]int)}
	for i := 0; i < s.cfg.Nodes; i++ {
		seed := userKeySeed(s.cfg.Seed, i)
		priv := secp256k1.PrivKeyFromBytes(seed[:])
		g.users = append(g.users, simUser{priv: priv, script: p2pkh(priv)})
	}
	return g
}

func p2pkh(priv *secp256k1.PrivateKey) []byte {
	return chain.PayToPubKeyHashScript(chain.Hash160(priv.PubKey().SerializeCompressed()))
}

// faucetKey is the regtest genesis allocation's key: its secret is public,
// SHA-256 of "minichain regtest faucet" (see devnet/README.md).
func faucetKey(p *chain.Params) (*secp256k1.PrivateKey, simCoin, error) {
	seed := sha256.Sum256([]byte("minichain regtest faucet"))
	priv := secp256k1.PrivKeyFromBytes(seed[:])
	g := p.GenesisBlock.Transactions[0]
	if len(g.TxOut) == 0 || !bytes.Equal(g.TxOut[0].PkScript, p2pkh(priv)) {
		return nil, simCoin{}, errors.New("sim: the regtest genesis does not pay the faucet key")
	}
	return priv, simCoin{op: chain.OutPoint{Hash: g.TxHash(), Index: 0}, value: g.TxOut[0].Value}, nil
}

// start schedules the first payment; nothing when the rate is 0.
func (g *txGen) start() {
	if g.s.cfg.TxRate <= 0 {
		return
	}
	g.s.at(0, -1, func(*Sim) { g.scheduleNext() })
}

// fund splits the faucet's coin among the users, before time 0, through
// node 0 (n), the only node yet: one transaction when they fit in
// fanOutWidth outputs, else a first split into chunks and one transaction
// per chunk. n's own chain then mines them (its full validation, as for
// every block), so that the other nodes, which New starts from a fork of
// n's store, begin on a chain where every user has a coin. Funding them at
// time 0 over the network instead made each of N nodes connect a block of
// N outputs: N^2 work, most of a 10,000-node run.
func (g *txGen) fund(n *simNode) error {
	priv, coin, err := faucetKey(g.s.params)
	if err != nil {
		return err
	}
	users := len(g.users)
	scripts := make([][]byte, users)
	for i := range g.users {
		scripts[i] = g.users[i].script
	}
	if users <= fanOutWidth {
		err = g.fanOut(n, priv, coin, scripts, 0)
	} else {
		err = g.fundChunks(n, priv, coin, scripts)
	}
	if err != nil {
		return err
	}
	return g.s.mineSetup(n)
}

// fundChunks splits coin into one holder output per fanOutWidth users,
// then fans each out to its users.
func (g *txGen) fundChunks(n *simNode, priv *secp256k1.PrivateKey, coin simCoin, scripts [][]byte) error {
	chunks := (len(scripts) + fanOutWidth - 1) / fanOutWidth
	holders := make([][]byte, chunks)
	for i := range holders {
		holders[i] = p2pkh(priv)
	}
	tx, err := g.split(n, priv, coin, holders)
	if err != nil {
		return err
	}
	txid := tx.TxHash()
	for c := 0; c < chunks; c++ {
		lo, hi := c*fanOutWidth, min((c+1)*fanOutWidth, len(scripts))
		chunk := simCoin{op: chain.OutPoint{Hash: txid, Index: uint32(c)}, value: tx.TxOut[c].Value}
		if err := g.fanOut(n, priv, chunk, scripts[lo:hi], lo); err != nil {
			return err
		}
	}
	return nil
}

// fanOut pays coin, less the fee, in equal parts to scripts, which belong
// to users first, first+1, ...
func (g *txGen) fanOut(n *simNode, priv *secp256k1.PrivateKey, coin simCoin, scripts [][]byte, first int) error {
	tx, err := g.split(n, priv, coin, scripts)
	if err != nil {
		return err
	}
	txid := tx.TxHash()
	for i := range scripts {
		u := &g.users[first+i]
		u.coins = append(u.coins, simCoin{op: chain.OutPoint{Hash: txid, Index: uint32(i)}, value: tx.TxOut[i].Value})
	}
	return nil
}

// split builds, signs and submits to n's pool a transaction paying coin in
// equal parts to scripts.
func (g *txGen) split(n *simNode, priv *secp256k1.PrivateKey, coin simCoin, scripts [][]byte) (*chain.Tx, error) {
	fee := uint64(txFeeRate * wallet.EstimateSize(1, len(scripts)))
	each := (coin.value - fee) / uint64(len(scripts))
	tx := &chain.Tx{Version: 1, TxIn: []chain.TxIn{{PrevOut: coin.op, Sequence: chain.MaxSequence}}}
	for _, sc := range scripts {
		tx.TxOut = append(tx.TxOut, chain.TxOut{Value: each, PkScript: sc})
	}
	if err := chain.SignP2PKH(tx, 0, priv, coin.value, chain.NewSigHashes(tx)); err != nil {
		return nil, err
	}
	if _, err := n.pool.AcceptTx(tx); err != nil {
		return nil, fmt.Errorf("sim: funding transaction rejected: %w", err)
	}
	return tx, nil
}

func (g *txGen) scheduleNext() {
	gap := g.s.txRNG.ExpFloat64() / g.s.cfg.TxRate * 1e9
	t := g.s.now + time.Duration(math.Round(gap))
	if t >= g.s.cfg.Duration {
		return
	}
	g.s.at(t, -1, func(*Sim) {
		g.pay()
		g.scheduleNext()
	})
}

// pay makes one payment from a random user to another, through the
// payer's node.
func (g *txGen) pay() {
	s := g.s
	r := s.txRNG
	u := r.IntN(len(g.users))
	n := s.nodes[u]
	user := &g.users[u]
	pick := -1
	for try := 0; try < 4 && len(user.coins) > 0; try++ {
		i := r.IntN(len(user.coins))
		if g.known(n, user.coins[i].op.Hash) {
			pick = i
			break
		}
	}
	to := u
	if len(g.users) > 1 {
		to = r.IntN(len(g.users) - 1)
		if to >= u {
			to++
		}
	}
	frac := 0.1 + 0.5*r.Float64()
	if pick < 0 {
		g.skipped++
		return
	}
	coin := user.coins[pick]
	fee := uint64(txFeeRate * wallet.EstimateSize(1, 2))
	if coin.value <= fee+wallet.DustLimit {
		user.coins = append(user.coins[:pick], user.coins[pick+1:]...)
		return // not worth spending; the generator forgets it
	}
	tx := &chain.Tx{Version: 1, TxIn: []chain.TxIn{{PrevOut: coin.op, Sequence: chain.MaxSequence}}}
	if coin.value < minSplit {
		tx.TxOut = []chain.TxOut{{Value: coin.value - fee, PkScript: g.users[to].script}}
	} else {
		amount := uint64(float64(coin.value) * frac)
		tx.TxOut = []chain.TxOut{
			{Value: amount, PkScript: g.users[to].script},
			{Value: coin.value - amount - fee, PkScript: user.script},
		}
	}
	if err := chain.SignP2PKH(tx, 0, user.priv, coin.value, chain.NewSigHashes(tx)); err != nil {
		s.fail(err)
		return
	}
	txid := tx.TxHash()
	g.sent++
	s.created(txid)
	res, err := s.acceptTx(n, tx, txid, -1)
	if err != nil {
		var re *chain.RuleError
		kind := "other"
		if errors.As(err, &re) {
			kind = string(re.Err)
		}
		g.rejected[kind]++
		return
	}
	if res.Orphan {
		g.orphaned++
	} else {
		g.accepted++
	}
	user.coins[pick] = user.coins[len(user.coins)-1]
	user.coins = user.coins[:len(user.coins)-1]
	g.users[to].coins = append(g.users[to].coins, simCoin{op: chain.OutPoint{Hash: txid, Index: 0}, value: tx.TxOut[0].Value})
	if len(tx.TxOut) > 1 {
		user.coins = append(user.coins, simCoin{op: chain.OutPoint{Hash: txid, Index: 1}, value: tx.TxOut[1].Value})
	}
	g.log = append(g.log, &txRecord{txid: txid, sent: s.now})
}

// known reports whether node n has transaction txid, in its pool or its
// chain.
func (g *txGen) known(n *simNode, txid chain.Hash) bool {
	if n.pool.Has(txid) {
		return true
	}
	ok, err := n.chain.HaveTx(txid)
	return err == nil && ok
}
