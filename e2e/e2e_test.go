//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDevnet starts the three-node network once and runs the scenarios in
// order; a failed scenario stops the run (later ones build on it).
func TestDevnet(t *testing.T) {
	c := newCluster(t)
	w := newWallets(t, c)
	scenarios := []struct {
		name string
		fn   func(t *testing.T, c *cluster, w *wallets)
	}{
		{"1-up", scenarioUp},
		{"2-payment", scenarioPayment},
		{"3-partition", scenarioPartition},
		{"4-crash", scenarioCrash},
		{"5-late-joiner", scenarioLateJoiner},
		{"6-whole-restart", scenarioWholeRestart},
		{"7-bad-input", scenarioBadInput},
	}
	for _, s := range scenarios {
		start := time.Now()
		c.t = t
		ok := t.Run(s.name, func(t *testing.T) {
			c.t = t
			s.fn(t, c, w)
		})
		c.t = t
		t.Logf("%s: %v in %s", s.name, map[bool]string{true: "passed", false: "FAILED"}[ok], time.Since(start).Round(time.Second))
		if !ok {
			t.FailNow()
		}
	}
}

// wallets are local keystores the suite drives with the CLI, as a user.
type wallets struct {
	dir    string
	faucet string
}

func newWallets(t *testing.T, c *cluster) *wallets {
	dir := t.TempDir()
	w := &wallets{dir: dir, faucet: filepath.Join(dir, "faucet.json")}
	wif, err := os.ReadFile(filepath.Join(c.root, "devnet", "faucet.wif"))
	if err != nil {
		t.Fatal(err)
	}
	c.minichain("wallet", "create", "--wallet", w.faucet, "--no-passphrase")
	c.minichain("wallet", "import", strings.TrimSpace(string(wif)), "--wallet", w.faucet)
	return w
}

// newAddress creates a wallet and returns its path and first address.
func (w *wallets) newAddress(c *cluster, name string) (string, string) {
	path := filepath.Join(w.dir, name+".json")
	var out struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(c.minichain("wallet", "create", "--wallet", path, "--no-passphrase", "--json")), &out); err != nil {
		c.t.Fatal(err)
	}
	return path, out.Address
}

// send pays from a wallet through a node and returns the txid.
func (w *wallets) send(c *cluster, from, node, to, amount string) string {
	var out struct {
		TxID string `json:"txid"`
	}
	if err := json.Unmarshal([]byte(c.minichain("send", "--wallet", from, "--node", c.url(node), "--to", to,
		"--amount", amount, "--json")), &out); err != nil {
		c.t.Fatal(err)
	}
	return out.TxID
}

type txView struct {
	TxID          string `json:"txid"`
	BlockHash     string `json:"block_hash"`
	Confirmations int32  `json:"confirmations"`
	InMempool     bool   `json:"in_mempool"`
}

func (c *cluster) tx(svc, txid string) (txView, error) {
	var v txView
	err := c.get(svc, "/api/v1/tx/"+txid, &v)
	return v, err
}

// waitMined waits until a transaction is in a block on a node.
func (c *cluster) waitMined(svc, txid string, timeout time.Duration) txView {
	c.t.Helper()
	var v txView
	c.waitFor(timeout, "tx "+txid[:8]+" to be mined on "+svc, func() error {
		var err error
		if v, err = c.tx(svc, txid); err != nil {
			return err
		}
		if v.BlockHash == "" {
			return fmt.Errorf("still in the mempool")
		}
		return nil
	})
	return v
}

var nodes = []string{"node1", "node2", "node3"}

// scenarioUp: all three healthy; node2 and node3 connected though neither
// was told of the other; all converge on one tip while mining.
func scenarioUp(t *testing.T, c *cluster, _ *wallets) {
	c.waitHealthy("", nodes...)
	ids := map[string]string{}
	for _, n := range nodes {
		st, err := c.status(n)
		if err != nil || st.PeerID == "" {
			t.Fatalf("%s status: %+v %v", n, st, err)
		}
		ids[n] = st.PeerID
	}
	connected := func(a, b string) error {
		var ps struct {
			Peers []struct {
				ID string `json:"id"`
			} `json:"peers"`
		}
		if err := c.get(a, "/api/v1/peers", &ps); err != nil {
			return err
		}
		for _, p := range ps.Peers {
			if p.ID == ids[b] {
				return nil
			}
		}
		return fmt.Errorf("%s has %d peers, not %s", a, len(ps.Peers), b)
	}
	c.waitFor(2*time.Minute, "node2 and node3 to find each other through the DHT", func() error {
		if err := connected("node2", "node3"); err != nil {
			return err
		}
		return connected("node3", "node2")
	})
	c.waitFor(3*time.Minute, "every node to reach height 3", func() error {
		for _, n := range nodes {
			st, err := c.status(n)
			if err != nil {
				return err
			}
			if !st.Mining || st.Height < 3 {
				return fmt.Errorf("%s at height %d, mining %v", n, st.Height, st.Mining)
			}
		}
		return nil
	})
	t.Logf("agreed on %s", c.sameTip(3*time.Minute, nodes...))
}

type addressView struct {
	Balance uint64 `json:"balance"`
}

// scenarioPayment: coins sent on node1 are mined, and the three nodes show
// the same confirmed balances and the same block holding the transaction.
func scenarioPayment(t *testing.T, c *cluster, w *wallets) {
	_, dest := w.newAddress(c, "payee")
	txid := w.send(c, w.faucet, "node1", dest, "12.5")
	mined := c.waitMined("node1", txid, 3*time.Minute)
	c.waitFor(2*time.Minute, "the three nodes to agree on the block holding the payment and the balance", func() error {
		for _, n := range nodes {
			v, err := c.tx(n, txid)
			if err != nil {
				return err
			}
			if v.BlockHash != mined.BlockHash {
				return fmt.Errorf("%s has the tx in %q, node1 in %s", n, v.BlockHash, mined.BlockHash)
			}
			var a addressView
			if err := c.get(n, "/api/v1/address/"+dest, &a); err != nil {
				return err
			}
			if a.Balance != 1_250_000_000 {
				return fmt.Errorf("%s shows a balance of %d", n, a.Balance)
			}
		}
		return nil
	})
}

func chainWork(st status) *big.Int {
	w, _ := new(big.Int).SetString(st.ChainWork, 16)
	if w == nil {
		return new(big.Int)
	}
	return w
}

// scenarioPartition: node3 is cut off the p2p network, both sides mine and
// take a transaction each, the network heals, all converge on the chain
// with the most work, every transaction is in the final chain or in every
// mempool, and node3's metrics show the reorganisation.
func scenarioPartition(t *testing.T, c *cluster, w *wallets) {
	walletA, addrA := w.newAddress(c, "side-a")
	walletB, addrB := w.newAddress(c, "side-b")
	fundA := w.send(c, w.faucet, "node1", addrA, "100")
	fundB := w.send(c, w.faucet, "node1", addrB, "100")
	c.waitMined("node1", fundA, 3*time.Minute)
	c.waitMined("node1", fundB, 3*time.Minute)
	c.sameTip(3*time.Minute, nodes...)

	net, n3 := c.network(), c.container("node3")
	c.docker("network", "disconnect", net, n3)
	healed := false
	defer func() {
		if !healed {
			run(t.Context(), c.root, nil, "docker", "network", "connect", "--alias", "node3", net, n3)
		}
	}()
	split, err := c.status("node1")
	if err != nil {
		t.Fatal(err)
	}
	_, payee := w.newAddress(c, "partition-payee")
	txA := w.send(c, walletA, "node1", payee, "1")
	txB := w.send(c, walletB, "node3", payee, "2")
	c.waitMined("node1", txA, 4*time.Minute)
	c.waitMined("node3", txB, 6*time.Minute)
	c.waitFor(6*time.Minute, "the majority side to get well ahead in work", func() error {
		a, err := c.status("node1")
		if err != nil {
			return err
		}
		b, err := c.status("node3")
		if err != nil {
			return err
		}
		if a.Tip == b.Tip {
			return fmt.Errorf("the sides share tip %s: the partition did not hold", a.Tip)
		}
		if a.Height < b.Height+2 || chainWork(a).Cmp(chainWork(b)) <= 0 || a.Height < split.Height+2 {
			return fmt.Errorf("node1 at %d (work %s), node3 at %d (work %s)", a.Height, a.ChainWork, b.Height, b.ChainWork)
		}
		return nil
	})
	c.docker("network", "connect", "--alias", "node3", net, n3)
	healed = true
	c.sameTip(4*time.Minute, nodes...)
	for _, txid := range []string{txA, txB} {
		c.waitFor(3*time.Minute, "tx "+txid[:8]+" to be in the final chain or in every mempool", func() error {
			var blocks []string
			pooled := 0
			for _, n := range nodes {
				v, err := c.tx(n, txid)
				if err != nil {
					return fmt.Errorf("%s lost the transaction: %v", n, err)
				}
				if v.InMempool {
					pooled++
				} else {
					blocks = append(blocks, v.BlockHash)
				}
			}
			if pooled == len(nodes) {
				return nil
			}
			if len(blocks) == len(nodes) && blocks[0] == blocks[1] && blocks[1] == blocks[2] {
				return nil
			}
			return fmt.Errorf("in blocks %v, in %d mempools", blocks, pooled)
		})
	}
	_, metrics, err := c.api("node3", "GET", "/metrics", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^minichain_reorgs_total (\d+)`).FindSubmatch(metrics)
	if m == nil {
		t.Fatal("node3 exposes no minichain_reorgs_total")
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 1 {
		t.Fatalf("node3's metrics show %d reorganisations", n)
	}
}

// scenarioCrash: node2 is killed with SIGKILL while blocks and transactions
// flow, started again, catches up, and re-validates its whole chain.
func scenarioCrash(t *testing.T, c *cluster, w *wallets) {
	_, payee := w.newAddress(c, "crash-payee")
	n2 := c.container("node2")
	before := w.send(c, w.faucet, "node1", payee, "3")
	c.docker("kill", "-s", "KILL", n2)
	during := w.send(c, w.faucet, "node1", payee, "4")
	time.Sleep(2 * time.Second)
	c.docker("start", n2)
	c.waitHealthy(" again", "node2")
	c.waitMined("node1", during, 3*time.Minute)
	c.sameTip(3*time.Minute, nodes...)
	for _, txid := range []string{before, during} {
		if v, err := c.tx("node2", txid); err != nil || v.BlockHash == "" {
			t.Fatalf("node2 after the crash: tx %s: %+v %v", txid[:8], v, err)
		}
	}
	code, body, err := c.api("node2", "POST", "/api/v1/chain/validate", c.token("node2"), nil)
	if err != nil || code != 200 {
		t.Fatalf("validate: %d %s %v", code, body, err)
	}
	var v struct {
		Valid  bool  `json:"valid"`
		Blocks int   `json:"blocks_checked"`
		Height int32 `json:"height"`
	}
	if err := json.Unmarshal(body, &v); err != nil || !v.Valid || v.Blocks < 2 {
		t.Fatalf("node2's chain after kill -9: %s", body)
	}
}

// scenarioLateJoiner: a fourth container with an empty volume and only the
// bootstrap multiaddr syncs to the tip and follows it.
func scenarioLateJoiner(t *testing.T, c *cluster, _ *wallets) {
	name, vol, port := c.project+"-node4", c.project+"-node4-data", freePort()
	c.docker("volume", "create", vol)
	c.volumes = append(c.volumes, vol)
	c.docker("run", "-d", "--name", name, "--network", c.network(), "-p", "127.0.0.1:"+port+":8080",
		"-v", vol+":/data", c.image, "node", "--bootstrap", bootstrapAddr)
	c.extra = append(c.extra, name)
	c.ports["node4"] = port
	defer func() {
		if t.Failed() {
			return // teardown saves its log, then removes it
		}
		c.docker("rm", "-f", "-v", name)
		c.extra = c.extra[:len(c.extra)-1]
	}()
	c.sameTip(4*time.Minute, "node1", "node4")
	st, err := c.status("node4")
	if err != nil {
		t.Fatal(err)
	}
	c.waitFor(3*time.Minute, "node4 to follow the tip", func() error {
		now, err := c.status("node4")
		if err != nil {
			return err
		}
		if now.Height <= st.Height {
			return fmt.Errorf("still at %d", now.Height)
		}
		return nil
	})
	c.sameTip(3*time.Minute, "node1", "node4")
}

type blockView struct {
	Hash string `json:"hash"`
}

// scenarioWholeRestart: docker compose down (volumes kept) and up again:
// the same chain, and mining goes on.
func scenarioWholeRestart(t *testing.T, c *cluster, _ *wallets) {
	st, err := c.status("node1")
	if err != nil {
		t.Fatal(err)
	}
	var before blockView
	c.mustGet("node1", fmt.Sprintf("/api/v1/blocks/%d", st.Height), &before)
	c.composeRun("down", "--timeout", "10")
	c.composeRun("up", "-d")
	c.waitHealthy(" after the restart", nodes...)
	for _, n := range nodes {
		var after blockView
		c.waitFor(2*time.Minute, n+" to hold the block at height "+fmt.Sprint(st.Height), func() error {
			return c.get(n, fmt.Sprintf("/api/v1/blocks/%d", st.Height), &after)
		})
		if after.Hash != before.Hash {
			t.Fatalf("%s: block %d is %s after the restart, was %s", n, st.Height, after.Hash, before.Hash)
		}
	}
	c.waitFor(3*time.Minute, "mining to go on", func() error {
		now, err := c.status("node1")
		if err != nil {
			return err
		}
		if now.Height <= st.Height || !now.Mining {
			return fmt.Errorf("height %d, mining %v", now.Height, now.Mining)
		}
		return nil
	})
	c.sameTip(3*time.Minute, nodes...)
}

// scenarioBadInput: malformed JSON, oversized bodies, unknown hashes and
// addresses, a wrong token: clear JSON errors, and every node healthy
// afterwards.
func scenarioBadInput(t *testing.T, c *cluster, _ *wallets) {
	huge := []byte(`{"hex": "` + strings.Repeat("00", 3<<20) + `"}`)
	cases := []struct {
		method, path, token string
		body                []byte
		status              int
		code                string
	}{
		{"POST", "/api/v1/tx", "", []byte(`{"hex": `), 400, "malformed_json"},
		{"POST", "/api/v1/tx", "", []byte(`{"hex": "0102"}`), 400, "malformed"},
		{"POST", "/api/v1/tx", "", []byte(`not json at all`), 400, "malformed_json"},
		{"POST", "/api/v1/tx", "", huge, 413, "body_too_large"},
		{"GET", "/api/v1/blocks/" + strings.Repeat("ab", 32), "", nil, 404, "not_found"},
		{"GET", "/api/v1/blocks/999999999", "", nil, 404, "not_found"},
		{"GET", "/api/v1/tx/" + strings.Repeat("cd", 32), "", nil, 404, "not_found"},
		{"GET", "/api/v1/tx/xyz", "", nil, 400, "invalid_txid"},
		{"GET", "/api/v1/address/notanaddress", "", nil, 400, "invalid_address"},
		{"GET", "/api/v1/address/mnqzWM7x1pAEMa7JViPHKDvP1vcc1PQfWA", "", nil, 400, "wrong_network"},
		{"POST", "/api/v1/mining/stop", "wrong-token", []byte(`{}`), 401, "unauthorized"},
		{"POST", "/api/v1/wallet/send", "", []byte(`{}`), 401, "unauthorized"},
	}
	for _, n := range nodes {
		for _, tc := range cases {
			code, body, err := c.api(n, tc.method, tc.path, tc.token, tc.body)
			if err != nil {
				t.Fatalf("%s %s %s: %v", n, tc.method, tc.path, err)
			}
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &e) != nil || code != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Fatalf("%s %s %s: %d %s; want %d %s", n, tc.method, tc.path, code, body, tc.status, tc.code)
			}
		}
	}
	for _, n := range nodes {
		if h := c.health(c.container(n)); h != "healthy" {
			t.Fatalf("%s is %s after the bad input", n, h)
		}
		if _, err := c.status(n); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
}
