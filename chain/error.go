package chain

import "fmt"

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
