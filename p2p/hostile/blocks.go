package hostile

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

// The blocks here are solved at the network's minimum difficulty (bits =
// PowLimitBits), which on regtest takes a couple of hashes: a hostile peer
// mines whatever it needs in-process.

// Tip is the block a crafted block builds on: its hash, height, timestamp
// and the cumulative work of its chain (Work may be nil where no status
// is served from it).
type Tip struct {
	Hash   chain.Hash
	Height int32
	Time   uint32
	Work   *big.Int
}

// GenesisTip is the tip of a network that has only its genesis block.
func GenesisTip(p *chain.Params) Tip {
	g := p.GenesisBlock.Header
	return Tip{Hash: p.GenesisHash, Height: 0, Time: g.Timestamp, Work: chain.CalcWork(g.Bits)}
}

// Next is the tip after b, a block built on t at the minimum difficulty.
func (t Tip) Next(b *chain.Block) Tip {
	w := new(big.Int)
	if t.Work != nil {
		w.Set(t.Work)
	}
	return Tip{Hash: b.BlockHash(), Height: t.Height + 1, Time: b.Header.Timestamp, Work: w.Add(w, chain.CalcWork(b.Header.Bits))}
}

// payee receives the coinbase of every block the toolkit mines.
var payee = chaintest.NewKey("minichain hostile peer")

// blockTime is a timestamp for a block on parentTime: now, or just after
// the parent when the parent claims a later time (median time past rules
// allow any time after the parent's past median).
func blockTime(parentTime uint32) uint32 {
	now := uint32(time.Now().Unix())
	return max(now, parentTime+1)
}

// solve assembles a block from txs on prev and finds a nonce for the
// minimum difficulty.
func solve(p *chain.Params, prev chain.Hash, ts uint32, txs []*chain.Tx) *chain.Block {
	return chaintest.SolveBlock(p, prev, p.PowLimitBits, ts, txs)
}

// NextBlock is a valid block on tip carrying txs after a coinbase that
// pays the subsidy (and no fees) to the toolkit's key. tag makes blocks on
// the same tip distinct.
func NextBlock(p *chain.Params, tip Tip, tag string, txs ...*chain.Tx) *chain.Block {
	h := tip.Height + 1
	cb := chaintest.Coinbase(h, payee.Script, chain.CalcBlockSubsidy(h, p), []byte(tag))
	return solve(p, tip.Hash, blockTime(tip.Time), append([]*chain.Tx{cb}, txs...))
}

// CrashBlock is a block on tip whose coinbase script starts with an empty
// OP_PUSHDATA1 (4c 00): it passes every context-free check and reaches the
// coinbase-height rule, which indexed the last byte of the empty push and
// panicked (issue 11). It is otherwise valid.
func CrashBlock(p *chain.Params, tip Tip, tag string) *chain.Block {
	h := tip.Height + 1
	script := append([]byte{chain.OP_PUSHDATA1, 0x00}, chain.AppendPush(nil, []byte("crash "+tag))...)
	cb := &chain.Tx{Version: 1,
		TxIn:  []chain.TxIn{{PrevOut: chain.NullOutPoint, SigScript: script, Sequence: chain.MaxSequence}},
		TxOut: []chain.TxOut{{Value: chain.CalcBlockSubsidy(h, p), PkScript: payee.Script}}}
	return solve(p, tip.Hash, blockTime(tip.Time), []*chain.Tx{cb})
}

// OrphanBlock is a block of about size bytes whose parent nobody has: its
// PrevBlock is a hash derived from seed. It meets its own proof of work and
// every context-free rule, so a node can only keep it as an orphan (or
// refuse it). The bulk is one transaction spending a made-up output into a
// large OP_RETURN output.
func OrphanBlock(p *chain.Params, size int, seed uint64) *chain.Block {
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	parent := chain.Hash(sha256.Sum256(append([]byte("hostile orphan parent "), s[:]...)))
	spent := chain.Hash(sha256.Sum256(append([]byte("hostile orphan input "), s[:]...)))
	cb := chaintest.Coinbase(1_000_000, payee.Script, chain.CalcBlockSubsidy(1, p), s[:])
	filler := &chain.Tx{Version: 1,
		TxIn: []chain.TxIn{{PrevOut: chain.OutPoint{Hash: spent}, Sequence: chain.MaxSequence}}}
	filler.TxOut = nullData(size - chain.HeaderSize - 1 - cb.SerializeSize() - 60)
	return solve(p, parent, uint32(time.Now().Unix()), []*chain.Tx{cb, filler})
}

// nullData is OP_RETURN outputs of about n bytes in all (at least one).
// Each script stays under chain.MaxScriptSize, which the decoder enforces
// on every locking script.
func nullData(n int) []chain.TxOut {
	const chunk = 9000 // data bytes per output; the output takes 15 more
	var outs []chain.TxOut
	for n > 0 || len(outs) == 0 {
		d := min(max(n-15, 1), chunk)
		outs = append(outs, chain.TxOut{PkScript: chain.NullDataScript(make([]byte, d))})
		n -= d + 15
	}
	return outs
}

// Funds is an output the toolkit can spend: the regtest and devnet faucets'
// keys are public, so their genesis allocation is anyone's.
type Funds = chaintest.Prev

// FaucetFunds is the genesis allocation of p, spendable with its public
// faucet key (regtest and devnet only).
func FaucetFunds(p *chain.Params) Funds {
	key := chaintest.RegtestFaucet
	if p.Name == "devnet" {
		key = chaintest.DevnetFaucet
	}
	return chaintest.GenesisPrev(p, key)
}

// BigChain is n valid blocks on tip of about size bytes each: each carries
// one transaction that spends funds (then its own change) back to the same
// key, with no fee, plus a large OP_RETURN output. A peer that serves
// these makes every block request as expensive as the protocol allows. It
// returns the blocks and the funds left.
func BigChain(p *chain.Params, tip Tip, funds Funds, n, size int) ([]*chain.Block, Funds) {
	out := make([]*chain.Block, 0, n)
	for i := 0; i < n; i++ {
		// The change first, then the bulk; the coinbase, the signed
		// input and the change output take about 300 bytes.
		outs := append([]chain.TxOut{{Value: funds.Value, PkScript: funds.Key.Script}}, nullData(size-chain.HeaderSize-300)...)
		tx := chaintest.Spend([]chaintest.Prev{funds}, outs)
		b := NextBlock(p, tip, fmt.Sprintf("big %d", i), tx)
		out = append(out, b)
		tip = tip.Next(b)
		funds = Funds{OutPoint: chain.OutPoint{Hash: tx.TxHash(), Index: 0}, Value: funds.Value, Key: funds.Key}
	}
	return out, funds
}

// Damaged is a copy of b with the same header (so the same block hash) and
// a tampered body: the coinbase script gains a byte, so the Merkle root no
// longer matches. It is what an attacker publishes ahead of a real block.
func Damaged(b *chain.Block) *chain.Block {
	d := &chain.Block{Header: b.Header, Transactions: make([]*chain.Tx, len(b.Transactions))}
	copy(d.Transactions, b.Transactions)
	cb := b.Transactions[0].Copy()
	cb.TxIn[0].SigScript = append(cb.TxIn[0].SigScript, chain.OP_0)
	d.Transactions[0] = cb
	return d
}
