package chain

import (
	"fmt"
	"runtime"
	"strings"
)

// ErrorKind identifies a kind of consensus or decoding error. It implements
// error so callers can test for it with errors.Is:
//
//	if errors.Is(err, chain.ErrBadMerkleRoot) { ... }
type ErrorKind string

// Error returns the kind's name.
func (e ErrorKind) Error() string { return string(e) }

// Kinds of errors returned by the decoders and the validation rules. Every
// rule violation is a *RuleError wrapping one of these.
const (
	// Decoding.
	ErrMalformed     = ErrorKind("ErrMalformed")     // bytes do not decode
	ErrTooLarge      = ErrorKind("ErrTooLarge")      // over a size limit
	ErrTrailingBytes = ErrorKind("ErrTrailingBytes") // bytes left after a complete object

	// Block sanity.
	ErrNoTransactions      = ErrorKind("ErrNoTransactions")
	ErrBlockTooBig         = ErrorKind("ErrBlockTooBig")
	ErrFirstTxNotCoinbase  = ErrorKind("ErrFirstTxNotCoinbase")
	ErrMultipleCoinbases   = ErrorKind("ErrMultipleCoinbases")
	ErrBadMerkleRoot       = ErrorKind("ErrBadMerkleRoot")
	ErrMerkleMutation      = ErrorKind("ErrMerkleMutation") // CVE-2012-2459
	ErrDuplicateTx         = ErrorKind("ErrDuplicateTx")
	ErrHighHash            = ErrorKind("ErrHighHash")
	ErrBadTargetRange      = ErrorKind("ErrBadTargetRange")
	ErrTimeTooNew          = ErrorKind("ErrTimeTooNew")
	ErrTimeTooOld          = ErrorKind("ErrTimeTooOld")
	ErrUnexpectedDifficult = ErrorKind("ErrUnexpectedDifficulty")
	ErrBadVersion          = ErrorKind("ErrBadVersion")

	// Transaction sanity.
	ErrNoTxInputs        = ErrorKind("ErrNoTxInputs")
	ErrNoTxOutputs       = ErrorKind("ErrNoTxOutputs")
	ErrTxTooBig          = ErrorKind("ErrTxTooBig")
	ErrBadTxOutValue     = ErrorKind("ErrBadTxOutValue")
	ErrDuplicateTxInputs = ErrorKind("ErrDuplicateTxInputs")
	ErrBadCoinbaseScript = ErrorKind("ErrBadCoinbaseScript")
	ErrBadTxInput        = ErrorKind("ErrBadTxInput")
	ErrScriptTooBig      = ErrorKind("ErrScriptTooBig")

	// Connecting a block or a transaction to a UTXO set.
	ErrMissingTxOut      = ErrorKind("ErrMissingTxOut") // input spends an unknown or spent output
	ErrDoubleSpend       = ErrorKind("ErrDoubleSpend")  // two inputs in one block spend the same output
	ErrImmatureSpend     = ErrorKind("ErrImmatureSpend")
	ErrSpendTooHigh      = ErrorKind("ErrSpendTooHigh") // outputs exceed inputs
	ErrBadFees           = ErrorKind("ErrBadFees")
	ErrBadCoinbaseValue  = ErrorKind("ErrBadCoinbaseValue")
	ErrBadCoinbaseHeight = ErrorKind("ErrBadCoinbaseHeight")
	ErrUnfinalizedTx     = ErrorKind("ErrUnfinalizedTx")

	// Scripts and signatures.
	ErrScriptFailed      = ErrorKind("ErrScriptFailed")
	ErrScriptMalformed   = ErrorKind("ErrScriptMalformed")
	ErrSigNotPushOnly    = ErrorKind("ErrSigNotPushOnly")
	ErrMinimalData       = ErrorKind("ErrMinimalData") // a push not in its shortest encoding
	ErrSigDER            = ErrorKind("ErrSigDER")
	ErrSigHighS          = ErrorKind("ErrSigHighS")
	ErrSigHashType       = ErrorKind("ErrSigHashType")
	ErrPubKeyFormat      = ErrorKind("ErrPubKeyFormat")
	ErrSignatureMismatch = ErrorKind("ErrSignatureMismatch")

	// Chain state.
	ErrDuplicateBlock  = ErrorKind("ErrDuplicateBlock")
	ErrInvalidAncestor = ErrorKind("ErrInvalidAncestor")
	ErrKnownInvalid    = ErrorKind("ErrKnownInvalid")
	ErrWrongGenesis    = ErrorKind("ErrWrongGenesis")

	// ErrValidationPanic: checking the object tripped a bug in the
	// validation code. The object is treated as invalid (and its block
	// marked so) instead of taking the node down; the description says
	// where it happened.
	ErrValidationPanic = ErrorKind("ErrValidationPanic")
)

// RuleError is a violation of a consensus rule or a decoding failure. Err is
// the ErrorKind; Description says what exactly was wrong.
type RuleError struct {
	Err         ErrorKind
	Description string
}

// Error returns the description.
func (e *RuleError) Error() string { return e.Description }

// Unwrap returns the kind so errors.Is(err, ErrX) works.
func (e *RuleError) Unwrap() error { return e.Err }

// ruleError builds a *RuleError of kind k with a formatted description.
func ruleError(k ErrorKind, format string, args ...any) error {
	return &RuleError{Err: k, Description: fmt.Sprintf(format, args...)}
}

// AssertError reports a broken internal invariant: a bug, not bad input.
type AssertError string

// Error returns the assertion text.
func (e AssertError) Error() string { return "assertion failed: " + string(e) }

// ContainPanic, deferred by a validation function with a named error
// result, turns a panic into a *RuleError of kind ErrValidationPanic: a
// block or transaction that trips a bug is rejected like any invalid one,
// and the node stays up. The description names the panic and the frames
// where it happened, for the log and the bug report.
func ContainPanic(err *error) {
	r := recover()
	if r == nil {
		return
	}
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs) // skip Callers, ContainPanic, gopanic
	frames := runtime.CallersFrames(pcs[:n])
	var at []string
	for len(at) < 4 {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			at = append(at, fmt.Sprintf("%s (%s:%d)", f.Function, f.File[strings.LastIndexByte(f.File, '/')+1:], f.Line))
		}
		if !more {
			break
		}
	}
	*err = &RuleError{Err: ErrValidationPanic, Description: fmt.Sprintf("validation panicked: %v, at %s", r, strings.Join(at, " <- "))}
}
