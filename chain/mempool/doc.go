// Package mempool holds the transactions waiting to be mined: each is checked
// against the UTXO set of the chain's tip plus the pool itself, against the
// consensus rules and a stricter standardness policy, and kept in fee-rate
// order for block templates.
//
// The pool accepts chains of unconfirmed transactions, keeps transactions
// whose parents are unknown in a bounded orphan pool, caps its total size by
// evicting the lowest fee rates, and follows the chain: a connected block
// removes its transactions and their conflicts; a disconnected block's
// transactions are offered back. With a store it persists its transactions
// so they survive a restart.
//
// # Errors
//
// Rejections are *chain.RuleError values: consensus kinds from package chain
// (chain.ErrMissingTxOut, chain.ErrScriptFailed, ...) and the policy kinds
// declared here (ErrNonStandard, ErrDust, ErrFeeTooLow, ...). Test them with
// errors.Is.
package mempool
