package chain

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// Amounts are integers in base units: 1 coin = 10^8 units.
const (
	UnitsPerCoin = 100_000_000
	// MaxMoney bounds every amount and every sum of amounts.
	MaxMoney = 21_000_000 * UnitsPerCoin
)

// Params are the consensus parameters of one network. Two networks with
// different genesis blocks never mix: the genesis hash names every protocol
// and topic of the network.
type Params struct {
	// Name is the network's name: "devnet" or "regtest".
	Name string

	// GenesisBlock is the first block; GenesisHash its hash.
	GenesisBlock *Block
	GenesisHash  Hash

	// PowLimit is the easiest target allowed; PowLimitBits its compact form.
	PowLimit     *big.Int
	PowLimitBits uint32

	// Difficulty retargeting (see CalcNextRequiredBits).
	NoRetarget               bool
	RetargetInterval         int32         // blocks between retargets
	TargetTimespan           time.Duration // the time RetargetInterval blocks should take
	TargetSpacing            time.Duration // the time one block should take
	RetargetAdjustmentFactor int64         // the most one retarget may change the target by

	// Block and transaction limits.
	MaxBlockSize       int           // bytes of a serialized block
	MaxFutureBlockTime time.Duration // how far ahead of now a block's time may be

	// Money.
	InitialSubsidy         uint64 // base units the first coinbase may claim
	SubsidyHalvingInterval int32  // blocks between halvings
	CoinbaseMaturity       int32  // confirmations before a coinbase output may be spent

	// AddressVersion is the Base58Check version byte of this network's
	// P2PKH addresses; WIFVersion the version byte of its exported keys.
	AddressVersion byte
	WIFVersion     byte
}

// GenesisAlloc is an output of a genesis block: coins given to a public key
// hash at the start of the network. Unlike later coinbase outputs, genesis
// allocations are spendable at once.
type GenesisAlloc struct {
	PubKeyHash [20]byte
	Value      uint64
}

// CalcBlockSubsidy returns the subsidy of the coinbase at height: the initial
// subsidy halved once every SubsidyHalvingInterval blocks.
func CalcBlockSubsidy(height int32, p *Params) uint64 {
	if p.SubsidyHalvingInterval <= 0 {
		return p.InitialSubsidy
	}
	halvings := height / p.SubsidyHalvingInterval
	if halvings >= 64 {
		return 0
	}
	return p.InitialSubsidy >> uint(halvings)
}

// MaxTxSize is the largest transaction that can fit in a block.
func (p *Params) MaxTxSize() int { return p.MaxBlockSize - HeaderSize - 9 }

// genesisSpec is what fixes a genesis block.
type genesisSpec struct {
	message   string
	timestamp uint32
	bits      uint32
	nonce     uint32
	allocs    []GenesisAlloc
}

// buildGenesis builds the genesis block: one coinbase whose outputs are the
// allocations.
func buildGenesis(s genesisSpec) *Block {
	script := AppendPush(CoinbaseHeightScript(0), []byte(s.message))
	cb := &Tx{Version: 1,
		TxIn: []TxIn{{PrevOut: NullOutPoint, SigScript: script, Sequence: MaxSequence}}}
	for _, a := range s.allocs {
		cb.TxOut = append(cb.TxOut, TxOut{Value: a.Value, PkScript: PayToPubKeyHashScript(a.PubKeyHash)})
	}
	root, _ := CalcMerkleRoot([]Hash{cb.TxHash()})
	return &Block{
		Header: Header{Version: 1, MerkleRoot: root, Timestamp: s.timestamp,
			Bits: s.bits, Nonce: s.nonce},
		Transactions: []*Tx{cb},
	}
}

func mustPKH(s string) [20]byte {
	var out [20]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 20 {
		panic("bad compiled-in pubkey hash " + s)
	}
	copy(out[:], b)
	return out
}

func newParams(p Params, g genesisSpec, wantHash string) *Params {
	p.PowLimit, _, _ = CompactToBig(p.PowLimitBits)
	p.GenesisBlock = buildGenesis(g)
	p.GenesisHash = p.GenesisBlock.BlockHash()
	if wantHash != "" && p.GenesisHash.String() != wantHash {
		panic(fmt.Sprintf("%s genesis hash %s, want %s", p.Name, p.GenesisHash, wantHash))
	}
	return &p
}

// The faucet keys of devnet and regtest are public: each is SHA-256 of a
// fixed phrase (see devnet/README.md). Anyone may spend their genesis
// allocations, which is the point of a development network.
var (
	devnetFaucetPKH  = mustPKH("a471782828e111f26cfeed2c4bef68901bf3620f")
	regtestFaucetPKH = mustPKH("5062a1558f46df56f92683dc2d56628f36b84bfa")
)

// DevnetParams is the network docker compose runs: a block about every 10 s
// from a few CPU miners, retargeting every 20 blocks. The genesis block
// starts at an easier difficulty than the 10 s target for three miners, so a
// fresh network gets its first blocks within seconds and the retargets
// (at most x4 each) bring it to the target within a few minutes.
var DevnetParams = newParams(Params{
	Name:                     "devnet",
	PowLimitBits:             0x1f00ffff,
	RetargetInterval:         20,
	TargetTimespan:           200 * time.Second,
	TargetSpacing:            10 * time.Second,
	RetargetAdjustmentFactor: 4,
	MaxBlockSize:             1_000_000,
	MaxFutureBlockTime:       2 * time.Hour,
	InitialSubsidy:           50 * UnitsPerCoin,
	SubsidyHalvingInterval:   210_000,
	CoinbaseMaturity:         10,
	AddressVersion:           0x1e, // addresses start with "D"
	WIFVersion:               0x9e,
}, genesisSpec{
	message:   "minichain devnet genesis",
	timestamp: 1763683200, // 2025-11-21 00:00:00 UTC
	// About 2^24 hashes a block to start with: a second or so from three
	// single-threaded miners; the first retargets settle at 10 s.
	bits:   0x1e010000,
	nonce:  3709031,
	allocs: []GenesisAlloc{{PubKeyHash: devnetFaucetPKH, Value: 1_000_000 * UnitsPerCoin}},
}, "0000003076c0479fd2e7f64b0a617ad2ea7c1863826d8416330a3e59dc79f083")

// RegtestParams is the network for tests: minimum difficulty (about every
// second hash is a block), no retargeting and a short coinbase maturity.
var RegtestParams = newParams(Params{
	Name:                     "regtest",
	PowLimitBits:             0x207fffff,
	NoRetarget:               true,
	RetargetInterval:         2016,
	TargetTimespan:           14 * 24 * time.Hour,
	TargetSpacing:            10 * time.Minute,
	RetargetAdjustmentFactor: 4,
	MaxBlockSize:             1_000_000,
	MaxFutureBlockTime:       2 * time.Hour,
	InitialSubsidy:           50 * UnitsPerCoin,
	SubsidyHalvingInterval:   150,
	CoinbaseMaturity:         10,
	AddressVersion:           0x6f, // as Bitcoin's testnet and regtest: "m" or "n"
	WIFVersion:               0xef,
}, genesisSpec{
	message:   "minichain regtest genesis",
	timestamp: 1763683200,
	bits:      0x207fffff,
	nonce:     6,
	allocs:    []GenesisAlloc{{PubKeyHash: regtestFaucetPKH, Value: 1_000_000 * UnitsPerCoin}},
}, "74da856d22195487147841ad2f4c2264c2df1c5afb54c5f129ccaa57e28f39b4")

// NetworkParams returns the parameters of a network by name.
func NetworkParams(name string) (*Params, error) {
	switch name {
	case "devnet":
		return DevnetParams, nil
	case "regtest":
		return RegtestParams, nil
	}
	return nil, fmt.Errorf("unknown network %q (want devnet or regtest)", name)
}
