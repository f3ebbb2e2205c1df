package node_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/wallet"
)

// The block explorer's handler tests: every page renders for a real regtest
// chain with forks, a reorganisation and many transactions, and every bad
// input gets the friendly not-found page.

// wantCSP is the Content-Security-Policy every explorer page must carry.
const wantCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// explorerFixture is what buildExplorerChain made, for the tests to visit.
type explorerFixture struct {
	key        *chaintest.Key // owns the fanned-out coins and the change
	addr       string         // key's address
	minerAddr  string         // paid by 56 coinbases: two pages of history
	recipient  string         // an address paid by many payments
	small      string         // hash of a block of 4 transactions
	odd        string         // hash of a block of 13 transactions (odd levels)
	big        string         // hash of a block of 21 transactions (more than the whole-tree limit)
	bigTxs     []string       // the big block's txids, in order
	payment    chain.Hash     // the big block's transaction 6, a payment
	chained    chain.Hash     // a confirmed payment spending another payment's output
	chainedIn  chain.Hash     // the payment it spends
	pending    chain.Hash     // a payment waiting in the mempool
	stale      []string       // hashes of blocks on stale branches
	reorgedOut string         // the tip a reorganisation replaced
}

// buildExplorerChain builds, on a fresh regtest node:
//
//	0..56    genesis and 56 blocks with varied intervals (BlockOn, about 10 min apart)
//	57       the faucet fanned out to 48 coins of key
//	58       3 payments           (4 transactions)
//	59       12 payments          (13: odd levels in the Merkle tree)
//	60       20 payments + 1 chained (22: more than a whole-tree picture)
//	61, 62   empty blocks mined by the node
//	             \-> 62' a competing block, seen second: stale
//	         62'' -> 63'' a branch with more work: the node reorganises to it and 62 turns stale
//	64, 65   mined by the node
//	   \-> 64s -> 65s  a two-block branch that never catches up: stale
//	mempool  two pending payments, the second spending the first
func buildExplorerChain(t *testing.T, tn *testNode) explorerFixture {
	t.Helper()
	p := chain.RegtestParams
	f := explorerFixture{key: chaintest.NewKey("explorer coins")}
	f.addr = wallet.NewAddress(f.key.PKH, p).String()
	minerKey := chaintest.NewKey("explorer miner")
	f.minerAddr = wallet.NewAddress(minerKey.PKH, p).String()
	recipient := chaintest.NewKey("explorer recipient")
	f.recipient = wallet.NewAddress(recipient.PKH, p).String()
	submit := func(b *chain.Block) {
		t.Helper()
		if _, err := tn.SubmitBlock(b); err != nil {
			t.Fatalf("submit block: %v", err)
		}
	}
	headerOf := func(h chain.Hash) (chain.Header, int32) {
		t.Helper()
		hdr, height, err := tn.Chain().HeaderByHash(h)
		if err != nil {
			t.Fatal(err)
		}
		return hdr, height
	}
	// 56 blocks ending near now, about one target spacing apart.
	const early = 56
	rng := newRand(7)
	genesisTime := int64(p.GenesisBlock.Header.Timestamp)
	spacing := int64(p.TargetSpacing.Seconds())
	if avail := (time.Now().Unix() - genesisTime) / (early + 10); avail < spacing {
		spacing = max(avail, 1)
	}
	ts := max(genesisTime+1, time.Now().Unix()-early*spacing-60)
	prev, prevHeight := p.GenesisHash, int32(0)
	for i := 0; i < early; i++ {
		b := chaintest.BlockOn(p, prev, prevHeight, uint32(ts)-1, minerKey, fmt.Sprintf("early %d", i))
		submit(b)
		prev, prevHeight = b.BlockHash(), prevHeight+1
		ts += max(1, spacing/4+rng.Int63n(spacing*3/2+1))
	}
	prevs := tn.faucetFanOut(f.key, 48, 2_000_000)
	pay := func(prev chaintest.Prev, value uint64) *chain.Tx {
		return chaintest.Spend([]chaintest.Prev{prev}, []chain.TxOut{
			{Value: value, PkScript: recipient.Script},
			{Value: prev.Value - value - 5_000 - uint64(rng.Intn(20_000)), PkScript: f.key.Script}})
	}
	send := func(txs ...*chain.Tx) {
		t.Helper()
		for _, tx := range txs {
			if _, err := tn.c.SubmitTx(ctxT(t), tx); err != nil {
				t.Fatalf("submit tx: %v", err)
			}
		}
	}
	next := 0
	block := func(payments int) (string, []*chain.Tx) {
		t.Helper()
		var txs []*chain.Tx
		for i := 0; i < payments; i++ {
			txs = append(txs, pay(prevs[next], 100_000+uint64(rng.Intn(1_000_000))))
			next++
		}
		send(txs...)
		return tn.mine(1)[0], txs
	}
	f.small, _ = block(3)
	f.odd, _ = block(12)
	// The big block also holds a payment spending an output of another
	// payment in it.
	var bigPays []*chain.Tx
	for i := 0; i < 20; i++ {
		bigPays = append(bigPays, pay(prevs[next], 300_000))
		next++
	}
	first := bigPays[0]
	chained := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: first.TxHash(), Index: 1}, Value: first.TxOut[1].Value, Key: f.key}},
		[]chain.TxOut{{Value: first.TxOut[1].Value - 7_000, PkScript: recipient.Script}})
	send(append(bigPays, chained)...)
	f.big = tn.mine(1)[0]
	f.chained, f.chainedIn = chained.TxHash(), first.TxHash()
	big, err := tn.c.Block(ctxT(t), f.big)
	if err != nil || big.TxCount != 22 {
		t.Fatalf("big block: %v (%d txs)", err, big.TxCount)
	}
	for _, tx := range big.Transactions {
		f.bigTxs = append(f.bigTxs, tx.TxID)
	}
	f.payment = mustHash(t, f.bigTxs[6]) // the miner orders by fee rate

	// A one-block fork that loses, then a reorganisation.
	hs := tn.mine(2)
	tipHash := mustHash(t, hs[1])
	tipHdr, tipHeight := headerOf(tipHash)
	parentHdr, _ := headerOf(tipHdr.PrevBlock)
	other := chaintest.NewKey("explorer rival")
	lost := chaintest.BlockOn(p, tipHdr.PrevBlock, tipHeight-1, parentHdr.Timestamp, other, "lost race")
	submit(lost)
	if tn.Chain().BestSnapshot().Hash != tipHash {
		t.Fatal("a competing block of equal work took the tip")
	}
	win1 := chaintest.BlockOn(p, tipHdr.PrevBlock, tipHeight-1, parentHdr.Timestamp, other, "reorg 1")
	win2 := chaintest.BlockOn(p, win1.BlockHash(), tipHeight, win1.Header.Timestamp, other, "reorg 2")
	submit(win1)
	submit(win2)
	if tn.Chain().BestSnapshot().Hash != win2.BlockHash() {
		t.Fatal("the longer branch did not take the tip")
	}
	f.reorgedOut = tipHash.String()
	f.stale = append(f.stale, lost.BlockHash().String(), tipHash.String())

	// Two more blocks, and a two-block branch off the first that stays behind.
	hs = tn.mine(2)
	base := mustHash(t, hs[0])
	baseHdr, baseHeight := headerOf(base)
	baseParent := baseHdr.PrevBlock
	bpHdr, _ := headerOf(baseParent)
	s1 := chaintest.BlockOn(p, baseParent, baseHeight-1, bpHdr.Timestamp, other, "side 1")
	s2 := chaintest.BlockOn(p, s1.BlockHash(), baseHeight, s1.Header.Timestamp, other, "side 2")
	submit(s1)
	submit(s2)
	if tn.Chain().BestSnapshot().Hash != mustHash(t, hs[1]) {
		t.Fatal("the side branch took the tip")
	}
	f.stale = append(f.stale, s1.BlockHash().String(), s2.BlockHash().String())

	// Pending: a payment and a child of it.
	p1 := pay(prevs[next], 500_000)
	p2 := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: p1.TxHash(), Index: 1}, Value: p1.TxOut[1].Value, Key: f.key}},
		[]chain.TxOut{{Value: p1.TxOut[1].Value - 3_000, PkScript: recipient.Script}})
	send(p1, p2)
	f.pending = p2.TxHash()
	return f
}

// explorerGet fetches an explorer page without following redirects.
func (tn *testNode) explorerGet(path string) (int, http.Header, string) {
	tn.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(tn.url + path)
	if err != nil {
		tn.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tn.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// explorerOK fetches a page that must render, checks the explorer's headers,
// and returns its HTML.
func (tn *testNode) explorerOK(path string) string {
	tn.t.Helper()
	status, h, body := tn.explorerGet(path)
	if status != http.StatusOK {
		tn.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	checkExplorerHTML(tn.t, path, h, body)
	return body
}

// checkExplorerHTML checks what every explorer page must be: HTML with the
// strict CSP, the one external script, no inline script or style, no
// request to another host, no sign of a Go error.
func checkExplorerHTML(t *testing.T, path string, h http.Header, body string) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if csp := h.Get("Content-Security-Policy"); csp != wantCSP {
		t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s: no nosniff", path)
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
	for _, s := range scripts {
		if !regexp.MustCompile(`^<script src="/static/explorer\.js\?v=[0-9a-f]+" defer>$`).MatchString(s) {
			t.Errorf("GET %s: unexpected script tag %s", path, s)
		}
	}
	for _, bad := range []string{"<style", "javascript:", "http://", "https://",
		"goroutine ", "panic:", "runtime error", "<no value>", "%!"} {
		if strings.Contains(body, bad) {
			i := strings.Index(body, bad)
			t.Errorf("GET %s: page contains %q: …%s…", path, bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	if m := inlineAttr.FindString(body); m != "" {
		t.Errorf("GET %s: inline style or event handler: %s", path, m)
	}
}

// inlineAttr finds a style attribute or an event handler in a tag.
// Attribute values never hold a raw quote: html/template escapes it.
var inlineAttr = regexp.MustCompile(`<[a-zA-Z][a-zA-Z0-9]*(\s+[a-zA-Z:-]+(="[^"]*")?)*\s+(style|on[a-z]+)=`)

// TestExplorerPages renders every page for a chain with forks and many
// transactions.
func TestExplorerPages(t *testing.T) {
	tn := startNode(t, "", nil)
	f := buildExplorerChain(t, tn)
	best := tn.Chain().BestSnapshot()
	tip := best.Hash.String()

	t.Run("home", func(t *testing.T) {
		body := tn.explorerOK("/")
		for _, want := range []string{
			`id="st-network">regtest<`, `id="st-height"><a href="/block/` + strconv.Itoa(int(best.Height)) + `">`,
			`href="/block/` + tip + `"`, `id="st-difficulty">1<`, `id="st-hashrate"`, `none (no p2p)`, `standalone`,
			`<svg class="chart intervals"`, `<svg class="tree"`, `class="blk main tip"`, `class="blk stale"`,
			`data-id="` + f.reorgedOut + `"`, `id="latest-blocks"`, `id="latest-txs"`, `id="pending-txs"`,
			`href="/tx/` + f.pending.String() + `"`, `id="chain-tips"`, `data-live="/live/home"`,
			`2 txs</a>`, // the mempool size
		} {
			if !strings.Contains(body, want) {
				t.Errorf("home lacks %s", want)
			}
		}
		// Bounded: 60 bars, 10 latest blocks, 10 latest transactions.
		if n := strings.Count(body, `<g class="bar"`); n != 60 {
			t.Errorf("%d bars in the interval chart, want 60", n)
		}
		if n := strings.Count(tableOf(t, body, "latest-blocks"), "<tr data-hash="); n != 10 {
			t.Errorf("%d latest blocks, want 10", n)
		}
		if n := strings.Count(tableOf(t, body, "latest-txs"), `<tr><td`); n != 10 {
			t.Errorf("%d latest transactions, want 10", n)
		}
		// Every stale block within the tree's window is drawn as stale.
		for _, h := range f.stale {
			if !regexp.MustCompile(`<g class="blk stale"[^>]*data-id="` + h + `"`).MatchString(body) {
				t.Errorf("stale block %s is not drawn as stale", h)
			}
		}
	})

	t.Run("block", func(t *testing.T) {
		bySmall := tn.explorerOK("/block/" + f.small)
		b, err := tn.c.Block(ctxT(t), f.small)
		if err != nil {
			t.Fatal(err)
		}
		byHeight := tn.explorerOK("/block/" + strconv.Itoa(int(b.Height)))
		if tableOf(t, bySmall, "block-txs") != tableOf(t, byHeight, "block-txs") || !strings.Contains(byHeight, b.Hash[10:]) {
			t.Error("the block page by height differs from the page by hash")
		}
		zeros := len(b.Hash) - len(strings.TrimLeft(b.Hash, "0"))
		for _, want := range []string{
			`<span class="hash"><span class="zeros">` + strings.Repeat("0", zeros) + `</span>` + b.Hash[zeros:] + `</span>`,
			`<th>Height</th><td>` + strconv.Itoa(int(b.Height)) + `</td>`,
			`id="confirmations">` + strconv.Itoa(int(b.Confirmations)) + `<`,
			`href="/block/` + b.PreviousHash + `"`, `href="/block/` + b.NextHash + `"`,
			b.MerkleRoot, `<td class="mono">` + b.Bits + `</td>`, `<th>Nonce</th>`, `<th>Difficulty</th>`,
			`<th>Target</th>`, `<th>Work</th>`, `<th>Chain work</th>`, `<th>Version</th>`, `<th>Time</th>`,
			`<th>Size</th>`, `<th>Reward</th>`, `main chain`, `id="block-txs"`,
			`<svg class="merkle"`, `class="verdict ok"`,
		} {
			if !strings.Contains(bySmall, want) {
				t.Errorf("block page lacks %s", want)
			}
		}
		// Transactions with fees and sizes.
		for _, tx := range b.Transactions[1:] {
			row := regexp.MustCompile(`<tr><td class="num">\d+</td><td class="mono"><a class="txid" href="/tx/` + tx.TxID + `".*?</tr>`).FindString(bySmall)
			if row == "" || !strings.Contains(row, wallet.FormatAmount(*tx.Fee)) || !strings.Contains(row, fmt.Sprintf("%d B", tx.Size)) {
				t.Errorf("no row with fee and size for %s: %s", tx.TxID, row)
			}
		}
		// The whole tree of 13 leaves: every level drawn, with the copies of
		// the odd levels' last nodes, and the path of the last leaf, whose
		// siblings on the two lowest levels are such copies.
		odd := tn.explorerOK("/block/" + f.odd + "?tx=12")
		if n := strings.Count(odd, `<g class="mnode`); n != 13+7+4+2+1+2 {
			t.Errorf("odd tree: %d nodes, want 29 (27 + 2 copies)", n)
		}
		if n := strings.Count(odd, `<g class="mnode ghost sib"`); n != 2 {
			t.Errorf("odd tree: %d copies on the path, want 2", n)
		}
		if n := strings.Count(odd, `<g class="mnode path`); n != 5 {
			t.Errorf("odd tree: %d path nodes, want 5", n)
		}
		if !strings.Contains(odd, `class="verdict ok"`) {
			t.Error("odd tree: the path does not verify")
		}
		// More than 16 transactions: only the path is drawn, and it checks.
		bigPage := tn.explorerOK("/block/" + f.big + "?tx=6")
		if !strings.Contains(bigPage, `<svg class="merkle path-only"`) || !strings.Contains(bigPage, `class="verdict ok"`) ||
			!regexp.MustCompile(`<g class="mnode path leaf" data-id="`+f.bigTxs[6]+`"`).MatchString(bigPage) {
			t.Error("big block: no verified proof path for transaction 6")
		}
		if n := strings.Count(bigPage, `<g class="mnode`); n != 5+1+5 {
			t.Errorf("big block path: %d nodes, want 11 (5 levels, root, 5 siblings)", n)
		}
		// A stale block: marked, with the tree around it.
		stale := tn.explorerOK("/block/" + f.reorgedOut)
		for _, want := range []string{`stale branch`, `id="confirmations">0 (stale)`, `class="blk stale here"`, `class="blk main`} {
			if !strings.Contains(stale, want) {
				t.Errorf("stale block page lacks %s", want)
			}
		}
		tn.explorerOK("/block/0") // genesis
		tn.explorerOK("/block/" + tip)
		tn.explorerOK("/block/" + f.big + "?page=99&tx=-5") // out-of-range parameters are clamped
	})

	t.Run("tx", func(t *testing.T) {
		tx, err := tn.c.Tx(ctxT(t), f.payment.String())
		if err != nil {
			t.Fatal(err)
		}
		body := tn.explorerOK("/tx/" + f.payment.String())
		in := tx.Inputs[0]
		for _, want := range []string{
			`id="txid">` + tx.TxID + `<`, `confirmed`, `id="confirmations">` + strconv.Itoa(int(tx.Confirmations)) + `<`,
			`href="/tx/` + in.PrevTxID + `"`, wallet.FormatAmount(*in.Value) + ` from <a class="mono addr" href="/address/` + f.addr + `">`,
			`to <a class="mono addr" href="/address/` + f.recipient + `">`,
			"<code>OP_DUP OP_HASH160 " + tx.Outputs[0].ScriptAsm[len("OP_DUP OP_HASH160 "):] + "</code>",
			`OP_EQUALVERIFY OP_CHECKSIG</code>`, `id="fee">` + wallet.FormatAmount(*tx.Fee),
			`<svg class="merkle path-only"`, `class="verdict ok"`, `Transaction 6 of 22`,
			`href="/block/` + f.big + `?tx=6#merkle"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("tx page lacks %s", want)
			}
		}
		// The output script is shown as the seeds show it.
		if !regexp.MustCompile(`<code>OP_DUP OP_HASH160 [0-9a-f]{40} OP_EQUALVERIFY OP_CHECKSIG</code>`).MatchString(body) {
			t.Error("no P2PKH script in the seeds' form")
		}
		chainedPage := tn.explorerOK("/tx/" + f.chained.String())
		if !strings.Contains(chainedPage, `href="/tx/`+f.chainedIn.String()+`"`) {
			t.Error("a chained payment does not link the payment it spends")
		}
		pending := tn.explorerOK("/tx/" + f.pending.String())
		for _, want := range []string{`in the mempool`, `id="confirmations">0<`, `None yet: a transaction has a proof once it is mined`} {
			if !strings.Contains(pending, want) {
				t.Errorf("pending tx page lacks %s", want)
			}
		}
		coinbase := tn.explorerOK("/tx/" + f.bigTxs[0])
		for _, want := range []string{`<strong>coinbase</strong>`, `new coins (block reward)`, `Transaction 0 of 22`} {
			if !strings.Contains(coinbase, want) {
				t.Errorf("coinbase page lacks %s", want)
			}
		}
	})

	t.Run("address", func(t *testing.T) {
		a, err := tn.c.Address(ctxT(t), f.recipient)
		if err != nil {
			t.Fatal(err)
		}
		body := tn.explorerOK("/address/" + f.recipient)
		for _, want := range []string{
			`id="address">` + f.recipient + `<`, `id="address-balance">` + wallet.FormatAmount(a.Balance) + `<`,
			`id="address-pending">&#43;`, `id="address-utxos"`, `id="address-history"`, `id="address-pending-txs"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("address page lacks %s", want)
			}
		}
		if n := strings.Count(tableOf(t, body, "address-utxos"), "<tr><td"); n != len(a.Utxos) {
			t.Errorf("%d unspent outputs listed, want %d", n, len(a.Utxos))
		}
		// 56 coinbases: two pages of history.
		page1 := tn.explorerOK("/address/" + f.minerAddr)
		page2 := tn.explorerOK("/address/" + f.minerAddr + "?page=2")
		if !strings.Contains(page1, "page 1 of 2") || !strings.Contains(page2, "page 2 of 2") {
			t.Error("the miner's history is not in two pages")
		}
		if strings.Count(tableOf(t, page1, "address-history"), "<tr><td") != 50 ||
			strings.Count(tableOf(t, page2, "address-history"), "<tr><td") != 6 {
			t.Error("history pages are not 50 + 6 rows")
		}
		tn.explorerOK("/address/" + wallet.NewAddress([20]byte{42}, chain.RegtestParams).String()) // never used: empty, not an error
	})

	t.Run("mempool", func(t *testing.T) {
		body := tn.explorerOK("/mempool")
		for _, want := range []string{`id="mempool-count">2<`, `href="/tx/` + f.pending.String() + `"`, `data-live="/live/mempool"`} {
			if !strings.Contains(body, want) {
				t.Errorf("mempool page lacks %s", want)
			}
		}
	})

	t.Run("peers without a network", func(t *testing.T) {
		body := tn.explorerOK("/peers")
		if !strings.Contains(body, "This node runs without a network") {
			t.Error("the peers page of a standalone node does not say so")
		}
	})

	t.Run("live parts", func(t *testing.T) {
		for _, p := range []string{"home", "mempool", "peers"} {
			status, h, body := tn.explorerGet("/live/" + p)
			if status != 200 || h.Get("Content-Security-Policy") != wantCSP || strings.Contains(body, "<html") || strings.Contains(body, "<script") {
				t.Errorf("/live/%s: %d, %d bytes: not a fragment", p, status, len(body))
			}
		}
		_, _, home := tn.explorerGet("/live/home")
		if !strings.Contains(home, `id="latest-blocks"`) || !strings.Contains(home, `<svg class="tree"`) {
			t.Error("the home page's live part lacks the blocks or the tree")
		}
	})

	t.Run("search", func(t *testing.T) {
		b, _ := tn.c.Block(ctxT(t), f.small)
		for q, want := range map[string]string{
			strconv.Itoa(int(b.Height)):        "/block/" + strconv.Itoa(int(b.Height)),
			" " + f.small + " ":                "/block/" + f.small,
			strings.ToUpper(f.small):           "/block/" + f.small,
			f.reorgedOut:                       "/block/" + f.reorgedOut, // stale blocks too
			f.payment.String():                 "/tx/" + f.payment.String(),
			f.pending.String():                 "/tx/" + f.pending.String(),
			f.recipient:                        "/address/" + f.recipient,
			"":                                 "/",
			strconv.Itoa(int(best.Height)):     "/block/" + strconv.Itoa(int(best.Height)),
			"0":                                "/block/0",
			"00" + strconv.Itoa(int(b.Height)): "/block/" + strconv.Itoa(int(b.Height)),
		} {
			status, h, _ := tn.explorerGet("/search?q=" + url.QueryEscape(q))
			if status != http.StatusSeeOther || h.Get("Location") != want {
				t.Errorf("search %q: %d to %q, want 303 to %q", q, status, h.Get("Location"), want)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		devnet := wallet.NewAddress([20]byte{1}, chain.DevnetParams).String()
		for path, shown := range map[string]string{
			"/block/zzz":                         "/block/zzz",
			"/block/99999":                       "/block/99999",
			"/block/-1":                          "/block/-1",
			"/block/" + strings.Repeat("z", 64):  strings.Repeat("z", 64),
			"/block/" + strings.Repeat("ab", 32): strings.Repeat("ab", 32),
			"/block/1/more":                      "/block/1/more",
			"/block/":                            "/block/",
			"/tx/123":                            "/tx/123",
			"/tx/" + strings.Repeat("cd", 32):    strings.Repeat("cd", 32),
			"/tx/":                               "/tx/",
			"/address/nope":                      "/address/nope",
			"/address/" + devnet:                 devnet,
			"/address/%3Cscript%3Ealert(1)%3C%2Fscript%3E": "&lt;script&gt;alert(1)&lt;/script&gt;",
			"/block/%3Cimg%20src=x%20onerror=alert(1)%3E":  "&lt;img src=x onerror=alert(1)&gt;",
			"/live/nope":    "/live/nope",
			"/nothing/here": "/nothing/here",
			"/address/":     "/address/",
			"/mempool/x":    "/mempool/x",
			"/static/":      "/static/",
			"/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E": "&lt;script&gt;alert(1)&lt;/script&gt;",
			"/search?q=99999":                               "99999",
			"/search?q=" + strings.Repeat("x", 500):         strings.Repeat("x", 100),
			"/search?q=" + devnet:                           devnet,
			"/search?q=" + strings.Repeat("ef", 32):         "No block or transaction has this hash",
			"/search?q=%22%3E%3Csvg%20onload%3Dalert(1)%3E": "&#34;&gt;&lt;svg onload=alert(1)&gt;",
		} {
			status, h, body := tn.explorerGet(path)
			if status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, status)
				continue
			}
			checkExplorerHTML(t, path, h, body)
			if !strings.Contains(body, "<h1>Not found</h1>") || !strings.Contains(body, shown) {
				t.Errorf("GET %s: not the friendly page showing %q:\n%s", path, shown, body)
			}
			for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload"} {
				if strings.Contains(body, raw) {
					t.Errorf("GET %s: the input is shown unescaped", path)
				}
			}
		}
	})

	t.Run("live state follows the block tree", func(t *testing.T) {
		key := func() string {
			t.Helper()
			status, h, body := tn.explorerGet("/live/state")
			m := regexp.MustCompile(`"key": "([^"]+)"`).FindStringSubmatch(body)
			if status != 200 || h.Get("Content-Type") != "application/json" || m == nil {
				t.Fatalf("/live/state: %d %s", status, body)
			}
			return m[1]
		}
		k1 := key()
		if home := tn.explorerOK("/"); !strings.Contains(home, `data-key="`+k1+`"`) {
			t.Fatalf("the home page was rendered at another state than /live/state names (%s): %s", k1, regexp.MustCompile(`data-key="[^"]*"`).FindString(home))
		}
		// A stale block moves neither the tip nor the pool, but the tree.
		tipHdr, tipHeight, _ := tn.Chain().HeaderByHash(tn.Chain().BestSnapshot().Hash)
		parent, _, _ := tn.Chain().HeaderByHash(tipHdr.PrevBlock)
		rival := chaintest.BlockOn(chain.RegtestParams, tipHdr.PrevBlock, tipHeight-1, parent.Timestamp, chaintest.NewKey("key rival"), "key")
		if _, err := tn.SubmitBlock(rival); err != nil {
			t.Fatal(err)
		}
		k2 := key()
		if k2 == k1 {
			t.Error("a new stale block near the tip does not change the live state")
		}
		if _, _, body := tn.explorerGet("/live/home"); !strings.Contains(body, `data-id="`+rival.BlockHash().String()+`"`) {
			t.Error("the refreshed home page does not draw the new stale block")
		}
	})

	t.Run("api and static untouched", func(t *testing.T) {
		tn.expectError("GET", "/api/v1/nothing", "", nil, 404, "not_found")
		tn.expectError("GET", "/api/v1/blocks/zzz", "", nil, 400, "invalid_block_id")
		if status, _ := tn.request("GET", "/api/v1/status", "", nil); status != 200 {
			t.Errorf("status: %d", status)
		}
		if status, _ := tn.request("GET", "/metrics", "", nil); status != 200 {
			t.Errorf("metrics: %d", status)
		}
		for file, ct := range map[string]string{"explorer.css": "text/css; charset=utf-8",
			"explorer.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"} {
			status, h, body := tn.explorerGet("/static/" + file)
			if status != 200 || h.Get("Content-Type") != ct || len(body) == 0 || h.Get("ETag") == "" {
				t.Errorf("/static/%s: %d %q", file, status, h.Get("Content-Type"))
			}
			req, _ := http.NewRequest("GET", tn.url+"/static/"+file, nil)
			req.Header.Set("If-None-Match", h.Get("ETag"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("/static/%s revalidation: %d", file, resp.StatusCode)
			}
		}
		for _, p := range []string{"/static/", "/static/nope.js", "/static/explorer", "/static/%2e%2e%2fexplorer.go"} {
			if status, _, body := tn.explorerGet(p); status != 404 || strings.Contains(body, "package node") {
				t.Errorf("GET %s: %d, want 404", p, status)
			}
		}
		if status, _, _ := tn.explorerGet("/favicon.ico"); status != 200 {
			t.Errorf("favicon: %d", status)
		}
	})
}

// tableOf returns the HTML of the table with the id.
func tableOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `<table id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	j := strings.Index(body[i:], "</table>")
	return body[i : i+j]
}

// TestExplorerPeers: the peers page of a networked node lists its peers
// with their multiaddrs and best heights, and escapes what peers say about
// themselves.
func TestExplorerPeers(t *testing.T) {
	n1 := startNetNode(t, nil, nil)
	const ua = `<script>alert("ua")</script>`
	n2 := startNetNode(t, []string{n1.p2pAddr()}, func(c *node.Config) { c.Version = ua })
	n1.mine(3)
	waitFor(t, 30*time.Second, "the peers to connect and exchange status", func() bool {
		for _, p := range n1.Views().Peers().Peers {
			if p.ID == n2.peerID().String() && p.BestHeight >= 0 && p.UserAgent != "" {
				return true
			}
		}
		return false
	})
	body := n1.explorerOK("/peers")
	var peer = n1.Views().Peers().Peers[0]
	for _, want := range []string{
		`<td class="mono break">` + n1.peerID().String() + `</td>`, // this node
		n1.Views().Status().Multiaddrs[0],
		`data-peer="` + n2.peerID().String() + `"`,
		strings.Split(peer.Addrs[0], "/p2p/")[0] + "/p2p/" + peer.ID, // the peer's full multiaddr
		`<td class="num">` + strconv.Itoa(int(peer.BestHeight)) + `</td>`,
		`minichain/&lt;script&gt;alert(&#34;ua&#34;)&lt;/script&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("peers page lacks %s", want)
		}
	}
	if strings.Contains(body, ua) {
		t.Error("a peer's user agent is shown unescaped")
	}
	home := n1.explorerOK("/")
	if !strings.Contains(home, `id="st-peers"><a href="/peers">1</a>`) || !strings.Contains(home, `in sync`) {
		t.Error("the home page does not count the peer or show the sync state")
	}
}

// TestExplorerInternalError: a failure inside the node gives the error page,
// status 500, without its detail.
func TestExplorerInternalError(t *testing.T) {
	tn := startNode(t, "", nil)
	tn.mine(2)
	node.CloseStoreForTest(tn.Node.Node)
	for _, p := range []string{"/", "/block/1", "/address/" + wallet.NewAddress([20]byte{1}, chain.RegtestParams).String()} {
		status, h, body := tn.explorerGet(p)
		if status != http.StatusInternalServerError || !strings.Contains(body, "Something went wrong") {
			t.Errorf("GET %s: %d\n%s", p, status, body)
		}
		checkExplorerHTML(t, p, h, body)
		if strings.Contains(strings.ToLower(body), "closed") || strings.Contains(body, "badger") {
			t.Errorf("GET %s: the error page shows the internal error", p)
		}
	}
}

// TestExplorerFreshNode: every page renders on a chain of the genesis block
// alone.
func TestExplorerFreshNode(t *testing.T) {
	tn := startNode(t, "", nil)
	g := chain.RegtestParams.GenesisBlock
	faucet := wallet.NewAddress(chaintest.RegtestFaucet.PKH, chain.RegtestParams).String()
	for _, p := range []string{"/", "/block/0", "/block/" + chain.RegtestParams.GenesisHash.String(), "/mempool", "/peers",
		"/address/" + faucet, "/live/home", "/live/mempool", "/live/peers"} {
		if status, _, body := tn.explorerGet(p); status != 200 {
			t.Errorf("GET %s: %d\n%s", p, status, body)
		}
	}
	home := tn.explorerOK("/")
	if !strings.Contains(home, "Not enough blocks yet for a chart.") || !strings.Contains(home, `class="blk main tip"`) {
		t.Error("the home page of a fresh chain lacks the empty chart or the genesis block")
	}
	// The genesis transaction: its page, or a friendly not-found if the
	// chain does not index it, never an error.
	status, h, body := tn.explorerGet("/tx/" + g.Transactions[0].TxHash().String())
	if status != 200 && status != 404 {
		t.Errorf("genesis transaction: %d", status)
	}
	checkExplorerHTML(t, "genesis tx", h, body)
	// One block: the coinbase's page (a transaction at index 0).
	hs := tn.mine(1)
	b, err := tn.c.Block(ctxT(t), hs[0])
	if err != nil {
		t.Fatal(err)
	}
	cb := tn.explorerOK("/tx/" + b.Transactions[0].TxID)
	if !strings.Contains(cb, "<strong>coinbase</strong>") || !strings.Contains(cb, `class="verdict ok"`) {
		t.Error("the coinbase of a one-transaction block has no page or proof")
	}
}
