// Package relay holds the node's relay rules: what a node does with a block
// or a transaction a peer sent, given what its chain or mempool said about
// it. It decides the verdict (accept and relay, ignore, or reject and blame
// the sender), whether the missing ancestors of an orphan are requested, and
// whether a block whose body failed its header is fetched again from others.
//
// The rules are pure functions of the chain's or mempool's result and error,
// so the node (node/p2p.go) and the simulator (package sim) call the very
// same code: a simulated node relays, requests and ignores exactly when a
// real one would.
package relay
