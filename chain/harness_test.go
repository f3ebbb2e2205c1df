package chain_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/store"
)

// forkTest drives a Chain with named blocks, in the style of btcd's
// fullblocktests: blocks are built on named parents, then delivered, and each
// step states what the chain must look like.
type forkTest struct {
	t      *testing.T
	p      *chain.Params
	db     store.DB
	c      *chain.Chain
	miner  *chaintest.Key
	blocks map[string]*chain.Block
	order  []string // names in the order they were built
	height map[string]int32
	names  map[chain.Hash]string
}

// flushEveryBlock marks a store whose chain gets a 1-byte chain-state
// cache: every block's changes are flushed at once.
type flushEveryBlock struct{ store.DB }

// cacheOff marks a store whose chain runs with the chain-state cache off
// (chain.StateCacheOff); it takes updates of any size, as that needs.
type cacheOff struct{ store.DB }

func (cacheOff) UnboundedUpdates() bool { return true }

func newForkTest(t *testing.T, db store.DB) *forkTest {
	t.Helper()
	if db == nil {
		db = store.NewMemory()
	}
	p := chain.RegtestParams
	cfg := chain.Config{Params: p, DB: db}
	switch db.(type) {
	case flushEveryBlock:
		cfg.StateCacheBytes = 1
	case cacheOff:
		cfg.StateCacheBytes = chain.StateCacheOff
	}
	c, err := chain.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &forkTest{t: t, p: p, db: db, c: c, miner: chaintest.NewKey("miner"),
		blocks: map[string]*chain.Block{"genesis": p.GenesisBlock}, order: []string{"genesis"},
		height: map[string]int32{"genesis": 0},
		names:  map[chain.Hash]string{p.GenesisHash: "genesis"}}
	return f
}

// block builds (but does not deliver) a block named name on parent, holding
// a coinbase to the miner and txs. mutate, if given, changes the block before
// it is solved (the Merkle root is recomputed unless mutate sets keepRoot).
func (f *forkTest) block(name, parent string, txs ...*chain.Tx) *chain.Block {
	return f.blockWith(name, parent, nil, txs...)
}

func (f *forkTest) blockWith(name, parent string, mutate func(b *chain.Block), txs ...*chain.Tx) *chain.Block {
	f.t.Helper()
	pb, ok := f.blocks[parent]
	if !ok {
		f.t.Fatalf("unknown parent %q", parent)
	}
	if _, dup := f.blocks[name]; dup {
		f.t.Fatalf("block %q built twice", name)
	}
	h := f.height[parent] + 1
	var fees uint64
	cb := chaintest.Coinbase(h, f.miner.Script, chain.CalcBlockSubsidy(h, f.p)+fees, []byte(name))
	all := append([]*chain.Tx{cb}, txs...)
	b := &chain.Block{Header: chain.Header{Version: 1, PrevBlock: pb.BlockHash(),
		Timestamp: pb.Header.Timestamp + 1, Bits: f.p.PowLimitBits}, Transactions: all}
	if mutate != nil {
		mutate(b)
	}
	root, _ := chain.CalcMerkleRoot(b.TxHashes())
	if b.Header.MerkleRoot == (chain.Hash{}) {
		b.Header.MerkleRoot = root
	}
	chaintest.Solve(f.p, &b.Header)
	f.blocks[name] = b
	f.order = append(f.order, name)
	f.height[name] = h
	f.names[b.BlockHash()] = name
	return b
}

// deliver processes a named block and returns the result and error.
func (f *forkTest) deliver(name string) (chain.ProcessResult, error) {
	f.t.Helper()
	b, ok := f.blocks[name]
	if !ok {
		f.t.Fatalf("unknown block %q", name)
	}
	return f.c.ProcessBlock(b, chaintest.Now)
}

// accept delivers a block that must be accepted.
func (f *forkTest) accept(name string) chain.ProcessResult {
	f.t.Helper()
	res, err := f.deliver(name)
	if err != nil {
		f.t.Fatalf("block %s rejected: %v", name, err)
	}
	return res
}

// reject delivers a block that must be rejected with kind.
func (f *forkTest) reject(name string, kind error) {
	f.t.Helper()
	_, err := f.deliver(name)
	if !errors.Is(err, kind) {
		f.t.Fatalf("block %s: err %v, want %v", name, err, kind)
	}
}

// chainOf builds and accepts n blocks named prefix<from>.. on parent and
// returns the last name.
func (f *forkTest) chainOf(prefix string, from, n int, parent string) string {
	f.t.Helper()
	for i := from; i < from+n; i++ {
		name := prefix + itoa(i)
		f.block(name, parent)
		f.accept(name)
		parent = name
	}
	return parent
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// expectTip checks the main chain's tip and that the stored chain and UTXO
// set are consistent (a full re-validation).
func (f *forkTest) expectTip(name string) {
	f.t.Helper()
	best := f.c.BestSnapshot()
	if best.Hash != f.blocks[name].BlockHash() {
		f.t.Fatalf("tip is %s (height %d), want %s", f.names[best.Hash], best.Height, name)
	}
	if best.Height != f.height[name] {
		f.t.Fatalf("tip height %d, want %d", best.Height, f.height[name])
	}
	rep, err := f.c.ValidateChain(context.Background(), chaintest.Now, nil)
	if err != nil || !rep.Valid {
		f.t.Fatalf("chain does not re-validate at tip %s: %+v %v", name, rep, err)
	}
}

// cbPrev returns the coinbase output of a named block as a spendable
// output of the miner.
func (f *forkTest) cbPrev(name string) chaintest.Prev {
	cb := f.blocks[name].Transactions[0]
	return chaintest.Prev{OutPoint: chain.OutPoint{Hash: cb.TxHash()}, Value: cb.TxOut[0].Value, Key: f.miner}
}

// utxo returns the stored entry for op (nil when spent or unknown).
func (f *forkTest) utxo(op chain.OutPoint) *chain.UtxoEntry {
	f.t.Helper()
	e, err := f.c.FetchUtxo(op)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// status returns the index status of a named block.
func (f *forkTest) status(name string) string {
	f.t.Helper()
	bi, err := f.c.BlockInfo(f.blocks[name].BlockHash())
	if err != nil {
		f.t.Fatal(err)
	}
	return bi.Status
}

func pay(key *chaintest.Key, value uint64) chain.TxOut {
	return chain.TxOut{Value: value, PkScript: key.Script}
}

func outpoint(tx *chain.Tx, i uint32) chain.OutPoint {
	return chain.OutPoint{Hash: tx.TxHash(), Index: i}
}

// picture checks the block tree the chain holds against want, a picture in
// the style of btcd's fullblocktests:
//
//	genesis -> a1 -> a2 -> a3 -> ... -> a25
//	                  \-> b3 -> ... -> b29*
//
// Every named block the chain has stored is drawn: the main chain on the
// first line, each side branch on a line of its own starting right after
// its parent's name, the branches of the rightmost parents first. A run of four or more consecutive blocks with one
// prefix, nothing branching off inside it and no marks shows its ends
// around "...". "*" marks the tip, "!" a block found invalid (itself or an
// ancestor). Orphans and dropped blocks are not stored, so not drawn.
// Leading indentation common to all lines of want is ignored.
func (f *forkTest) picture(want string) {
	f.t.Helper()
	if got, w := f.draw(), dedent(want); got != w {
		f.t.Fatalf("the chain's block tree is\n%s\nthe test's picture says\n%s", got, w)
	}
}

// draw renders the stored named blocks as picture describes.
func (f *forkTest) draw() string {
	type node struct {
		name     string
		info     chain.BlockInfo
		children []*node
	}
	nodes := map[chain.Hash]*node{}
	for _, name := range f.order {
		h := f.blocks[name].BlockHash()
		info, err := f.c.BlockInfo(h)
		if err != nil {
			continue // not stored: an orphan, dropped or rejected before storing
		}
		nodes[h] = &node{name: name, info: info}
	}
	for _, name := range f.order {
		b := f.blocks[name]
		n, p := nodes[b.BlockHash()], nodes[b.Header.PrevBlock]
		if n != nil && p != nil {
			p.children = append(p.children, n)
		}
	}
	tip := f.c.BestSnapshot().Hash
	label := func(n *node) string {
		s := n.name
		if n.info.Hash == tip {
			s += "*"
		}
		if strings.HasPrefix(n.info.Status, "invalid") {
			s += "!"
		}
		return s
	}
	// next is the continuation of a line: the main-chain child, else the
	// first child built.
	next := func(n *node) *node {
		for _, k := range n.children {
			if k.info.MainChain {
				return k
			}
		}
		if len(n.children) > 0 {
			return n.children[0]
		}
		return nil
	}
	// Inner blocks of a run must be plain: nothing branches off them and
	// they carry no mark.
	plain := func(n *node) bool { return len(n.children) <= 1 && label(n) == n.name }
	var lines []string
	var drawLine func(start *node, col int, prefix string)
	drawLine = func(start *node, col int, prefix string) {
		var path []*node
		for n := start; n != nil; n = next(n) {
			path = append(path, n)
		}
		type cell struct {
			text string
			n    *node // nil for "..."
		}
		var cells []cell
		for i := 0; i < len(path); {
			j := i
			for j+1 < len(path) && consecutive(path[j].name, path[j+1].name) && (j == i || plain(path[j])) {
				j++
			}
			if j-i >= 3 {
				cells = append(cells, cell{label(path[i]), path[i]}, cell{"...", nil}, cell{label(path[j]), path[j]})
			} else {
				for k := i; k <= j; k++ {
					cells = append(cells, cell{label(path[k]), path[k]})
				}
			}
			i = j + 1
		}
		line := strings.Repeat(" ", col) + prefix
		var branches []func()
		for i, c := range cells {
			if i > 0 {
				line += " -> "
			}
			line += c.text
			if c.n == nil {
				continue
			}
			end := len(line)
			cont := next(c.n)
			for _, k := range c.n.children {
				if k != cont {
					branches = append(branches, func() { drawLine(k, end, `\-> `) })
				}
			}
		}
		lines = append(lines, line)
		// Rightmost first, so no branch line passes under another's start.
		for i := len(branches) - 1; i >= 0; i-- {
			branches[i]()
		}
	}
	if g := nodes[f.p.GenesisHash]; g != nil {
		drawLine(g, 0, "")
	}
	return strings.Join(lines, "\n")
}

// consecutive reports whether b's name continues a's: one prefix, the
// number one higher (a9 -> a10).
func consecutive(a, b string) bool {
	pa, na := splitName(a)
	pb, nb := splitName(b)
	return pa == pb && na >= 0 && nb == na+1
}

func splitName(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}

// dedent drops blank lines around s, trailing spaces and the leading
// whitespace all lines share.
func dedent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	prefix, first := "", true
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
		ws := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ws, false
		}
		for !strings.HasPrefix(ws, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], prefix)
	}
	return strings.Join(lines, "\n")
}
