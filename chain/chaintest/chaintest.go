// Package chaintest builds signed transactions and solved blocks for tests of
// the chain and the packages above it. It uses deterministic keys so tests
// are repeatable. Nothing here is for production use.
package chaintest

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

// Key is a deterministic secp256k1 key with its P2PKH script.
type Key struct {
	Priv   *secp256k1.PrivateKey
	PubKey []byte // 33-byte compressed
	PKH    [20]byte
	Script []byte // P2PKH locking script
}

// NewKey derives a key from a seed phrase: SHA-256(seed) is the secret.
func NewKey(seed string) *Key {
	s := sha256.Sum256([]byte(seed))
	priv := secp256k1.PrivKeyFromBytes(s[:])
	pub := priv.PubKey().SerializeCompressed()
	pkh := chain.Hash160(pub)
	return &Key{Priv: priv, PubKey: pub, PKH: pkh, Script: chain.PayToPubKeyHashScript(pkh)}
}

// Prev is an output to spend: where it is, its value and the key that owns
// it.
type Prev struct {
	OutPoint chain.OutPoint
	Value    uint64
	Key      *Key
}

// SignInput sets the signature script of input idx, which spends an output
// of value locked to k.
func (k *Key) SignInput(tx *chain.Tx, idx int, value uint64, sh *chain.SigHashes) error {
	return chain.SignP2PKH(tx, idx, k.Priv, value, sh)
}

// Spend builds and signs a transaction spending prevs to outs.
func Spend(prevs []Prev, outs []chain.TxOut) *chain.Tx {
	tx := &chain.Tx{Version: 1, TxOut: outs}
	for _, p := range prevs {
		tx.TxIn = append(tx.TxIn, chain.TxIn{PrevOut: p.OutPoint, Sequence: chain.MaxSequence})
	}
	sh := chain.NewSigHashes(tx)
	for i, p := range prevs {
		if err := p.Key.SignInput(tx, i, p.Value, sh); err != nil {
			panic(fmt.Sprintf("chaintest: sign: %v", err))
		}
	}
	return tx
}

// Coinbase builds a coinbase for height paying value to pkScript; extra
// makes otherwise identical coinbases distinct.
func Coinbase(height int32, pkScript []byte, value uint64, extra []byte) *chain.Tx {
	script := chain.CoinbaseHeightScript(height)
	script = chain.AppendPush(script, append([]byte("chaintest"), extra...))
	return &chain.Tx{Version: 1,
		TxIn:  []chain.TxIn{{PrevOut: chain.NullOutPoint, SigScript: script, Sequence: chain.MaxSequence}},
		TxOut: []chain.TxOut{{Value: value, PkScript: pkScript}}}
}

// SolveBlock assembles a block from txs (the coinbase first) on prev,
// setting the Merkle root and searching for a nonce that meets bits. It is
// meant for regtest's minimum difficulty.
func SolveBlock(p *chain.Params, prev chain.Hash, bits uint32, timestamp uint32, txs []*chain.Tx) *chain.Block {
	b := &chain.Block{Header: chain.Header{Version: 1, PrevBlock: prev, Timestamp: timestamp, Bits: bits}, Transactions: txs}
	b.Header.MerkleRoot, _ = chain.CalcMerkleRoot(b.TxHashes())
	Solve(p, &b.Header)
	return b
}

// Solve searches for a nonce that meets the header's bits.
func Solve(p *chain.Params, h *chain.Header) {
	for n := uint32(0); ; n++ {
		h.Nonce = n
		if chain.CheckProofOfWork(h.BlockHash(), h.Bits, p.PowLimit) == nil {
			return
		}
		if n == ^uint32(0) {
			panic("chaintest: nonce space exhausted")
		}
	}
}

// Now is a fixed "current time" for tests: well after every test block.
var Now = time.Unix(1_900_000_000, 0)

// RegtestFaucet is the public key whose hash the regtest genesis block pays.
var RegtestFaucet = NewKey("minichain regtest faucet")

// DevnetFaucet is the public key whose hash the devnet genesis block pays.
var DevnetFaucet = NewKey("minichain devnet faucet")

// GenesisPrev returns the spendable genesis allocation of p, owned by
// owner.
func GenesisPrev(p *chain.Params, owner *Key) Prev {
	g := p.GenesisBlock.Transactions[0]
	return Prev{OutPoint: chain.OutPoint{Hash: g.TxHash(), Index: 0}, Value: g.TxOut[0].Value, Key: owner}
}

// BlockOn builds a solved block on parent (at parentHeight, with
// parentTime) holding a coinbase that pays the subsidy to key, then txs.
// extra distinguishes blocks built on the same parent.
func BlockOn(p *chain.Params, parent chain.Hash, parentHeight int32, parentTime uint32, key *Key, extra string, txs ...*chain.Tx) *chain.Block {
	h := parentHeight + 1
	cb := Coinbase(h, key.Script, chain.CalcBlockSubsidy(h, p), []byte(extra))
	return SolveBlock(p, parent, p.PowLimitBits, parentTime+1, append([]*chain.Tx{cb}, txs...))
}

// MineOnTip builds a block on c's tip with txs and processes it; it panics
// on a rejection, as tests want. It returns the block.
func MineOnTip(c *chain.Chain, key *Key, extra string, txs ...*chain.Tx) *chain.Block {
	best := c.BestSnapshot()
	b := BlockOn(c.Params(), best.Hash, best.Height, uint32(best.Timestamp), key, extra, txs...)
	if _, err := c.ProcessBlock(b, Now); err != nil {
		panic(fmt.Sprintf("chaintest: mined block rejected: %v", err))
	}
	return b
}
