package node_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/node/nodetest"
	"github.com/minichain/minichain/wallet"
)

// testNode is a regtest node running in process (nodetest.Start), with
// the helpers the node's tests share.
type testNode struct {
	*nodetest.Node
	t   *testing.T
	url string
	c   *client.Client
	dir string
}

func startNode(t *testing.T, dir string, tweak func(*node.Config)) *testNode {
	t.Helper()
	n := nodetest.Start(t, nodetest.Options{Dir: dir, Tweak: tweak})
	return &testNode{Node: n, t: t, url: n.URL, c: n.Client, dir: n.Dir}
}

func (tn *testNode) stop() { tn.Stop() }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// request sends a raw HTTP request and returns status and body.
func (tn *testNode) request(method, path, token string, body []byte) (int, []byte) {
	tn.t.Helper()
	return tn.Request(method, path, token, body)
}

// expectError checks an error answer's status and code.
func (tn *testNode) expectError(method, path, token string, body []byte, status int, code string) {
	tn.t.Helper()
	got, b := tn.request(method, path, token, body)
	var e api.Error
	if err := json.Unmarshal(b, &e); err != nil {
		tn.t.Fatalf("%s %s: body is not a JSON error: %s", method, path, b)
	}
	if got != status || (code != "" && e.Error.Code != code) || e.Error.Message == "" {
		tn.t.Fatalf("%s %s: %d %q, want %d %q (%s)", method, path, got, e.Error.Code, status, code, e.Error.Message)
	}
}

// mine generates n blocks through the API.
func (tn *testNode) mine(n int) []string {
	tn.t.Helper()
	hs, err := tn.c.Generate(ctxT(tn.t), n)
	if err != nil {
		tn.t.Fatal(err)
	}
	return hs
}

// faucetFanOut sends the regtest faucet's coins to n outputs of key and
// confirms them.
func (tn *testNode) faucetFanOut(key *chaintest.Key, n int, value uint64) []chaintest.Prev {
	tn.t.Helper()
	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	var outs []chain.TxOut
	for i := 0; i < n; i++ {
		outs = append(outs, chain.TxOut{Value: value, PkScript: key.Script})
	}
	outs = append(outs, chain.TxOut{Value: fp.Value - uint64(n)*value - 100_000, PkScript: chaintest.RegtestFaucet.Script})
	tx := chaintest.Spend([]chaintest.Prev{fp}, outs)
	if _, err := tn.c.SubmitTx(ctxT(tn.t), tx); err != nil {
		tn.t.Fatal(err)
	}
	tn.mine(1)
	prevs := make([]chaintest.Prev, n)
	for i := range prevs {
		prevs[i] = chaintest.Prev{OutPoint: chain.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}, Value: value, Key: key}
	}
	return prevs
}

func TestReadEndpoints(t *testing.T) {
	tn := startNode(t, "", nil)
	ctx := ctxT(t)
	hs := tn.mine(3)
	key := chaintest.NewKey("reader")
	prevs := tn.faucetFanOut(key, 2, 1_000_000)
	fanTx := prevs[0].OutPoint.Hash

	s, err := tn.c.Status(ctx)
	if err != nil || s.Height != 4 || s.Network != "regtest" || s.Genesis != chain.RegtestParams.GenesisHash.String() {
		t.Fatalf("status %+v %v", s, err)
	}
	// Four blocks' changes wait in the cache; fetching the fan-out's
	// inputs found the faucet output in it or on disk.
	if uc := s.UtxoCache; uc.LimitBytes != node.DefaultUtxoCacheMiB<<20 || uc.Records == 0 || uc.Bytes <= 0 || uc.Hits+uc.Misses == 0 {
		t.Fatalf("status utxo_cache %+v", uc)
	}
	code, body := tn.request("GET", "/api/v1/height", "", nil)
	if code != 200 || strings.TrimSpace(string(body)) != "{\n  \"height\": 4\n}" {
		t.Fatalf("height: %d %s", code, body)
	}
	b1, err := tn.c.Block(ctx, "1")
	if err != nil || b1.Hash != hs[0] || b1.Height != 1 || !b1.MainChain || b1.Confirmations != 4 || b1.NextHash != hs[1] {
		t.Fatalf("block 1: %+v %v", b1.BlockSummary, err)
	}
	byHash, err := tn.c.Block(ctx, hs[0])
	if err != nil || byHash.Height != 1 {
		t.Fatalf("block by hash: %v", err)
	}
	latest, err := tn.c.Block(ctx, "latest")
	if err != nil || latest.Height != 4 || latest.TxCount != 2 || latest.Transactions[1].TxID != fanTx.String() {
		t.Fatalf("latest: %+v %v", latest.BlockSummary, err)
	}
	if latest.Fees != 100_000 || latest.Transactions[1].Fee == nil || *latest.Transactions[1].Fee != 100_000 {
		t.Fatalf("fees: block %d", latest.Fees)
	}
	list, err := tn.c.Blocks(ctx, 1, 2)
	if err != nil || len(list.Blocks) != 2 || list.Blocks[0].Height != 1 || list.Blocks[1].Height != 2 {
		t.Fatalf("range: %+v %v", list, err)
	}
	tx, err := tn.c.Tx(ctx, fanTx.String())
	if err != nil || tx.BlockHeight == nil || *tx.BlockHeight != 4 || tx.Confirmations != 1 || len(tx.Outputs) != 3 {
		t.Fatalf("tx: %+v %v", tx, err)
	}
	if tx.Inputs[0].Address == "" || tx.Outputs[0].ScriptAsm != "OP_DUP OP_HASH160 "+hex.EncodeToString(key.PKH[:])+" OP_EQUALVERIFY OP_CHECKSIG" {
		t.Fatalf("tx view: %+v", tx)
	}
	// A coinbase has a view too (it spends nothing): this once panicked.
	cb, err := tn.c.Tx(ctx, latest.Transactions[0].TxID)
	if err != nil || !cb.Coinbase || cb.Confirmations != 1 || cb.Fee != nil || len(cb.Outputs) == 0 {
		t.Fatalf("coinbase tx: %+v %v", cb, err)
	}
	pr, err := tn.c.Proof(ctx, fanTx.String())
	if err != nil || pr.BlockHeight != 4 || pr.TxCount != 2 || len(pr.Branch) != 1 {
		t.Fatalf("proof: %+v %v", pr, err)
	}
	addr := wallet.NewAddress(key.PKH, chain.RegtestParams).String()
	a, err := tn.c.Address(ctx, addr)
	if err != nil || a.Balance != 2_000_000 || len(a.Utxos) != 2 || a.TxCount != 1 {
		t.Fatalf("address: %+v %v", a, err)
	}
	bal, err := tn.c.Balances(ctx)
	if err != nil || bal.Count < 3 {
		t.Fatalf("balances: %+v %v", bal, err)
	}
	// A pending payment shows in the mempool and on the address.
	pay := chaintest.Spend([]chaintest.Prev{prevs[0]}, []chain.TxOut{{Value: 900_000, PkScript: chaintest.NewKey("x").Script}})
	if _, err := tn.c.SubmitTx(ctx, pay); err != nil {
		t.Fatal(err)
	}
	mp, err := tn.c.Mempool(ctx)
	if err != nil || mp.Count != 1 || mp.Transactions[0].TxID != pay.TxHash().String() || mp.Transactions[0].Fee != 100_000 {
		t.Fatalf("mempool: %+v %v", mp, err)
	}
	a, _ = tn.c.Address(ctx, addr)
	if len(a.Pending) != 1 || a.Unconfirmed != -1_000_000 || !a.Utxos[0].SpentInPool && !a.Utxos[1].SpentInPool {
		t.Fatalf("address with pending spend: %+v", a)
	}
	ptx, err := tn.c.Tx(ctx, pay.TxHash().String())
	if err != nil || !ptx.InMempool || ptx.Fee == nil || *ptx.Fee != 100_000 {
		t.Fatalf("pool tx: %+v %v", ptx, err)
	}
	code, _ = tn.request("GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	_, metrics := tn.request("GET", "/metrics", "", nil)
	for _, series := range []string{"minichain_height 4", "minichain_mempool_txs 1", "minichain_blocks_accepted_total", "minichain_reorgs_total", "minichain_hashrate",
		"minichain_utxo_cache_bytes", "minichain_utxo_cache_hit_ratio", "minichain_utxo_cache_last_flush_height"} {
		if !strings.Contains(string(metrics), series) {
			t.Errorf("metrics lack %q", series)
		}
	}
	ps, err := tn.c.Peers(ctx)
	if err != nil || ps.Count != 0 {
		t.Fatalf("peers: %+v %v", ps, err)
	}
}

// TestErrorStatuses provokes every error status of the API.
func TestErrorStatuses(t *testing.T) {
	tn := startNode(t, "", nil)
	tn.mine(1)
	tok := tn.Token()
	// 400 malformed.
	tn.expectError("GET", "/api/v1/blocks/abc", "", nil, 400, "invalid_block_id")
	tn.expectError("GET", "/api/v1/blocks/"+strings.Repeat("z", 64), "", nil, 400, "invalid_hash")
	tn.expectError("GET", "/api/v1/tx/1234", "", nil, 400, "invalid_txid")
	tn.expectError("GET", "/api/v1/address/notanaddress", "", nil, 400, "invalid_address")
	tn.expectError("GET", "/api/v1/address/"+wallet.NewAddress([20]byte{1}, chain.DevnetParams).String(), "", nil, 400, "wrong_network")
	tn.expectError("GET", "/api/v1/blocks?limit=0", "", nil, 400, "invalid_limit")
	tn.expectError("POST", "/api/v1/tx", "", []byte(`{"hex": `), 400, "malformed_json")
	tn.expectError("POST", "/api/v1/tx", "", []byte(`{"hex": "zz"}`), 400, "invalid_hex")
	tn.expectError("POST", "/api/v1/tx", "", []byte(`{"hex": "0100"}`), 400, "malformed")
	tn.expectError("POST", "/api/v1/tx", "", []byte(`{"hex": "00", "extra": 1}`), 400, "malformed_json")
	tn.expectError("POST", "/api/v1/tx", "", nil, 400, "malformed_json")
	// 401 no or wrong token.
	for _, path := range []string{"/api/v1/wallet/send", "/api/v1/wallet/addresses", "/api/v1/mining/start", "/api/v1/mining/stop",
		"/api/v1/mining/generate", "/api/v1/chain/validate", "/api/v1/admin/shutdown"} {
		tn.expectError("POST", path, "", []byte(`{}`), 401, "unauthorized")
		tn.expectError("POST", path, "wrong", []byte(`{}`), 401, "unauthorized")
	}
	tn.expectError("GET", "/api/v1/wallet", "", nil, 401, "unauthorized")
	// 404 unknown.
	tn.expectError("GET", "/api/v1/blocks/99", "", nil, 404, "not_found")
	tn.expectError("GET", "/api/v1/blocks/"+strings.Repeat("ab", 32), "", nil, 404, "not_found")
	tn.expectError("GET", "/api/v1/tx/"+strings.Repeat("ab", 32), "", nil, 404, "not_found")
	tn.expectError("GET", "/api/v1/tx/"+strings.Repeat("ab", 32)+"/proof", "", nil, 404, "not_found")
	tn.expectError("GET", "/api/v1/nothing", "", nil, 404, "not_found")
	// 409 conflict: a double spend of a pool transaction.
	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	a := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 100_000, PkScript: chaintest.NewKey("a").Script}})
	b := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 200_000, PkScript: chaintest.NewKey("b").Script}})
	if _, err := tn.c.SubmitTx(ctxT(t), a); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(api.SubmitTx{Hex: hex.EncodeToString(b.Serialize())})
	tn.expectError("POST", "/api/v1/tx", "", body, 409, "conflict")
	// Submitting the same transaction again is acknowledged (idempotent).
	if id, err := tn.c.SubmitTx(ctxT(t), a); err != nil || id != a.TxHash().String() {
		t.Fatalf("resubmission: %v", err)
	}
	// 413 body too large.
	huge := append(append([]byte(`{"hex": "`), bytes.Repeat([]byte("00"), 2*chain.RegtestParams.MaxBlockSize)...), []byte(`"}`)...)
	tn.expectError("POST", "/api/v1/tx", "", huge, 413, "body_too_large")
	tn.expectError("POST", "/api/v1/mining/generate", tok, append([]byte(`{"blocks": 1, "x": "`), append(bytes.Repeat([]byte("a"), 100_000), '"', '}')...), 413, "body_too_large")
	// 422 rule violated.
	greedy := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: a.TxHash()}, Value: a.TxOut[0].Value, Key: chaintest.NewKey("a")}},
		[]chain.TxOut{{Value: a.TxOut[0].Value + 1, PkScript: chaintest.NewKey("a").Script}})
	body, _ = json.Marshal(api.SubmitTx{Hex: hex.EncodeToString(greedy.Serialize())})
	tn.expectError("POST", "/api/v1/tx", "", body, 422, "spend_too_high")
	ghost := chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: chain.Hash{7}}, Value: 1e6, Key: chaintest.NewKey("a")}},
		[]chain.TxOut{{Value: 1e5, PkScript: chaintest.NewKey("a").Script}})
	body, _ = json.Marshal(api.SubmitTx{Hex: hex.EncodeToString(ghost.Serialize())})
	tn.expectError("POST", "/api/v1/tx", "", body, 422, "missing_inputs")
	to := wallet.NewAddress([20]byte{9}, chain.RegtestParams).String()
	tn.expectError("POST", "/api/v1/wallet/send", tok, []byte(`{"to": "`+to+`", "amount": 100000000000000, "fee_rate": 1}`), 422, "insufficient_funds")
	tn.expectError("POST", "/api/v1/wallet/send", tok, []byte(`{"to": "`+to+`", "amount": 10, "fee_rate": 1}`), 422, "dust_amount")
	tn.expectError("POST", "/api/v1/wallet/send", tok, []byte(`{"to": "nope", "amount": 1000, "fee_rate": 1}`), 400, "invalid_address")
	tn.expectError("POST", "/api/v1/mining/generate", tok, []byte(`{"blocks": 0}`), 400, "invalid_blocks")
}

// TestInternalErrorHidesDetail: a failure inside the node answers 500 with
// a generic message.
func TestInternalErrorHidesDetail(t *testing.T) {
	tn := startNode(t, "", nil)
	tn.mine(1)
	node.CloseStoreForTest(tn.Node.Node)
	status, b := tn.request("GET", "/api/v1/balances", "", nil)
	var e api.Error
	_ = json.Unmarshal(b, &e)
	if status != 500 || e.Error.Code != "internal" || e.Error.Message != "internal error" {
		t.Fatalf("%d %s", status, b)
	}
}

// TestConcurrentSubmissions: 100 distinct transactions submitted at once
// are all accepted once; 100 conflicting ones are rejected with 409.
func TestConcurrentSubmissions(t *testing.T) {
	tn := startNode(t, "", nil)
	key := chaintest.NewKey("concurrent")
	prevs := tn.faucetFanOut(key, 100, 1_000_000)
	other := chaintest.NewKey("other")
	var good, bad []*chain.Tx
	for _, p := range prevs {
		good = append(good, chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{{Value: 900_000, PkScript: other.Script}}))
		bad = append(bad, chaintest.Spend([]chaintest.Prev{p}, []chain.TxOut{{Value: 800_000, PkScript: other.Script}}))
	}
	submit := func(txs []*chain.Tx) []error {
		errs := make([]error, len(txs))
		var wg sync.WaitGroup
		for i, tx := range txs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = tn.c.SubmitTx(ctxT(t), tx)
			}()
		}
		wg.Wait()
		return errs
	}
	for i, err := range submit(good) {
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	for i, err := range submit(bad) {
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 409 {
			t.Fatalf("conflicting tx %d: %v", i, err)
		}
	}
	if n := tn.Mempool().Count(); n != 100 {
		t.Fatalf("mempool holds %d, want 100", n)
	}
	tn.mine(1)
	b, _ := tn.c.Block(ctxT(t), "latest")
	if b.TxCount != 101 {
		t.Fatalf("block holds %d txs, want 101", b.TxCount)
	}
}

// TestWalletEndpointsAndMining covers the node wallet, sending, mining
// control, validation and shutdown.
func TestWalletEndpointsAndMining(t *testing.T) {
	tn := startNode(t, "", nil)
	ctx := ctxT(t)
	// 11 blocks: the coinbases of heights 1 and 2 are mature for block 12.
	tn.mine(int(chain.RegtestParams.CoinbaseMaturity) + 1)
	w, err := tn.c.Wallet(ctx)
	if err != nil || w.Balance.Spendable != 100*chain.UnitsPerCoin || w.Balance.Immature != 450*chain.UnitsPerCoin || w.Encrypted {
		t.Fatalf("wallet: %+v %v", w.Balance, err)
	}
	na, err := tn.c.NewAddress(ctx)
	if err != nil || !strings.HasPrefix(na.Path, "m/44'/1'/0'/0/") {
		t.Fatalf("new address: %+v %v", na, err)
	}
	dest := wallet.NewAddress(chaintest.NewKey("dest").PKH, chain.RegtestParams).String()
	sent, err := tn.c.Send(ctx, api.Send{To: dest, Amount: 1_500_000_000, FeeRate: 2})
	if err != nil || sent.Fee == 0 || sent.ChangeAddress == "" {
		t.Fatalf("send: %+v %v", sent, err)
	}
	tn.mine(1)
	a, _ := tn.c.Address(ctx, dest)
	if a.Balance != 1_500_000_000 {
		t.Fatalf("dest balance %d", a.Balance)
	}
	// Continuous mining starts and stops.
	if m, err := tn.c.StartMining(ctx); err != nil || !m.Mining {
		t.Fatalf("start: %+v %v", m, err)
	}
	start := tn.Chain().BestSnapshot().Height
	waitFor(t, 30*time.Second, "continuous mining to make two blocks", func() bool {
		return tn.Chain().BestSnapshot().Height >= start+2
	})
	if m, err := tn.c.StopMining(ctx); err != nil || m.Mining {
		t.Fatalf("stop: %+v %v", m, err)
	}
	var steps int
	v, err := tn.c.Validate(ctx, func(done, total int32) { steps++ })
	if err != nil || !v.Valid || v.Blocks < 14 {
		t.Fatalf("validate: %+v %v", v, err)
	}
	status, body := tn.request("POST", "/api/v1/chain/validate", tn.Token(), nil)
	if status != 200 || !bytes.Contains(body, []byte(`"valid": true`)) {
		t.Fatalf("plain validate: %d %s", status, body)
	}
	if err := tn.c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { tn.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown through the API did not stop the node")
	}
}

// TestRestartKeepsState: a stopped node reopens at the same tip with the
// same wallet and pool.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, dir, nil)
	tn.mine(12)
	ctx := ctxT(t)
	dest := wallet.NewAddress(chaintest.NewKey("d").PKH, chain.RegtestParams).String()
	sent, err := tn.c.Send(ctx, api.Send{To: dest, Amount: 100_000_000, FeeRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	tip := tn.Chain().BestSnapshot()
	w1, _ := tn.c.Wallet(ctx)
	tn.stop()
	tn2 := startNode(t, dir, nil)
	if got := tn2.Chain().BestSnapshot(); got.Hash != tip.Hash {
		t.Fatalf("restarted at %s, want %s", got.Hash, tip.Hash)
	}
	if cs := tn2.Chain().CacheStats(); cs.Records != 0 {
		t.Fatalf("the restart replayed blocks (%d cached records): the shutdown did not flush", cs.Records)
	}
	if !tn2.Mempool().Has(mustHash(t, sent.TxID)) {
		t.Fatal("the acknowledged payment was lost by the restart")
	}
	w2, _ := tn2.c.Wallet(ctxT(t))
	if fmt.Sprint(w1.Balance) != fmt.Sprint(w2.Balance) || len(w1.Addresses) != len(w2.Addresses) {
		t.Fatalf("wallet changed: %+v vs %+v", w1.Balance, w2.Balance)
	}
}

func mustHash(t *testing.T, s string) chain.Hash {
	t.Helper()
	h, err := chain.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSupplyInvariant: after random transfers between many addresses, the
// sum of all balances equals the genesis allocation plus every block
// subsidy: fees move money, they never create or destroy it.
func TestSupplyInvariant(t *testing.T) {
	tn := startNode(t, "", nil)
	ctx := ctxT(t)
	p := chain.RegtestParams
	w, _, err := wallet.Create("", p, wallet.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ImportWIF(wallet.EncodeWIF(chaintest.RegtestFaucet.Priv, p)); err != nil {
		t.Fatal(err)
	}
	var addrs []wallet.Address
	for i := 0; i < 25; i++ {
		a, _ := w.NewAddress(false)
		addrs = append(addrs, a)
	}
	rng := newRand(42)
	sent := 0
	for round := 0; round < 12; round++ {
		for k := 0; k < 6; k++ {
			to := addrs[rng.Intn(len(addrs))]
			amount := uint64(1_000_000 + rng.Intn(5_000_000_000))
			pay, err := w.BuildPayment(tn.c.Ledger(ctx), to, amount, wallet.PayOptions{FeeRate: uint64(1 + rng.Intn(5))})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if _, err := tn.c.SubmitTx(ctx, pay.Tx); err != nil {
				t.Fatalf("round %d: submit: %v", round, err)
			}
			if err := w.KeepChange(pay); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		tn.mine(1 + rng.Intn(2))
	}
	if tn.Mempool().Count() != 0 {
		t.Fatalf("%d transactions left unmined", tn.Mempool().Count())
	}
	bal, err := tn.c.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := p.GenesisBlock.Transactions[0].TxOut[0].Value
	tip := tn.Chain().BestSnapshot().Height
	for h := int32(1); h <= tip; h++ {
		want += chain.CalcBlockSubsidy(h, p)
	}
	if bal.Total != want {
		t.Fatalf("sum of balances %d, issued %d (difference %d) after %d transfers over %d blocks",
			bal.Total, want, int64(bal.Total)-int64(want), sent, tip)
	}
	if bal.Count < 20 {
		t.Fatalf("only %d addresses hold money", bal.Count)
	}
}
