package chaintest

import (
	"encoding/binary"

	"github.com/minichain/minichain/chain"
)

// Mutator changes valid transactions and blocks the way a hostile peer
// would, driven by a fuzzer's bytes: each step reads an operation and its
// arguments from the program and applies it. Mutations stay structural
// (scripts, pushes, counts, values, sizes, header fields) so that a fuzzer
// starting from a valid object reaches deep into validation instead of
// stopping at the decoder. A program that runs out of bytes ends; nothing
// here panics on any program.
type Mutator struct {
	prog []byte
	// Keys signs the inputs it knows (Resign): the output each spends
	// and the key that owns it.
	Keys map[chain.OutPoint]Prev
}

// NewMutator returns a mutator running prog.
func NewMutator(prog []byte, keys map[chain.OutPoint]Prev) *Mutator {
	return &Mutator{prog: prog, Keys: keys}
}

func (m *Mutator) done() bool { return len(m.prog) == 0 }

func (m *Mutator) byte() byte {
	if len(m.prog) == 0 {
		return 0
	}
	b := m.prog[0]
	m.prog = m.prog[1:]
	return b
}

func (m *Mutator) bytes(max int) []byte {
	n := min(int(m.byte()), max, len(m.prog))
	b := append([]byte(nil), m.prog[:n]...)
	m.prog = m.prog[n:]
	return b
}

func (m *Mutator) uint32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = m.byte()
	}
	return binary.LittleEndian.Uint32(b[:])
}

func (m *Mutator) uint64() uint64 { return uint64(m.uint32()) | uint64(m.uint32())<<32 }

// pick returns an index below n (0 when n is 0).
func (m *Mutator) pick(n int) int {
	if n <= 0 {
		return 0
	}
	return int(m.byte()) % n
}

// scriptSnippets are pieces a hostile script is made of: non-minimal and
// truncated pushes, opcodes the interpreter knows and does not.
var scriptSnippets = [][]byte{
	{chain.OP_PUSHDATA1, 0x00}, {chain.OP_PUSHDATA1}, {chain.OP_PUSHDATA2, 0xff, 0xff},
	{chain.OP_PUSHDATA4, 0xff, 0xff, 0xff, 0x7f}, {0x01, 0x05}, {0x01, 0x81}, {0x4b},
	{chain.OP_0}, {chain.OP_1NEGATE}, {chain.OP_16}, {chain.OP_DUP}, {chain.OP_HASH160},
	{chain.OP_EQUALVERIFY}, {chain.OP_CHECKSIG}, {chain.OP_CHECKSIGVRFY}, {chain.OP_RETURN},
	{chain.OP_VERIFY}, {0x50}, {0xff}, {0x00, 0x00, 0x00},
}

// mutateScript changes a script: insert a snippet, cut it, flip a byte or
// replace it with program bytes.
func (m *Mutator) mutateScript(s []byte) []byte {
	s = append([]byte(nil), s...)
	switch m.byte() % 4 {
	case 0:
		at := m.pick(len(s) + 1)
		snip := scriptSnippets[m.pick(len(scriptSnippets))]
		s = append(s[:at], append(append([]byte(nil), snip...), s[at:]...)...)
	case 1:
		s = s[:m.pick(len(s)+1)]
	case 2:
		if len(s) > 0 {
			s[m.pick(len(s))] ^= m.byte() | 1
		}
	default:
		s = m.bytes(255)
	}
	return s
}

// MutateTx applies one mutation to tx (a copy is not made).
func (m *Mutator) MutateTx(tx *chain.Tx) {
	if len(tx.TxIn) == 0 || len(tx.TxOut) == 0 {
		return
	}
	in := &tx.TxIn[m.pick(len(tx.TxIn))]
	out := &tx.TxOut[m.pick(len(tx.TxOut))]
	switch m.byte() % 12 {
	case 0:
		in.SigScript = m.mutateScript(in.SigScript)
	case 1:
		out.PkScript = m.mutateScript(out.PkScript)
	case 2:
		out.Value = m.uint64()
	case 3:
		out.Value += uint64(m.byte())
	case 4:
		tx.TxOut = append(tx.TxOut, chain.TxOut{Value: uint64(m.uint32()), PkScript: m.bytes(255)})
	case 5:
		tx.TxIn = append(tx.TxIn, *in) // spends the same output twice
	case 6:
		in.PrevOut.Index = m.uint32()
	case 7:
		in.PrevOut.Hash[m.pick(chain.HashSize)] ^= m.byte() | 1
	case 8:
		in.Sequence = m.uint32()
	case 9:
		tx.LockTime = m.uint32()
	case 10:
		tx.Version = int32(m.uint32())
	default:
		if len(tx.TxOut) > 1 {
			i := m.pick(len(tx.TxOut))
			tx.TxOut = append(tx.TxOut[:i], tx.TxOut[i+1:]...)
		}
	}
}

// Resign signs again every input whose output the mutator knows, so a
// mutated transaction whose signatures broke can still reach the checks
// after the signature.
func (m *Mutator) Resign(tx *chain.Tx) {
	sh := chain.NewSigHashes(tx)
	for i := range tx.TxIn {
		if p, ok := m.Keys[tx.TxIn[i].PrevOut]; ok && p.Key != nil {
			_ = p.Key.SignInput(tx, i, p.Value, sh)
		}
	}
}

// RunTx runs the whole program over tx: mutations, with a re-signing after
// each when the operation's top bit is set.
func (m *Mutator) RunTx(tx *chain.Tx) {
	for !m.done() {
		resign := m.byte()&0x80 != 0
		m.MutateTx(tx)
		if resign {
			m.Resign(tx)
		}
	}
}

// maxMutatedBlock bounds what RunBlock grows a block to: a little past
// every network's size limit, so the limit is tested without a program of
// a few hundred bytes asking for gigabytes.
const maxMutatedBlock = 1_100_000

// RunBlock runs the whole program over b: mutations of its transactions,
// of their number and order, of the coinbase script and of header fields.
// Unless the program says otherwise, the Merkle root is recomputed at the
// end, so the block gets past that check to the ones behind it. The caller
// solves the proof of work.
func (m *Mutator) RunBlock(b *chain.Block) {
	keepRoot := false
	for !m.done() {
		op := m.byte()
		txs := b.Transactions
		switch op % 11 {
		case 0, 1, 2:
			if len(txs) > 0 {
				tx := txs[m.pick(len(txs))]
				m.MutateTx(tx)
				if op&0x80 != 0 {
					m.Resign(tx)
				}
			}
		case 3:
			if len(txs) > 0 && len(txs[0].TxIn) > 0 {
				cb := &txs[0].TxIn[0]
				cb.SigScript = m.mutateScript(cb.SigScript)
			}
		case 4:
			if len(txs) > 0 && b.SerializeSize() < maxMutatedBlock {
				b.Transactions = append(b.Transactions, txs[m.pick(len(txs))].Copy())
			}
		case 5:
			if len(txs) > 0 {
				i := m.pick(len(txs))
				b.Transactions = append(txs[:i:i], txs[i+1:]...)
			}
		case 6:
			if len(txs) > 1 {
				i, j := m.pick(len(txs)), m.pick(len(txs))
				txs[i], txs[j] = txs[j], txs[i]
			}
		case 7:
			// A large output: blocks near and over the size limit.
			if len(txs) > 0 && b.SerializeSize() < maxMutatedBlock {
				n := int(m.byte()) << 12
				txs[0].TxOut = append(txs[0].TxOut, chain.TxOut{PkScript: append([]byte{chain.OP_RETURN}, make([]byte, n)...)})
			}
		case 8:
			switch m.byte() % 4 {
			case 0:
				b.Header.Timestamp += m.uint32() % 100_000
			case 1:
				b.Header.Timestamp -= m.uint32() % 100_000
			case 2:
				b.Header.Version = int32(m.uint32())
			default:
				b.Header.Bits ^= 1 << m.pick(32)
			}
		case 9:
			keepRoot = true
		default:
			// An empty coinbase-like transaction or one without inputs.
			b.Transactions = append(b.Transactions, &chain.Tx{Version: 1, TxOut: []chain.TxOut{{Value: 1}}})
		}
	}
	if !keepRoot {
		b.Header.MerkleRoot, _ = chain.CalcMerkleRoot(b.TxHashes())
	}
}

// TrySolve searches at most tries nonces for one that meets the header's
// bits, and reports whether it found one. Mutated bits may make a header
// too hard to solve in a fuzz run.
func TrySolve(p *chain.Params, h *chain.Header, tries int) bool {
	for n := 0; n < tries; n++ {
		h.Nonce = uint32(n)
		if chain.CheckProofOfWork(h.BlockHash(), h.Bits, p.PowLimit) == nil {
			return true
		}
	}
	return false
}
