// Package node is the composition root of a minichain node: it opens the
// Badger store, the chain, the mempool and the node's wallet, runs the miner,
// and serves the HTTP JSON API, the metrics and the block explorer (explorer.go).
//
// Node.Run owns every goroutine the node starts and returns only after all
// of them have stopped and the store is closed. Blocks enter the chain
// through one path, SubmitBlock, whether mined here or received; transactions
// through SubmitTx.
//
// # Errors
//
// API errors are JSON, {"error": {"code", "message"}}, with the status
// chosen in one place (errors.go): 400 malformed input, 401 missing or wrong
// token, 404 unknown, 409 conflict (double spend), 413 body too large, 422 a
// rule violated, 500 internal (logged, no detail sent).
package node
