// Package nodetest starts real minichain nodes in the test's process: the
// regtest network, a temporary data directory on real Badger, the API on a
// free loopback port and, when asked, p2p on loopback TCP. Each node stops
// when its test ends. It is the one way the node's, the explorer's and the
// tools' tests start a node; nothing here is for production use.
package nodetest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/client"
)

// Options say what node to start. The zero value is a regtest node without
// a network that mines only when asked, logging warnings to the test.
type Options struct {
	// Dir is the data directory; empty uses a fresh temporary one.
	Dir string
	// P2P listens on loopback TCP; Bootstrap are peers to join through.
	P2P       bool
	Bootstrap []string
	// Mine starts the miner at once.
	Mine bool
	// Quiet discards the node's log instead of sending its warnings to
	// the test's log.
	Quiet bool
	// Tweak changes the configuration last.
	Tweak func(*node.Config)
}

// Node is a running node with a client of its API.
type Node struct {
	*node.Node
	// URL is the API's base URL; Client speaks to it with the token.
	URL    string
	Client *client.Client
	// Dir is the data directory.
	Dir  string
	t    testing.TB
	stop func()
}

// Start starts a node and waits until its API answers. It fails the test
// if the node cannot start.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	cfg := node.Config{Params: chain.RegtestParams, DataDir: o.Dir, APIAddr: "127.0.0.1:0", MinerThreads: 1,
		MinerInterval: -1, Mine: o.Mine, Bootstrap: o.Bootstrap,
		Logger: slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if o.Quiet {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if o.P2P {
		cfg.P2PListen = []string{"/ip4/127.0.0.1/tcp/0"}
	}
	if o.Tweak != nil {
		o.Tweak(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the node did not stop within 15 s")
		}
	}
	t.Cleanup(stop)
	if err := n.Miner().WaitRunning(ctx); err != nil {
		t.Fatal(err)
	}
	url := "http://" + n.APIAddr()
	return &Node{Node: n, URL: url, Client: client.New(url, n.Token(), chain.RegtestParams), Dir: o.Dir, t: t, stop: stop}
}

// Stop stops the node now and waits for it (at most 15 s); the test's end
// would do it otherwise.
func (n *Node) Stop() { n.stop() }

// Request sends a raw HTTP request to the node and returns the status and
// body; token, when set, goes in the Authorization header.
func (n *Node) Request(method, path, token string, body []byte) (int, []byte) {
	n.t.Helper()
	req, err := http.NewRequest(method, n.URL+path, bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Tip is the hash of the node's tip.
func (n *Node) Tip() chain.Hash { return n.Chain().BestSnapshot().Hash }

// ConnectedTo reports whether n has a connection to other.
func (n *Node) ConnectedTo(other *Node) bool {
	for _, p := range n.P2P().Peers() {
		if p.ID == other.P2P().ID().String() {
			return true
		}
	}
	return false
}

// WaitFor polls cond every 20 ms until it holds, failing the test after
// timeout with what it waited for. Every wait in the tests is bounded.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SameTip reports whether all nodes have the same tip.
func SameTip(nodes ...*Node) func() bool {
	return func() bool {
		for _, n := range nodes[1:] {
			if n.Tip() != nodes[0].Tip() {
				return false
			}
		}
		return true
	}
}

// testLog sends a node's log lines to the test's log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
