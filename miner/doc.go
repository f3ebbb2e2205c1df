// Package miner mines blocks: it builds block templates from the chain tip
// and the mempool and searches their proof of work on a pool of workers, one
// per core by default.
//
// # Templates
//
// NewTemplate builds on the tip a ChainSource reports: the transactions of a
// TxSource in fee-rate order (parents first) that still spend unspent,
// mature outputs and fit the maximum block size, and a coinbase carrying the
// height (as BIP34), an 8-byte extra nonce and the tag "minichain", paying
// subsidy + fees to the configured script. The template keeps the Merkle
// branch of the coinbase, so a new extra nonce costs one coinbase txid and a
// walk up the branch (chain.MerkleRootFromProof), not a new tree.
//
// # The search
//
// Worker w of W tries the extra nonces w, w+W, w+2W, ..., each with every
// 32-bit nonce, so no two workers ever hash the same header. The first 64
// header bytes do not depend on the nonce: each worker hashes them once per
// extra nonce and keeps the SHA-256 midstate, so a nonce costs two SHA-256
// compressions and no allocation. The hashing is a kernel of package
// sha256d (Config.Kernel): by default the fastest this CPU supports,
// AVX-512 (16 nonces at once), AVX2 (8) or the portable crypto/sha256 path
// (SHA-NI where the CPU has it); Stats reports which. Workers
// look at their context and the chain tip only every 2^16 nonces, and add to
// the hash counter at the same moments.
//
// # The controller
//
// Run owns every worker goroutine. While continuous mining is on (Start) or a
// Generate call waits for blocks, it builds a template, starts the workers
// under a context of their own and waits for a block, a cancellation or ctx.
// Refresh (the node calls it on a new tip or a mempool change), Stop and a
// tip change seen by a worker cancel that context, and the workers stop
// within 2^16 nonces, a few milliseconds. A template is also rebuilt after a
// minute, for a fresh time and new transactions. A block found goes to
// Config.Submit, the path blocks from the network take, but only if the tip
// is still the template's parent; otherwise it is dropped and counted as
// stale. Stats reports the hash rate, the counters and the current template.
//
// # Errors
//
// New wraps ErrInvalidConfig. Generate returns ErrNotRunning (wrapped when
// Run ends during the call), the context's error, or the error Submit gave
// for a block, with the hashes mined so far. Run returns ErrAlreadyRunning
// when another Run is active and nil when its context ends. NewTemplate
// wraps storage errors of the chain source and the *chain.RuleError of a
// tip whose bits cannot make a block.
//
// # Concurrency
//
// All methods of Miner are safe for concurrent use; each states its lock
// contract. Submit is called from Run's goroutine without any miner lock
// held, so it may call back into the miner. A Template is immutable.
package miner
