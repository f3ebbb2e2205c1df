package chain_test

import (
	"errors"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// processFixture is a regtest chain one block past genesis whose block m1
// pays alice; the block under test builds on m1 and spends alice's coins
// (and, inside the block, the change of that spend).
type processFixture struct {
	m1   *chain.Block
	next *chain.Block                      // a valid block on m1
	keys map[chain.OutPoint]chaintest.Prev // what next's inputs spend
}

func newProcessFixture() processFixture {
	p := chain.RegtestParams
	faucet := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	toAlice := chaintest.Spend([]chaintest.Prev{faucet}, []chain.TxOut{pay(alice, 40_000), pay(alice, faucet.Value-50_000)})
	m1 := chaintest.BlockOn(p, p.GenesisHash, 0, p.GenesisBlock.Header.Timestamp, bob, "m1", toAlice)
	a0 := chaintest.Prev{OutPoint: outpoint(toAlice, 0), Value: 40_000, Key: alice}
	a1 := chaintest.Prev{OutPoint: outpoint(toAlice, 1), Value: faucet.Value - 50_000, Key: alice}
	spend := chaintest.Spend([]chaintest.Prev{a0, a1}, []chain.TxOut{pay(bob, 30_000), pay(alice, a1.Value), {PkScript: chain.NullDataScript([]byte("hi"))}})
	b0 := chaintest.Prev{OutPoint: outpoint(spend, 0), Value: 30_000, Key: bob}
	inBlock := chaintest.Spend([]chaintest.Prev{b0}, []chain.TxOut{pay(alice, 29_000)})
	next := chaintest.BlockOn(p, m1.BlockHash(), 1, m1.Header.Timestamp, bob, "next", spend, inBlock)
	return processFixture{m1: m1, next: next, keys: map[chain.OutPoint]chaintest.Prev{a0.OutPoint: a0, a1.OutPoint: a1, b0.OutPoint: b0}}
}

// FuzzProcessBlock feeds ProcessBlock structural mutations of a valid block
// (coinbase scripts, pushes, transaction counts and order, values, sizes,
// header fields), re-signed and re-solved so they reach deep into
// validation. ProcessBlock must never panic, must answer a rule error or
// accept, and must leave a chain that re-validates from genesis.
func FuzzProcessBlock(f *testing.F) {
	fx := newProcessFixture()
	f.Add([]byte{})                                                              // the valid block
	f.Add([]byte{3, 3, 0})                                                       // replace the coinbase script
	f.Add([]byte{4, 0})                                                          // a duplicate transaction
	f.Add([]byte{0x80, 1, 0, 0, 5})                                              // spend an output twice, re-signed
	f.Add([]byte{0x80, 2, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // a huge value, re-signed
	f.Add([]byte{7, 0xf0})                                                       // close to the size limit
	f.Add([]byte{3, 0, 0, 0})                                                    // a push inserted in the coinbase
	f.Fuzz(func(t *testing.T, prog []byte) {
		p := chain.RegtestParams
		c, err := chain.New(chain.Config{Params: p, DB: store.NewMemory(), ScriptWorkers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ProcessBlock(fx.m1, chaintest.Now); err != nil {
			t.Fatal(err)
		}
		b, err := chain.DecodeBlock(fx.next.Serialize(), p.MaxBlockSize)
		if err != nil {
			t.Fatal(err)
		}
		chaintest.NewMutator(prog, fx.keys).RunBlock(b)
		if !chaintest.TrySolve(p, &b.Header, 1<<12) {
			return
		}
		_, err = c.ProcessBlockFrom(b, chaintest.Now, chain.BlockOrigin{Peer: "fuzzer"})
		var re *chain.RuleError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("not a rule error: %v", err)
		}
		if re != nil && re.Err == chain.ErrValidationPanic {
			t.Fatalf("validation panicked: %v", err)
		}
		rep, err := c.ValidateChain(t.Context(), chaintest.Now, nil)
		if err != nil || !rep.Valid {
			t.Fatalf("the chain does not re-validate after the block: %+v %v", rep, err)
		}
	})
}
