package relay

import (
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/p2p"
)

// TestBlockOutcome pins what a node does with each kind of result: relay
// what it stored, fetch an orphan's ancestors from the sender, drop a weak
// side branch, refetch a body that does not match its header.
func TestBlockOutcome(t *testing.T) {
	anc := chain.Hash{7}
	rule := func(k chain.ErrorKind) error { return &chain.RuleError{Err: k, Description: "test"} }
	tests := []struct {
		name    string
		res     chain.ProcessResult
		err     error
		verdict p2p.Verdict
		missing bool
		refetch bool
	}{
		{"stored", chain.ProcessResult{Stored: true, MainChain: true}, nil, p2p.Accept, false, false},
		{"stored side branch", chain.ProcessResult{Stored: true}, nil, p2p.Accept, false, false},
		{"orphan", chain.ProcessResult{Orphan: true, MissingAncestor: anc}, nil, p2p.Ignore, true, false},
		{"weak branch", chain.ProcessResult{}, nil, p2p.Ignore, false, false},
		{"bad merkle", chain.ProcessResult{}, rule(chain.ErrBadMerkleRoot), p2p.Reject, false, true},
		{"bad script", chain.ProcessResult{}, rule(chain.ErrScriptFailed), p2p.Reject, false, false},
		{"from the future", chain.ProcessResult{}, rule(chain.ErrTimeTooNew), p2p.Ignore, false, false},
	}
	for _, tc := range tests {
		out := Block(tc.res, tc.err)
		if out.Verdict != tc.verdict || (out.Missing != nil) != tc.missing || out.Refetch != tc.refetch {
			t.Errorf("%s: %+v", tc.name, out)
		}
		if tc.missing && *out.Missing != anc {
			t.Errorf("%s: missing %v, want %v", tc.name, *out.Missing, anc)
		}
	}
}

// TestTxOutcome: accepted transactions are relayed, orphans ignored.
func TestTxOutcome(t *testing.T) {
	if v := Tx(mempool.AcceptResult{Accepted: []*mempool.TxDesc{{}}}, nil); v != p2p.Accept {
		t.Errorf("accepted: %v", v)
	}
	if v := Tx(mempool.AcceptResult{Orphan: true}, nil); v != p2p.Ignore {
		t.Errorf("orphan: %v", v)
	}
	if v := Tx(mempool.AcceptResult{}, &chain.RuleError{Err: mempool.ErrCoinbaseTx}); v != p2p.Reject {
		t.Errorf("coinbase: %v", v)
	}
}
