package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/nodetest"
	"github.com/minichain/minichain/wallet"
)

// Each test here talks HTTP to a real regtest node (nodetest.Start): the
// API's edges as a program or a browser meets them.

// call is one HTTP request to a node.
type call struct {
	method, path string
	body         string
	token        string
	header       map[string]string // Host goes to req.Host
}

// answer is a node's response.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    api.ErrorBody
}

func do(t *testing.T, n *nodetest.Node, c call) answer {
	t.Helper()
	req, err := http.NewRequest(c.method, n.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	var e api.Error
	if json.Unmarshal(b, &e) == nil {
		a.err = e.Error
	}
	return a
}

// expect checks an error answer: status, code, a message, and the headers
// every JSON error carries.
func expect(t *testing.T, n *nodetest.Node, c call, status int, code string) answer {
	t.Helper()
	a := do(t, n, c)
	if a.status != status || a.err.Code != code || a.err.Message == "" {
		t.Fatalf("%s %s %q: %d %q %q, want %d %q", c.method, c.path, c.body, a.status, a.err.Code, a.err.Message, status, code)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s: error headers %v", c.method, c.path, a.header)
	}
	return a
}

// logBuffer collects a node's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestSendEdges: a fee rate of 2^63 and amounts above the money supply are
// the caller's mistakes (4xx with stable codes), never a 500 or an ERROR
// in the log; the fee guard is a 422 that force overrides.
func TestSendEdges(t *testing.T) {
	logs := &logBuffer{}
	n := nodetest.Start(t, nodetest.Options{Tweak: func(c *node.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	if _, err := n.Client.Generate(ctxT(t), int(chain.RegtestParams.CoinbaseMaturity)+2); err != nil {
		t.Fatal(err)
	}
	to := wallet.NewAddress([20]byte{9}, chain.RegtestParams).String()
	tok := n.Token()
	send := func(body string) call {
		return call{method: "POST", path: "/api/v1/wallet/send", token: tok, body: body,
			header: map[string]string{"Content-Type": "application/json"}}
	}
	expect(t, n, send(`{"to": "`+to+`", "amount": 100000000, "fee_rate": 9223372036854775808}`), 400, "invalid_fee_rate")
	expect(t, n, send(`{"to": "`+to+`", "amount": 100000000, "fee_rate": 9223372036854775808, "force": true}`), 400, "invalid_fee_rate")
	expect(t, n, send(`{"to": "`+to+`", "amount": 100000000, "fee_rate": 18446744073709551615}`), 400, "invalid_fee_rate")
	expect(t, n, send(fmt.Sprintf(`{"to": "%s", "amount": 100000000, "fee_rate": %d}`, to, wallet.DefaultMaxFeeRate+1)), 422, "fee_rate_too_high")
	expect(t, n, send(fmt.Sprintf(`{"to": "%s", "amount": %d, "fee_rate": 1}`, to, uint64(chain.MaxMoney)+1)), 400, "invalid_amount")
	expect(t, n, send(`{"to": "`+to+`", "amount": 18446744073709551615, "fee_rate": 1}`), 400, "invalid_amount")
	expect(t, n, send(`{"to": "`+to+`", "amount": 0, "fee_rate": 1}`), 400, "invalid_amount")
	expect(t, n, send(`{"to": "`+to+`", "amount": 18446744073709551616, "fee_rate": 1}`), 400, "malformed_json")
	expect(t, n, send(`{"to": "`+to+`", "amount": -1, "fee_rate": 1}`), 400, "malformed_json")
	// Within the supply but more than the wallet has: that one is about
	// the wallet, not the request.
	expect(t, n, send(fmt.Sprintf(`{"to": "%s", "amount": %d, "fee_rate": 1}`, to, uint64(chain.MaxMoney))), 422, "insufficient_funds")
	// Forced, a high fee rate is paid.
	a := do(t, n, send(fmt.Sprintf(`{"to": "%s", "amount": 100000000, "fee_rate": %d, "force": true}`, to, wallet.DefaultMaxFeeRate+1)))
	var sent api.Sent
	if err := json.Unmarshal(a.body, &sent); a.status != 200 || err != nil || sent.Fee < (wallet.DefaultMaxFeeRate+1)*200 {
		t.Fatalf("forced send: %d %s", a.status, a.body)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("the node logged an error for a caller's mistake:\n%s", logs)
	}
}

// TestMethodNotAllowed: a known path asked with the wrong method is a 405
// naming the methods it takes; an unknown path stays a 404.
func TestMethodNotAllowed(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{})
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"POST", "/api/v1/status", "GET, HEAD"},
		{"DELETE", "/api/v1/blocks/latest", "GET, HEAD"},
		{"GET", "/api/v1/tx", "POST"},
		{"PUT", "/api/v1/peers", "GET, HEAD, POST"},
		{"GET", "/api/v1/mining/generate", "POST"},
		{"POST", "/api/v1/tx/" + strings.Repeat("ab", 32) + "/proof", "GET, HEAD"},
	} {
		a := expect(t, n, call{method: tc.method, path: tc.path}, 405, "method_not_allowed")
		if got := a.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	expect(t, n, call{method: "GET", path: "/api/v1/nothing"}, 404, "not_found")
	expect(t, n, call{method: "POST", path: "/api/v2/status"}, 404, "not_found")
}

// TestStrictJSON: keys are matched exactly, once each; null bodies and
// null fields, other JSON values and trailing data are refused.
func TestStrictJSON(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{})
	gen := func(body string) call {
		return call{method: "POST", path: "/api/v1/mining/generate", token: n.Token(), body: body}
	}
	for _, body := range []string{
		`{"Blocks": 1}`,
		`{"BLOCKS": 1}`,
		`{"blocks": 1, "blocks": 2}`,
		`null`,
		` null `,
		`{"blocks": null}`,
		`[{"blocks": 1}]`,
		`"blocks"`,
		`1`,
		`{"blocks": 1} {"blocks": 1}`,
		`{"blocks": 1}x`,
		`{"blocks": {"a": 1, "a": 2}}`,
		``,
	} {
		a := expect(t, n, gen(body), 400, "malformed_json")
		t.Logf("%-45q -> %s", body, a.err.Message)
	}
	expect(t, n, call{method: "POST", path: "/api/v1/tx", body: `{"HEX": "00"}`}, 400, "malformed_json")
	expect(t, n, call{method: "POST", path: "/api/v1/tx", body: `{"hex": "00", "hex": "01"}`}, 400, "malformed_json")
	if a := do(t, n, gen(`{"blocks": 1}`)); a.status != 200 {
		t.Fatalf("a well-formed body: %d %s", a.status, a.body)
	}
}

// TestBrowserGuards: a web page of another site cannot make the node
// change anything (cross-origin or form posts), nor reach it under a
// rebound host name; programs, localhost forms, IP addresses and the
// names the node was given still work.
func TestBrowserGuards(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Tweak: func(c *node.Config) {
		c.APIHosts = []string{"minichain.example", "proxy.example:443"}
	}})
	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 100_000, PkScript: chaintest.NewKey("a").Script}})
	body := `{"hex": "` + fmt.Sprintf("%x", tx.Serialize()) + `"}`
	post := func(h map[string]string) call { return call{method: "POST", path: "/api/v1/tx", body: body, header: h} }

	expect(t, n, post(map[string]string{"Content-Type": "text/plain"}), 415, "unsupported_media_type")
	expect(t, n, post(map[string]string{"Content-Type": "text/plain;charset=UTF-8"}), 415, "unsupported_media_type")
	expect(t, n, post(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type")
	expect(t, n, post(map[string]string{"Content-Type": "multipart/form-data; boundary=x"}), 415, "unsupported_media_type")
	expect(t, n, post(map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}), 403, "cross_origin")
	expect(t, n, post(map[string]string{"Content-Type": "application/json", "Origin": "null"}), 403, "cross_origin")
	expect(t, n, post(map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}), 403, "cross_origin")
	expect(t, n, call{method: "POST", path: "/api/v1/mining/stop", token: n.Token(), header: map[string]string{"Origin": "http://evil.example"}}, 403, "cross_origin")
	if n.Mempool().Count() != 0 {
		t.Fatal("a refused request changed the pool")
	}
	// DNS rebinding: the page's own host name, pointed at 127.0.0.1.
	for _, path := range []string{"/api/v1/status", "/", "/metrics", "/block/0"} {
		expect(t, n, call{method: "GET", path: path, header: map[string]string{"Host": "evil.example:" + port(n)}}, 403, "invalid_host")
	}
	expect(t, n, post(map[string]string{"Content-Type": "application/json", "Host": "evil.example"}), 403, "invalid_host")
	expect(t, n, call{method: "GET", path: "/api/v1/status", header: map[string]string{"Host": "minichain.example.evil.example"}}, 403, "invalid_host")
	for _, host := range []string{"127.0.0.1:" + port(n), "127.0.0.1:8081", "localhost:8081", "LOCALHOST", "node1.localhost:80",
		"[::1]:8080", "10.1.2.3", "minichain.example", "MiniChain.Example.:8443", "proxy.example", ""} {
		if a := do(t, n, call{method: "GET", path: "/api/v1/status", header: map[string]string{"Host": host}}); a.status != 200 {
			t.Errorf("Host %q: %d %s", host, a.status, a.body)
		}
	}
	// A program (no Origin, no Content-Type), a JSON post, and the page's
	// own origin pass.
	if a := do(t, n, post(nil)); a.status != 200 {
		t.Fatalf("a post without Content-Type: %d %s", a.status, a.body)
	}
	same := map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": n.URL, "Sec-Fetch-Site": "same-origin"}
	if a := do(t, n, post(same)); a.status != 200 {
		t.Fatalf("a same-origin JSON post: %d %s", a.status, a.body)
	}

	// "*" turns the Host check off, for whoever wants that.
	open := nodetest.Start(t, nodetest.Options{Tweak: func(c *node.Config) { c.APIHosts = []string{"*"} }})
	if a := do(t, open, call{method: "GET", path: "/api/v1/status", header: map[string]string{"Host": "anything.example"}}); a.status != 200 {
		t.Fatalf("with *: %d %s", a.status, a.body)
	}
}

func port(n *nodetest.Node) string {
	_, p, _ := net.SplitHostPort(n.APIAddr())
	return p
}

// TestAddPeer: POST /api/v1/peers dials the address it is given. A new
// peer is "connected"; asking again is "already_connected"; an address
// that does not answer is a 502 even though the peer ID is connected
// through another.
func TestAddPeer(t *testing.T) {
	a := nodetest.Start(t, nodetest.Options{P2P: true})
	b := nodetest.Start(t, nodetest.Options{P2P: true})
	st, err := a.Client.Status(ctxT(t))
	if err != nil || st.PeerID == "" || len(st.Multiaddrs) == 0 {
		t.Fatalf("status of a p2p node: peer_id %q multiaddrs %v %v", st.PeerID, st.Multiaddrs, err)
	}
	full := st.Multiaddrs[0]
	if !strings.HasSuffix(full, "/p2p/"+st.PeerID) {
		t.Fatalf("multiaddr %s does not end in /p2p/%s", full, st.PeerID)
	}
	added, err := b.Client.AddPeer(ctxT(t), full)
	if err != nil || added.Result != api.PeerConnected || added.ID != st.PeerID {
		t.Fatalf("first add: %+v %v", added, err)
	}
	again, err := b.Client.AddPeer(ctxT(t), full)
	if err != nil || again.Result != api.PeerAlreadyConnected {
		t.Fatalf("second add: %+v %v", again, err)
	}
	// A closed port on this machine, with the connected peer's ID.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dead := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", closed, st.PeerID)
	body, _ := json.Marshal(api.AddPeer{Multiaddr: dead})
	ans := expect(t, b, call{method: "POST", path: "/api/v1/peers", token: b.Token(), body: string(body)}, 502, "connect_failed")
	if !strings.Contains(ans.err.Message, fmt.Sprint(closed)) || !strings.Contains(ans.err.Message, "keeps that connection") {
		t.Fatalf("the message does not say what happened: %s", ans.err.Message)
	}
	if !b.ConnectedTo(a) {
		t.Fatal("the failed call dropped the connection the node had")
	}
	// The other direction: a is connected to b (inbound), and b's listen
	// address answers, so a says it was already connected. (With libp2p's
	// port reuse the inbound connection comes from b's listen address
	// itself; without it, a dials that address to check it.)
	bst, _ := b.Client.Status(ctxT(t))
	rev, err := a.Client.AddPeer(ctxT(t), bst.Multiaddrs[0])
	if err != nil || rev.Result != api.PeerAlreadyConnected || !strings.Contains(rev.Message, "already connected to "+bst.PeerID) {
		t.Fatalf("add of an inbound peer: %+v %v", rev, err)
	}
}
