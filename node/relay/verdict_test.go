package relay

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/p2p"
)

// declaredKinds returns the value of every ErrorKind("...") declared in the
// Go files of a directory, read from the source so that a kind added
// later is found without anyone remembering to list it here.
func declaredKinds(t *testing.T, dir string) []chain.ErrorKind {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []chain.ErrorKind
	for name, pkg := range pkgs {
		if len(name) > 5 && name[len(name)-5:] == "_test" {
			continue
		}
		ast.Inspect(pkg, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.Ident:
				fn = f.Name
			case *ast.SelectorExpr:
				fn = f.Sel.Name
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if fn != "ErrorKind" || !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, chain.ErrorKind(v))
			return true
		})
	}
	return kinds
}

// TestEveryErrorKindHasAVerdict: each kind chain and mempool declare is in
// the verdict table on purpose. A kind missing there would be Ignored
// (never Reject honest peers by default); this test makes the choice
// explicit.
func TestEveryErrorKindHasAVerdict(t *testing.T) {
	kinds := append(declaredKinds(t, "../../chain"), declaredKinds(t, "../../chain/mempool")...)
	if len(kinds) < 50 {
		t.Fatalf("found only %d error kinds: is the parser looking in the right place?", len(kinds))
	}
	for _, k := range kinds {
		if _, ok := faults[k]; !ok {
			t.Errorf("error kind %s has no verdict in node/relay/verdict.go", k)
		}
	}
	if len(faults) != len(kinds) {
		t.Errorf("the verdict table has %d kinds, the sources declare %d", len(faults), len(kinds))
	}
}

// TestVerdicts pins the verdicts that decide bans.
func TestVerdicts(t *testing.T) {
	rule := func(k chain.ErrorKind) error { return &chain.RuleError{Err: k, Description: "test"} }
	wrapped := func(k chain.ErrorKind) error { return fmt.Errorf("processing: %w", rule(k)) }
	tests := []struct {
		err       error
		block, tx p2p.Verdict
	}{
		{nil, p2p.Accept, p2p.Accept},
		{rule(chain.ErrBadMerkleRoot), p2p.Reject, p2p.Reject},
		{rule(chain.ErrScriptFailed), p2p.Reject, p2p.Reject},
		{rule(chain.ErrMinimalData), p2p.Reject, p2p.Reject},
		{rule(chain.ErrValidationPanic), p2p.Reject, p2p.Reject},
		{wrapped(chain.ErrBadCoinbaseHeight), p2p.Reject, p2p.Reject},
		{rule(chain.ErrDuplicateBlock), p2p.Ignore, p2p.Ignore},
		{rule(chain.ErrTimeTooNew), p2p.Ignore, p2p.Ignore},
		{rule(chain.ErrMissingTxOut), p2p.Reject, p2p.Ignore},
		{rule(chain.ErrImmatureSpend), p2p.Reject, p2p.Ignore},
		{rule(mempool.ErrFeeTooLow), p2p.Ignore, p2p.Ignore},
		{rule(mempool.ErrConflict), p2p.Ignore, p2p.Ignore},
		{rule(mempool.ErrCoinbaseTx), p2p.Reject, p2p.Reject},
		{rule(chain.ErrorKind("ErrNobodyDeclaredThis")), p2p.Ignore, p2p.Ignore},
		{errors.New("store: disk full"), p2p.Ignore, p2p.Ignore},
	}
	for _, tc := range tests {
		if got := BlockVerdict(tc.err); got != tc.block {
			t.Errorf("block, %v: %v, want %v", tc.err, got, tc.block)
		}
		if got := TxVerdict(tc.err); got != tc.tx {
			t.Errorf("tx, %v: %v, want %v", tc.err, got, tc.tx)
		}
	}
}
