package chain

import (
	"encoding/binary"
	"math"
)

// OutPoint names a transaction output: the txid and the output's index.
type OutPoint struct {
	Hash  Hash
	Index uint32
}

// NullOutPoint is the previous outpoint of a coinbase input.
var NullOutPoint = OutPoint{Index: math.MaxUint32}

// IsNull reports whether o is the coinbase's null outpoint.
func (o OutPoint) IsNull() bool { return o == NullOutPoint }

// TxIn is a transaction input: the output it spends, the script that unlocks
// it and a sequence number.
type TxIn struct {
	PrevOut   OutPoint
	SigScript []byte
	Sequence  uint32
}

// TxOut is a transaction output: an amount in base units and a locking script.
type TxOut struct {
	Value    uint64
	PkScript []byte
}

// Tx is a transaction in the UTXO model.
type Tx struct {
	Version  int32
	TxIn     []TxIn
	TxOut    []TxOut
	LockTime uint32
}

// Serialized sizes of the fixed parts of a transaction; used to bound counts
// while decoding.
const (
	minTxInSize  = 32 + 4 + 1 + 4 // outpoint, empty script, sequence
	minTxOutSize = 8 + 1          // value, empty script
	// MinTxSize is the smallest possible transaction: version, one input,
	// one output, lock time.
	MinTxSize = 4 + 1 + minTxInSize + 1 + minTxOutSize + 4
)

// MaxSequence is the sequence number of an input that opts out of lock time.
const MaxSequence = math.MaxUint32

// IsCoinbase reports whether tx is a coinbase: one input spending the null
// outpoint.
func (tx *Tx) IsCoinbase() bool {
	return len(tx.TxIn) == 1 && tx.TxIn[0].PrevOut.IsNull()
}

// SerializeSize returns the length of tx's canonical encoding.
func (tx *Tx) SerializeSize() int {
	n := 8 + CompactSizeLen(uint64(len(tx.TxIn))) + CompactSizeLen(uint64(len(tx.TxOut)))
	for i := range tx.TxIn {
		s := len(tx.TxIn[i].SigScript)
		n += 40 + CompactSizeLen(uint64(s)) + s
	}
	for i := range tx.TxOut {
		s := len(tx.TxOut[i].PkScript)
		n += 8 + CompactSizeLen(uint64(s)) + s
	}
	return n
}

// Serialize returns the canonical encoding of tx, the bytes its txid hashes.
func (tx *Tx) Serialize() []byte {
	return tx.AppendTo(make([]byte, 0, tx.SerializeSize()))
}

// AppendTo appends the canonical encoding of tx to b.
func (tx *Tx) AppendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(tx.Version))
	b = AppendCompactSize(b, uint64(len(tx.TxIn)))
	for i := range tx.TxIn {
		in := &tx.TxIn[i]
		b = append(b, in.PrevOut.Hash[:]...)
		b = binary.LittleEndian.AppendUint32(b, in.PrevOut.Index)
		b = appendVarBytes(b, in.SigScript)
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	}
	b = AppendCompactSize(b, uint64(len(tx.TxOut)))
	for i := range tx.TxOut {
		out := &tx.TxOut[i]
		b = binary.LittleEndian.AppendUint64(b, out.Value)
		b = appendVarBytes(b, out.PkScript)
	}
	return binary.LittleEndian.AppendUint32(b, tx.LockTime)
}

// TxHash returns the txid: SHA-256d of the canonical encoding.
func (tx *Tx) TxHash() Hash { return DoubleSHA256(tx.Serialize()) }

// Copy returns a deep copy of tx.
func (tx *Tx) Copy() *Tx {
	c := &Tx{Version: tx.Version, LockTime: tx.LockTime,
		TxIn: make([]TxIn, len(tx.TxIn)), TxOut: make([]TxOut, len(tx.TxOut))}
	for i, in := range tx.TxIn {
		in.SigScript = append([]byte(nil), in.SigScript...)
		c.TxIn[i] = in
	}
	for i, out := range tx.TxOut {
		out.PkScript = append([]byte(nil), out.PkScript...)
		c.TxOut[i] = out
	}
	return c
}

// DecodeTx decodes one transaction that must fill b exactly. maxSize bounds
// the encoding (the block or transaction size limit of the parameters).
func DecodeTx(b []byte, maxSize int) (*Tx, error) {
	if len(b) > maxSize {
		return nil, ruleError(ErrTooLarge, "tx: %d bytes exceeds the limit %d", len(b), maxSize)
	}
	r := newReader(b, "tx")
	tx := readTx(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return tx, nil
}

func readTx(r *reader) *Tx {
	tx := &Tx{}
	tx.Version = int32(r.uint32("version"))
	nIn := r.count("input count", minTxInSize)
	if r.err != nil {
		return nil
	}
	tx.TxIn = make([]TxIn, nIn)
	for i := range tx.TxIn {
		in := &tx.TxIn[i]
		in.PrevOut.Hash = r.hash("prev txid")
		in.PrevOut.Index = r.uint32("prev index")
		in.SigScript = r.varBytes("signature script", MaxScriptSize)
		in.Sequence = r.uint32("sequence")
		if r.err != nil {
			return nil
		}
	}
	nOut := r.count("output count", minTxOutSize)
	if r.err != nil {
		return nil
	}
	tx.TxOut = make([]TxOut, nOut)
	for i := range tx.TxOut {
		out := &tx.TxOut[i]
		out.Value = r.uint64("value")
		out.PkScript = r.varBytes("locking script", MaxScriptSize)
		if r.err != nil {
			return nil
		}
	}
	tx.LockTime = r.uint32("lock time")
	return tx
}
