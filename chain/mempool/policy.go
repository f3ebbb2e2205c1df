package mempool

import (
	"github.com/minichain/minichain/chain"
)

// Policy is the standardness policy: rules stricter than consensus that
// decide what the node relays and mines. Blocks may hold non-standard
// transactions; the pool does not accept them.
type Policy struct {
	// MinFeeRate is the lowest fee accepted, in base units per byte.
	MinFeeRate uint64
	// DustLimit is the smallest value a P2PKH output may carry.
	DustLimit uint64
	// MaxTxSize bounds a standard transaction in bytes.
	MaxTxSize int
	// MaxSigScriptSize bounds each input's unlocking script.
	MaxSigScriptSize int
}

// DefaultPolicy returns Bitcoin Core's values where they apply: 1 unit/byte,
// a 546-unit dust limit, 100 kB transactions, 1650-byte unlocking scripts.
func DefaultPolicy() Policy {
	return Policy{MinFeeRate: 1, DustLimit: 546, MaxTxSize: 100_000, MaxSigScriptSize: 1650}
}

// CheckStandard applies the policy's context-free rules to tx.
func (p Policy) CheckStandard(tx *chain.Tx) error {
	if tx.Version < 1 || tx.Version > 2 {
		return ruleErr(ErrNonStandard, "version %d is not standard", tx.Version)
	}
	if size := tx.SerializeSize(); size > p.MaxTxSize {
		return ruleErr(ErrNonStandard, "transaction of %d bytes exceeds the standard limit %d", size, p.MaxTxSize)
	}
	for i := range tx.TxIn {
		s := tx.TxIn[i].SigScript
		if len(s) > p.MaxSigScriptSize {
			return ruleErr(ErrNonStandard, "input %d: unlocking script of %d bytes exceeds %d", i, len(s), p.MaxSigScriptSize)
		}
		if !chain.IsPushOnly(s) {
			return ruleErr(ErrNonStandard, "input %d: unlocking script is not push-only", i)
		}
	}
	nullData := 0
	for i := range tx.TxOut {
		out := &tx.TxOut[i]
		switch chain.ClassifyScript(out.PkScript) {
		case chain.PubKeyHashTy:
			if out.Value < p.DustLimit {
				return ruleErr(ErrDust, "output %d of %d units is below the dust limit %d", i, out.Value, p.DustLimit)
			}
		case chain.NullDataTy:
			if nullData++; nullData > 1 {
				return ruleErr(ErrNonStandard, "more than one OP_RETURN output")
			}
		default:
			return ruleErr(ErrNonStandard, "output %d: locking script is neither P2PKH nor OP_RETURN", i)
		}
	}
	return nil
}
