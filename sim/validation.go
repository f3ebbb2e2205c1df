package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
)

// ValidationCost is the CPU time a node spends validating what it receives,
// applied before it relays: a block or transaction reaches the next hop
// only after its validation time, and a node validates one thing at a time
// (in arrival order). The zero value costs nothing.
type ValidationCost struct {
	// PerBlock is a block's fixed cost: header, proof of work, merkle
	// root, the store's write.
	PerBlock time.Duration
	// PerByte is the cost of each byte of a block or transaction
	// (decoding, hashing).
	PerByte time.Duration
	// PerInput is the cost of each input without its signature: the UTXO
	// lookup and the script run.
	PerInput time.Duration
	// PerSig is the cost of verifying a signature. A block's transactions
	// the node already holds in its mempool were verified on their way in
	// (the signature cache), so only the others are charged.
	PerSig time.Duration
}

// DefaultValidationCost is calibrated from the chain benchmarks in
// docs/PERFORMANCE.md (go test -bench ConnectBlock2000 ./chain, one
// script worker, this 2-core machine): 374.6 ms for 2,000 P2PKH inputs
// with every signature verified, 6.58 ms with every signature in the cache,
// so 3.3 µs per input and 184 µs per signature. PerByte and PerBlock are
// estimates (double SHA-256 and decoding at about 200 MB/s; the in-memory
// store's write), small next to the signatures.
var DefaultValidationCost = ValidationCost{
	PerBlock: 200 * time.Microsecond,
	PerByte:  5 * time.Nanosecond,
	PerInput: 3300 * time.Nanosecond,
	PerSig:   184 * time.Microsecond,
}

// IsZero reports whether validation costs nothing.
func (v ValidationCost) IsZero() bool { return v == ValidationCost{} }

// String formats the cost as ParseValidationCost reads it.
func (v ValidationCost) String() string {
	if v.IsZero() {
		return "none"
	}
	return fmt.Sprintf("block=%v,byte=%v,input=%v,sig=%v", v.PerBlock, v.PerByte, v.PerInput, v.PerSig)
}

// ParseValidationCost parses "none", "default" or a list such as
// "block=200us,byte=5ns,input=3.3us,sig=184us" (fields left out are 0).
func ParseValidationCost(s string) (ValidationCost, error) {
	switch strings.TrimSpace(s) {
	case "none", "0", "":
		return ValidationCost{}, nil
	case "default":
		return DefaultValidationCost, nil
	}
	var v ValidationCost
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		d, err := time.ParseDuration(strings.TrimSpace(val))
		if !ok || err != nil || d < 0 {
			return ValidationCost{}, fmt.Errorf("%w: validation cost %q: want none, default or block=D,byte=D,input=D,sig=D", ErrConfig, s)
		}
		switch strings.TrimSpace(name) {
		case "block":
			v.PerBlock = d
		case "byte":
			v.PerByte = d
		case "input":
			v.PerInput = d
		case "sig":
			v.PerSig = d
		default:
			return ValidationCost{}, fmt.Errorf("%w: validation cost %q: unknown field %q", ErrConfig, s, name)
		}
	}
	return v, nil
}

// txCost is what validating a loose transaction costs: every signature.
func (v ValidationCost) txCost(tx *chain.Tx, size int) time.Duration {
	if v.IsZero() {
		return 0
	}
	in := time.Duration(len(tx.TxIn))
	return time.Duration(size)*v.PerByte + in*(v.PerInput+v.PerSig)
}

// blockCost is what validating b costs node n: signatures only for the
// transactions n's mempool does not hold.
// txids are the block's transaction ids, coinbase first.
func (v ValidationCost) blockCost(n *simNode, b *chain.Block, size int, txids []chain.Hash) time.Duration {
	if v.IsZero() {
		return 0
	}
	cost := v.PerBlock + time.Duration(size)*v.PerByte
	for i, tx := range b.Transactions[1:] {
		in := time.Duration(len(tx.TxIn))
		cost += in * v.PerInput
		if v.PerSig > 0 && !n.pool.Has(txidAt(b, txids, i+1)) {
			cost += in * v.PerSig
		}
	}
	return cost
}

// txids returns the transaction ids of a block the simulation knows
// (computed when it was mined).
func (s *Sim) txids(h chain.Hash) []chain.Hash {
	if rec := s.blocks[h]; rec != nil {
		return rec.txids
	}
	return nil
}

// validate runs fn once n has spent cost validating: n's CPU takes one
// thing at a time, so the work starts when what came before is done. A
// zero cost runs fn at once.
func (s *Sim) validate(n *simNode, cost time.Duration, fn func(*Sim)) {
	if cost <= 0 {
		fn(s)
		return
	}
	n.busyUntil = max(n.busyUntil, s.now) + cost
	s.inflight++
	s.at(n.busyUntil, n.id, func(s *Sim) {
		s.inflight--
		fn(s)
	})
}

// txidAt is the id of b's transaction i, from txids if known.
func txidAt(b *chain.Block, txids []chain.Hash, i int) chain.Hash {
	if i < len(txids) {
		return txids[i]
	}
	return b.Transactions[i].TxHash()
}
