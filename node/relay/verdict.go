package relay

import (
	"errors"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/p2p"
)

// This file is the one place that decides whether an error from processing
// a peer's block or transaction is the sender's fault. p2p acts on the
// verdict: Reject scores the sender down (and bans it soon); Ignore drops
// the message without blame. What a verdict costs a peer is decided in p2p.
//
// The rule: breaking a consensus rule is the sender's fault (Reject), since
// an honest node checks what it relays. Duplicates, local policy (fees,
// standardness, a full pool) and whatever depends on our own view of the
// chain (spent or unknown inputs, immature coinbases, a block from our
// future) are not: nodes differ on those honestly (Ignore). A kind missing
// from the table is Ignored, never Rejected, so a new kind cannot get
// honest peers banned; a test checks that every kind is in the table.

// fault is what an error kind means for a block and for a transaction.
type fault struct{ block, tx p2p.Verdict }

var (
	senderFault = fault{block: p2p.Reject, tx: p2p.Reject}
	noFault     = fault{block: p2p.Ignore, tx: p2p.Ignore}
	// stateFault: a rule violation in a block (the block commits to a
	// chain state), but only our view of the chain for a loose
	// transaction (we may be behind, or the sender may be).
	stateFault = fault{block: p2p.Reject, tx: p2p.Ignore}
)

// faults maps every error kind of chain and mempool to its meaning.
var faults = map[chain.ErrorKind]fault{
	// Decoding.
	chain.ErrMalformed:     senderFault,
	chain.ErrTooLarge:      senderFault,
	chain.ErrTrailingBytes: senderFault,

	// Block sanity and header context.
	chain.ErrNoTransactions:      senderFault,
	chain.ErrBlockTooBig:         senderFault,
	chain.ErrFirstTxNotCoinbase:  senderFault,
	chain.ErrMultipleCoinbases:   senderFault,
	chain.ErrBadMerkleRoot:       senderFault, // the real block is fetched from others (Refetch)
	chain.ErrMerkleMutation:      senderFault,
	chain.ErrDuplicateTx:         senderFault,
	chain.ErrHighHash:            senderFault,
	chain.ErrBadTargetRange:      senderFault,
	chain.ErrTimeTooNew:          noFault, // our clock may be behind; it may become valid
	chain.ErrTimeTooOld:          senderFault,
	chain.ErrUnexpectedDifficult: senderFault,
	chain.ErrBadVersion:          senderFault,

	// Transaction sanity.
	chain.ErrNoTxInputs:        senderFault,
	chain.ErrNoTxOutputs:       senderFault,
	chain.ErrTxTooBig:          senderFault,
	chain.ErrBadTxOutValue:     senderFault,
	chain.ErrDuplicateTxInputs: senderFault,
	chain.ErrBadCoinbaseScript: senderFault,
	chain.ErrBadTxInput:        senderFault,
	chain.ErrScriptTooBig:      senderFault,

	// Connecting to a UTXO set.
	chain.ErrMissingTxOut:      stateFault,
	chain.ErrDoubleSpend:       stateFault,
	chain.ErrImmatureSpend:     stateFault,
	chain.ErrSpendTooHigh:      senderFault,
	chain.ErrBadFees:           senderFault,
	chain.ErrBadCoinbaseValue:  senderFault,
	chain.ErrBadCoinbaseHeight: senderFault,
	chain.ErrUnfinalizedTx:     stateFault,

	// Scripts and signatures.
	chain.ErrScriptFailed:      senderFault,
	chain.ErrScriptMalformed:   senderFault,
	chain.ErrSigNotPushOnly:    senderFault,
	chain.ErrMinimalData:       senderFault,
	chain.ErrSigDER:            senderFault,
	chain.ErrSigHighS:          senderFault,
	chain.ErrSigHashType:       senderFault,
	chain.ErrPubKeyFormat:      senderFault,
	chain.ErrSignatureMismatch: senderFault,

	// Chain state.
	chain.ErrDuplicateBlock:  noFault,
	chain.ErrInvalidAncestor: senderFault, // it builds on a block known to be invalid
	chain.ErrKnownInvalid:    senderFault, // an honest node would not relay it
	chain.ErrWrongGenesis:    noFault,     // only opening a store returns it
	// A bug of ours tripped: the object is treated as invalid (see
	// chain.ErrValidationPanic), and so is its sender, which crafted it.
	chain.ErrValidationPanic: senderFault,

	// Mempool policy: nodes differ on these honestly.
	mempool.ErrAlreadyHave:      noFault,
	mempool.ErrAlreadyConfirmed: noFault,
	mempool.ErrConflict:         noFault,
	mempool.ErrNonStandard:      noFault,
	mempool.ErrDust:             noFault,
	mempool.ErrFeeTooLow:        noFault,
	mempool.ErrMempoolFull:      noFault,
	mempool.ErrOrphanRejected:   noFault,
	// A coinbase can never be valid outside a block.
	mempool.ErrCoinbaseTx: senderFault,
}

// faultOf returns the meaning of err: a *chain.RuleError by its kind,
// anything else (a failure of our own, such as the store's) no fault.
func faultOf(err error) fault {
	var re *chain.RuleError
	if !errors.As(err, &re) {
		return noFault
	}
	if f, ok := faults[re.Err]; ok {
		return f
	}
	return noFault
}

// BlockVerdict maps the error of processing a peer's block to a verdict.
func BlockVerdict(err error) p2p.Verdict {
	if err == nil {
		return p2p.Accept
	}
	return faultOf(err).block
}

// TxVerdict maps the error of a peer's transaction to a verdict.
func TxVerdict(err error) p2p.Verdict {
	if err == nil {
		return p2p.Accept
	}
	return faultOf(err).tx
}
