package chain

import (
	"crypto/sha256"
	"encoding/binary"
)

// SigHashes holds the parts of a transaction's signature hash that are the
// same for every input. Computing them once per transaction makes signing or
// verifying all inputs linear in the transaction's size (BIP143's fix for the
// legacy quadratic scheme).
type SigHashes struct {
	HashPrevOuts Hash // SHA-256d of every input's outpoint
	HashSequence Hash // SHA-256d of every input's sequence
	HashOutputs  Hash // SHA-256d of every output
}

// NewSigHashes precomputes the shared parts of tx's signature hashes.
func NewSigHashes(tx *Tx) *SigHashes {
	var sh SigHashes
	b := make([]byte, 0, 36*len(tx.TxIn))
	for i := range tx.TxIn {
		b = append(b, tx.TxIn[i].PrevOut.Hash[:]...)
		b = binary.LittleEndian.AppendUint32(b, tx.TxIn[i].PrevOut.Index)
	}
	sh.HashPrevOuts = DoubleSHA256(b)
	b = b[:0]
	for i := range tx.TxIn {
		b = binary.LittleEndian.AppendUint32(b, tx.TxIn[i].Sequence)
	}
	sh.HashSequence = DoubleSHA256(b)
	b = b[:0]
	for i := range tx.TxOut {
		b = binary.LittleEndian.AppendUint64(b, tx.TxOut[i].Value)
		b = appendVarBytes(b, tx.TxOut[i].PkScript)
	}
	sh.HashOutputs = DoubleSHA256(b)
	return &sh
}

// CalcSignatureHash returns the digest that input idx of tx signs:
//
//	SHA-256d(version || hashPrevOuts || hashSequence || outpoint ||
//	         scriptCode || amount || sequence || hashOutputs || lockTime ||
//	         sighashType)
//
// scriptCode is the locking script of the output being spent and amount its
// value, so a signature commits to what it spends. sh may be nil, in which
// case it is computed (once per call; pass it in when signing many inputs).
func CalcSignatureHash(tx *Tx, idx int, scriptCode []byte, amount uint64, hashType SigHashType, sh *SigHashes) (Hash, error) {
	if idx < 0 || idx >= len(tx.TxIn) {
		return Hash{}, ruleError(ErrBadTxInput, "sighash: input index %d out of range", idx)
	}
	if hashType != SigHashAll {
		return Hash{}, ruleError(ErrSigHashType, "sighash type %#02x is not SIGHASH_ALL", byte(hashType))
	}
	if sh == nil {
		sh = NewSigHashes(tx)
	}
	in := &tx.TxIn[idx]
	h := sha256.New()
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(tx.Version))
	h.Write(buf[:4])
	h.Write(sh.HashPrevOuts[:])
	h.Write(sh.HashSequence[:])
	h.Write(in.PrevOut.Hash[:])
	binary.LittleEndian.PutUint32(buf[:4], in.PrevOut.Index)
	h.Write(buf[:4])
	h.Write(AppendCompactSize(nil, uint64(len(scriptCode))))
	h.Write(scriptCode)
	binary.LittleEndian.PutUint64(buf[:], amount)
	h.Write(buf[:])
	binary.LittleEndian.PutUint32(buf[:4], in.Sequence)
	h.Write(buf[:4])
	h.Write(sh.HashOutputs[:])
	binary.LittleEndian.PutUint32(buf[:4], tx.LockTime)
	h.Write(buf[:4])
	binary.LittleEndian.PutUint32(buf[:4], uint32(hashType))
	h.Write(buf[:4])
	first := h.Sum(nil)
	return Hash(sha256.Sum256(first)), nil
}
