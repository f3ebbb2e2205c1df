package relay

import (
	"errors"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/p2p"
)

// Block decides what a node does with a peer's block, from the result and
// error of chain.ProcessBlockFrom. A block the node already had is the
// caller's to ignore before processing (it costs no validation).
//
//   - Accept: the block was stored; it is relayed.
//   - Ignore with Missing set: an orphan; its chain is fetched from the
//     sender up to Missing.
//   - Ignore: valid, but on a branch that cannot become the best chain
//     (not stored, not relayed), or a fault nobody is blamed for.
//   - Reject: the sender broke a consensus rule (see the verdict table).
//
// Refetch is set when the body does not match a header that may be genuine.
func Block(res chain.ProcessResult, err error) p2p.BlockOutcome {
	out := p2p.BlockOutcome{Verdict: BlockVerdict(err)}
	switch {
	case err == nil && res.Orphan:
		missing := res.MissingAncestor
		out.Verdict, out.Missing = p2p.Ignore, &missing
	case err == nil && !res.Stored:
		out.Verdict = p2p.Ignore
	}
	if errors.Is(err, chain.ErrBadMerkleRoot) || errors.Is(err, chain.ErrMerkleMutation) {
		// The header may be genuine and the body damaged in transit or
		// by the sender: the real block is fetched from others.
		out.Refetch = true
	}
	return out
}

// Tx decides what a node does with a peer's transaction, from the result
// and error of the mempool: Accept relays what entered the pool; an orphan
// (nothing accepted yet, no error) is ignored, since it cannot be checked.
func Tx(res mempool.AcceptResult, err error) p2p.Verdict {
	if err == nil && len(res.Accepted) == 0 {
		return p2p.Ignore
	}
	return TxVerdict(err)
}
