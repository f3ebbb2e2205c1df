package mempool

import (
	"fmt"

	"github.com/minichain/minichain/chain"
)

// Policy error kinds. They are chain.ErrorKind values so every rejection,
// consensus or policy, is a *chain.RuleError tested the same way.
const (
	// ErrAlreadyHave: the transaction is already in the pool.
	ErrAlreadyHave = chain.ErrorKind("ErrAlreadyHave")
	// ErrAlreadyConfirmed: the transaction is already in the main chain.
	ErrAlreadyConfirmed = chain.ErrorKind("ErrAlreadyConfirmed")
	// ErrConflict: an input is already spent by a pool transaction or by
	// the main chain (a double spend).
	ErrConflict = chain.ErrorKind("ErrConflict")
	// ErrCoinbaseTx: a coinbase cannot be relayed or mined alone.
	ErrCoinbaseTx = chain.ErrorKind("ErrCoinbaseTx")
	// ErrNonStandard: the transaction breaks the standardness policy.
	ErrNonStandard = chain.ErrorKind("ErrNonStandard")
	// ErrDust: an output is worth less than the dust limit.
	ErrDust = chain.ErrorKind("ErrDust")
	// ErrFeeTooLow: the fee rate is below the minimum.
	ErrFeeTooLow = chain.ErrorKind("ErrFeeTooLow")
	// ErrMempoolFull: the pool is full of transactions paying more.
	ErrMempoolFull = chain.ErrorKind("ErrMempoolFull")
	// ErrOrphanRejected: the transaction's parents are unknown and it
	// cannot be kept as an orphan (too large, or the pool forbids it).
	ErrOrphanRejected = chain.ErrorKind("ErrOrphanRejected")
)

func ruleErr(k chain.ErrorKind, format string, args ...any) error {
	return &chain.RuleError{Err: k, Description: fmt.Sprintf(format, args...)}
}
