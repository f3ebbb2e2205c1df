package node_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
)

// The explorer in a real browser: headless Chromium (Debian's chromium
// package) driven through the DevTools protocol by chromedp. Without
// Chromium the test skips, loudly, except under CI=true, where it fails.

// chromiumPath finds the browser, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("MINICHAIN_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (apt-get install chromium, or set MINICHAIN_CHROMIUM): the explorer's browser test did not run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ", and CI=true requires it")
	}
	banner := strings.Repeat("!", len(msg)+8)
	fmt.Fprintf(os.Stderr, "\n%s\n!!! %s !!!\n%s\n\n", banner, msg, banner)
	t.Skip("SKIPPED: " + msg)
	return ""
}

// explorerTestOut is <repo>/testout/explorer, where the screenshots go.
func explorerTestOut(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testout", "explorer"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab with everything it logs.
type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	out     string
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, exe, base, out string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx, base: base, out: out}
	if err := chromedp.Do(ctx); err != nil { // start the browser and the tab
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-done
	})
	return b
}

// do runs steps with a deadline, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that returns a value.
func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// onPage waits for a page of the given kind (body data-page) to load.
func onPage(kind string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-page="` + kind + `"] footer`))
}

// waitPath waits until the tab has navigated to path (with its query) and
// the page has loaded. A navigation destroys the page's JavaScript context
// under a running evaluation, so each check is short and errors are retried.
func waitPath(path string) chromedp.Action[chromedp.Void] {
	check := `location.pathname + location.search === ` + strconv.Quote(path) + ` && document.readyState === "complete"`
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](check)(ctx, t)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the tab did not reach %s (last error: %v)", path, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// screenshot saves the whole page as name.png under the test output folder.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.out, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// errors returns the console errors and uncaught exceptions so far, but for
// the 404 responses the test asked for on purpose.
func (b *browser) errors(expected404 map[string]bool) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" && strings.Contains(m.Text, "404") && expected404[strings.TrimPrefix(m.URL, b.base)] {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s %s:%d)", m, m.Source, m.URL, m.Line+1))
	}
	return out
}

// sawConsole reports whether a message with text was logged.
func (b *browser) sawConsole(text string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

// TestExplorerBrowser loads the explorer of a running node in headless
// Chromium: follows a block, a transaction and an address by clicking, uses
// the search box, watches a new block and a stale block appear without a
// reload, checks the console stays free of errors, and saves a screenshot of
// every page under testout/explorer/.
func TestExplorerBrowser(t *testing.T) {
	exe := chromiumPath(t)
	started := time.Now()
	out := explorerTestOut(t)
	fast := func(c *node.Config) { c.P2PStatusInterval = time.Second }
	n1 := startNetNode(t, nil, fast)
	f := buildExplorerChain(t, n1)
	n2 := startNetNode(t, []string{n1.p2pAddr()}, fast)
	waitFor(t, 60*time.Second, "the second node to sync", func() bool {
		return n2.tip() == n1.tip() && len(n1.Views().Peers().Peers) > 0 && n1.Views().Peers().Peers[0].BestHeight == n1.Chain().BestSnapshot().Height
	})
	t.Logf("chain and network ready in %s", time.Since(started).Round(time.Millisecond))

	b := newBrowser(t, exe, n1.url, out)
	expected404 := map[string]bool{}

	// Home: the status, the pictures, the latest blocks and transactions.
	b.do("open the home page", chromedp.Navigate(n1.url+"/"), onPage("home"),
		chromedp.WaitVisible(chromedp.CSS("#latest-blocks")), chromedp.WaitVisible(chromedp.CSS("svg.tree")),
		chromedp.WaitVisible(chromedp.CSS("svg.intervals")), chromedp.WaitVisible(chromedp.CSS("#live-state")))
	if got := run(b, "network", chromedp.Text(chromedp.CSS("#st-network"))); got != "regtest" {
		t.Errorf("network shown as %q", got)
	}
	b.screenshot("home")

	// Follow a block by clicking it in the latest blocks.
	b.do("click the big block", chromedp.Click(chromedp.CSS(`#latest-blocks a[href="/block/`+f.big+`"]`)),
		waitPath("/block/"+f.big), onPage("block"))
	if n := len(run(b, "transactions", chromedp.Nodes(chromedp.CSSAll("#block-txs tbody tr")))); n != 22 {
		t.Errorf("the block page lists %d transactions, want 22", n)
	}
	b.do("see the merkle path", chromedp.WaitVisible(chromedp.CSS("svg.merkle .mnode.path.leaf")))
	b.screenshot("block")

	// Follow a transaction of the block.
	b.do("click a transaction", chromedp.Click(chromedp.CSS(`#block-txs a.txid[href="/tx/`+f.payment.String()+`"]`)),
		waitPath("/tx/"+f.payment.String()), onPage("tx"))
	if got := run(b, "txid", chromedp.Text(chromedp.ID("txid"))); got != f.payment.String() {
		t.Fatalf("the tx page shows %q", got)
	}
	script := run(b, "output script", chromedp.Text(chromedp.CSS("#tx-outputs code")))
	if !strings.HasPrefix(script, "OP_DUP OP_HASH160 ") || !strings.HasSuffix(script, " OP_EQUALVERIFY OP_CHECKSIG") {
		t.Errorf("output script shown as %q", script)
	}
	b.do("see the proof", chromedp.WaitVisible(chromedp.CSS("svg.merkle.path-only")), chromedp.WaitVisible(chromedp.CSS(".verdict.ok")))
	b.screenshot("tx")

	// Follow the address it pays.
	b.do("click an address", chromedp.Click(chromedp.CSS(`#tx-outputs a.addr[href="/address/`+f.recipient+`"]`)),
		waitPath("/address/"+f.recipient), onPage("address"))
	if got := run(b, "address", chromedp.Text(chromedp.ID("address"))); got != f.recipient {
		t.Fatalf("the address page shows %q", got)
	}
	b.do("see the coins", chromedp.WaitVisible(chromedp.CSS("#address-utxos")), chromedp.WaitVisible(chromedp.CSS("#address-balance")))
	b.screenshot("address")

	// A stale block, with the tree around it, and a whole Merkle tree.
	b.do("open a stale block", chromedp.Navigate(n1.url+"/block/"+f.reorgedOut), onPage("block"),
		chromedp.WaitVisible(chromedp.CSS("svg.tree .blk.stale.here")))
	b.screenshot("block-stale")
	b.do("open a whole merkle tree", chromedp.Navigate(n1.url+"/block/"+f.odd+"?tx=12#merkle"), onPage("block"),
		chromedp.WaitVisible(chromedp.CSS("svg.merkle .mnode.ghost.sib")))
	png := run(b, "merkle screenshot", chromedp.Screenshot(chromedp.ID("merkle")))
	if err := os.WriteFile(filepath.Join(out, "merkle.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// The search box: a height, a txid, an address, and nonsense.
	search := func(q string) {
		t.Helper()
		b.do("search "+q, chromedp.Clear(chromedp.ID("q")), chromedp.SendKeys(chromedp.ID("q"), q), chromedp.Submit(chromedp.ID("q")))
	}
	height := fmt.Sprint(n1.Chain().BestSnapshot().Height - 3)
	search(height)
	b.do("land on block "+height, waitPath("/block/"+height), onPage("block"))
	search(f.pending.String())
	b.do("land on the tx", waitPath("/tx/"+f.pending.String()), onPage("tx"))
	search(f.minerAddr)
	b.do("land on the address", waitPath("/address/"+f.minerAddr), onPage("address"))
	const nonsense = `<script>alert("x")</script>`
	expected404["/search?q=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E"] = true
	search(nonsense)
	b.do("land on not found", onPage("notfound"))
	if got := run(b, "asked", chromedp.Text(chromedp.CSS(".asked"))); got != nonsense {
		t.Errorf("the not-found page shows %q, want the search as text", got)
	}
	if got := run(b, "search box", chromedp.Value(chromedp.ID("q"))); got != nonsense {
		t.Errorf("the search box holds %q", got)
	}
	b.screenshot("notfound")

	// Mempool and peers.
	b.do("open the mempool", chromedp.Navigate(n1.url+"/mempool"), onPage("mempool"),
		chromedp.WaitVisible(chromedp.CSS(`#mempool-txs a[href="/tx/`+f.pending.String()+`"]`)))
	b.screenshot("mempool")
	b.do("open the peers", chromedp.Navigate(n1.url+"/peers"), onPage("peers"),
		chromedp.WaitVisible(chromedp.CSS(`#peers tr[data-peer="`+n2.peerID().String()+`"]`)))
	b.screenshot("peers")

	// Live: a mined block appears on the home page without a reload, and so
	// does a competing block, as a stale branch of the tree.
	b.do("open the home page again", chromedp.Navigate(n1.url+"/"), onPage("home"),
		chromedp.Evaluate[chromedp.Void](`window.explorerTestMarker = 42`))
	mined := n1.mine(1)[0]
	run(b, "see the new block without reloading",
		chromedp.Poll[bool](`document.querySelector('#latest-blocks tr[data-hash="`+mined+`"]') !== null`,
			chromedp.WithPollingTimeout(20*time.Second)))
	tipHdr, tipHeight, err := n1.Chain().HeaderByHash(mustHash(t, mined))
	if err != nil {
		t.Fatal(err)
	}
	parent, _, _ := n1.Chain().HeaderByHash(tipHdr.PrevBlock)
	rival := chaintest.BlockOn(chain.RegtestParams, tipHdr.PrevBlock, tipHeight-1, parent.Timestamp, chaintest.NewKey("live rival"), "live")
	if _, err := n1.SubmitBlock(rival); err != nil {
		t.Fatal(err)
	}
	run(b, "see the stale block in the tree without reloading",
		chromedp.Poll[bool](`document.querySelector('svg.tree .blk.stale[data-id="`+rival.BlockHash().String()+`"]') !== null`,
			chromedp.WithPollingTimeout(20*time.Second)))
	if marker := run(b, "marker", chromedp.Evaluate[int](`window.explorerTestMarker || 0`)); marker != 42 {
		t.Error("the home page reloaded to show the new block")
	}
	if got := run(b, "height", chromedp.Text(chromedp.CSS("#st-height"))); got != fmt.Sprint(tipHeight) {
		t.Errorf("the status shows height %q, want %d", got, tipHeight)
	}
	b.screenshot("home-live")

	// The console caught nothing: first make sure it would have.
	b.do("log a canary", chromedp.Evaluate[chromedp.Void](`console.error("explorer test canary")`))
	waitFor(t, 10*time.Second, "the canary in the console", func() bool { return b.sawConsole("explorer test canary") })
	var errs []string
	for _, e := range b.errors(expected404) {
		if !strings.Contains(e, "explorer test canary") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("browser test took %s; screenshots in %s", time.Since(started).Round(time.Millisecond), out)
}
