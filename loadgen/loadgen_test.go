package loadgen_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/loadgen"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/node/nodetest"
)

// startNode runs a real regtest node (Badger in a temporary directory, API
// on a free loopback port, p2p on loopback TCP) until the test ends.
func startNode(t *testing.T, bootstrap []string, mine bool) *node.Node {
	t.Helper()
	return nodetest.Start(t, nodetest.Options{P2P: true, Bootstrap: bootstrap, Mine: mine, Quiet: true}).Node
}

// TestLoadAgainstTwoNodes runs the generator against two connected
// in-process nodes, one of them mining, and checks that the report adds
// up and that every transfer it calls confirmed is in both nodes' chains.
func TestLoadAgainstTwoNodes(t *testing.T) {
	n1 := startNode(t, nil, false)
	n2 := startNode(t, []string{n1.P2P().Addrs()[0]}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c1 := client.New("http://"+n1.APIAddr(), n1.Token(), chain.RegtestParams)
	// Mature coins for node 1's wallet: coinbase maturity is 10 on regtest.
	if _, err := c1.Generate(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.StartMining(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for n2.Chain().BestSnapshot().Height < 12 {
		if time.Now().After(deadline) {
			t.Fatal("node 2 did not sync node 1's blocks within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}

	var progress bytes.Buffer
	g, err := loadgen.New(ctx, loadgen.Config{
		Nodes: []string{"http://" + n1.APIAddr(), "http://" + n2.APIAddr()}, Token: n1.Token(),
		Wallets: 6, Rate: 20, Count: 60, Duration: 30 * time.Second, ConfirmWait: time.Minute,
		Grace: 500 * time.Millisecond, Seed: 7, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s%s", progress.String(), table.String())

	rejected := 0
	for _, n := range r.Rejected {
		rejected += n
	}
	if r.Sent+r.Skipped != 60 {
		t.Errorf("sent %d + skipped %d, want the count 60", r.Sent, r.Skipped)
	}
	if r.Accepted+rejected != r.Sent {
		t.Errorf("accepted %d + rejected %d != sent %d", r.Accepted, rejected, r.Sent)
	}
	if r.Confirmed > r.Accepted || r.Confirmed+r.Unconfirmed != r.Accepted {
		t.Errorf("confirmed %d, unconfirmed %d, accepted %d", r.Confirmed, r.Unconfirmed, r.Accepted)
	}
	if r.Accepted < 50 || r.Confirmed < r.Accepted*9/10 {
		t.Errorf("too little got through: %d accepted, %d confirmed", r.Accepted, r.Confirmed)
	}
	if len(r.ConfirmedTxs) != r.Confirmed || r.Latency.N != r.Confirmed {
		t.Errorf("%d confirmed txids, %d latencies, %d confirmed", len(r.ConfirmedTxs), r.Latency.N, r.Confirmed)
	}
	perNode := 0
	for _, n := range r.PerNode {
		if n.Sent == 0 {
			t.Errorf("node %s got no traffic", n.Node)
		}
		perNode += n.Sent
	}
	if perNode != r.Sent {
		t.Errorf("per-node sends add up to %d, not %d", perNode, r.Sent)
	}
	// Every confirmed transfer is in a main-chain block of both nodes.
	deadline = time.Now().Add(30 * time.Second)
	for _, n := range []*node.Node{n1, n2} {
		for _, id := range r.ConfirmedTxs {
			h, err := chain.ParseHash(id)
			if err != nil {
				t.Fatal(err)
			}
			for {
				_, b, _, err := n.Chain().TxByID(h)
				if err == nil {
					if info, err := n.Chain().BlockInfo(b.BlockHash()); err == nil && info.MainChain {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("confirmed transfer %s is not in the main chain of %s: %v", id, n.APIAddr(), err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	if r.Latency.P50 <= 0 || r.Latency.P95 < r.Latency.P50 || r.Latency.Max < r.Latency.P95 {
		t.Errorf("latency figures out of order: %+v", r.Latency)
	}
	// What the wallets still held went back to node 1's wallet.
	if r.ReturnTxs != 6 || r.Returned == 0 || len(r.ReturnErrors) != 0 {
		t.Errorf("return: %d transactions, %d units, errors %v", r.ReturnTxs, r.Returned, r.ReturnErrors)
	}
	if !strings.Contains(progress.String(), "accepted") {
		t.Error("no progress lines")
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []loadgen.Config{
		{},
		{Nodes: []string{"localhost:8080"}, Token: "x"},
		{Nodes: []string{"ftp://x"}, Token: "x"},
		{Nodes: []string{"http://127.0.0.1:1"}},
		{Nodes: []string{"http://127.0.0.1:1"}, Token: "x", Wallets: 1},
		{Nodes: []string{"http://127.0.0.1:1"}, Token: "x", Rate: -1},
		{Nodes: []string{"http://127.0.0.1:1"}, Token: "x", Count: -1},
		{Nodes: []string{"http://127.0.0.1:1"}, Token: "x", Duration: 48 * time.Hour},
		{Nodes: []string{"http://127.0.0.1:1"}, Token: "x", Fund: 5},
	} {
		if _, err := loadgen.New(ctx, c); !errors.Is(err, loadgen.ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", c, err)
		}
	}
	// A node that does not answer is a clear error, not a hang.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := loadgen.New(cctx, loadgen.Config{Nodes: []string{"http://127.0.0.1:1"}, Token: "x"}); err == nil || errors.Is(err, loadgen.ErrConfig) {
		t.Errorf("unreachable node: %v", err)
	}
}

// TestNodesOnDifferentNetworks: the generator refuses nodes that do not
// share a genesis block.
func TestNodesOnDifferentNetworks(t *testing.T) {
	reg := startNode(t, nil, false)
	dev, err := node.New(node.Config{Params: chain.DevnetParams, DataDir: t.TempDir(), APIAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, err = loadgen.New(context.Background(), loadgen.Config{
		Nodes: []string{"http://" + reg.APIAddr(), "http://" + dev.APIAddr()}, Token: reg.Token()})
	if err == nil || !strings.Contains(err.Error(), "another network") {
		t.Fatalf("got %v, want an 'another network' error", err)
	}
}
