package node_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/nodetest"
	"github.com/minichain/minichain/p2p"
)

// These tests run several nodes in one process over real libp2p on
// loopback TCP. Every wait has a deadline.

// startNetNode starts a regtest node with a p2p host on 127.0.0.1.
func startNetNode(t *testing.T, bootstrap []string, tweak func(*node.Config)) *testNode {
	t.Helper()
	return startNode(t, "", func(c *node.Config) {
		c.P2PListen = []string{"/ip4/127.0.0.1/tcp/0"}
		c.Bootstrap = bootstrap
		if tweak != nil {
			tweak(c)
		}
	})
}

func (tn *testNode) p2pAddr() string { return tn.P2P().Addrs()[0] }

func (tn *testNode) peerID() peer.ID { return tn.P2P().ID() }

func (tn *testNode) connectedTo(other *testNode) bool { return tn.ConnectedTo(other.Node) }

func (tn *testNode) tip() chain.Hash { return tn.Tip() }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	nodetest.WaitFor(t, timeout, what, cond)
}

// converge waits until the nodes share a tip. Two tips of equal work stay
// apart (each node keeps the one it saw first, as Bitcoin does) until a
// block breaks the tie, so every few seconds the first node mines one.
func converge(t *testing.T, nodes ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !sameTip(nodes...)() {
		if time.Now().After(deadline) {
			t.Fatal("the nodes did not converge on one tip within 90 s")
		}
		nodes[0].mine(1)
		for i := 0; i < 60 && !sameTip(nodes...)(); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func sameTip(nodes ...*testNode) func() bool {
	return func() bool {
		for _, n := range nodes[1:] {
			if n.tip() != nodes[0].tip() {
				return false
			}
		}
		return true
	}
}

// TestThreeNodesDiscoverAndConverge: two nodes that know only the bootstrap
// node find each other through the DHT; all mine and converge; a
// transaction submitted to one is mined and visible on all.
func TestThreeNodesDiscoverAndConverge(t *testing.T) {
	n1 := startNetNode(t, nil, nil)
	n2 := startNetNode(t, []string{n1.p2pAddr()}, nil)
	n3 := startNetNode(t, []string{n1.p2pAddr()}, nil)
	waitFor(t, 60*time.Second, "node2 and node3 to find each other through the DHT", func() bool {
		return n2.connectedTo(n3) && n3.connectedTo(n2)
	})
	ctx := ctxT(t)
	for _, n := range []*testNode{n1, n2, n3} {
		if _, err := n.c.StartMining(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, "every node to mine", func() bool {
		return n1.Miner().Stats().BlocksFound > 0 && n2.Miner().Stats().BlocksFound > 0 && n3.Miner().Stats().BlocksFound > 0
	})
	for _, n := range []*testNode{n1, n2, n3} {
		if _, err := n.c.StopMining(ctx); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, n1, n2, n3)

	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 100_000, PkScript: chaintest.NewKey("t").Script}})
	if _, err := n2.c.SubmitTx(ctx, tx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the transaction to reach every mempool", func() bool {
		return n1.Mempool().Has(tx.TxHash()) && n3.Mempool().Has(tx.TxHash())
	})
	n3.mine(1)
	waitFor(t, 30*time.Second, "the block with the transaction everywhere", func() bool {
		for _, n := range []*testNode{n1, n2, n3} {
			if _, _, _, err := n.Chain().TxByID(tx.TxHash()); err != nil {
				return false
			}
		}
		return true
	})
	if n1.Mempool().Count()+n2.Mempool().Count()+n3.Mempool().Count() != 0 {
		t.Fatal("the mined transaction is still in a mempool")
	}
	st, _ := n2.c.Status(ctx)
	if st.Peers < 2 || st.PeerID == "" || len(st.Multiaddrs) == 0 || !strings.Contains(st.Multiaddrs[0], "/p2p/") {
		t.Fatalf("status lacks the network: %+v", st)
	}
	ps, _ := n2.c.Peers(ctx)
	if ps.Count < 2 || ps.Peers[0].Direction == "" || len(ps.Peers[0].Addrs) == 0 {
		t.Fatalf("peers: %+v", ps)
	}
}

// TestLateJoinerSyncs: a node with an empty data directory, given only the
// bootstrap multiaddr, syncs a chain of 520 blocks and follows the tip.
func TestLateJoinerSyncs(t *testing.T) {
	n1 := startNetNode(t, nil, nil)
	for i := 0; i < 4; i++ {
		n1.mine(130)
	}
	// A pending transaction the newcomer should learn through mempool sync.
	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 100_000, PkScript: chaintest.NewKey("t").Script}})
	if _, err := n1.c.SubmitTx(ctxT(t), tx); err != nil {
		t.Fatal(err)
	}
	n2 := startNetNode(t, []string{n1.p2pAddr()}, nil)
	waitFor(t, 120*time.Second, "the late joiner to sync 520 blocks", sameTip(n1, n2))
	waitFor(t, 30*time.Second, "the late joiner to learn the pending transaction", func() bool {
		return n2.Mempool().Has(tx.TxHash())
	})
	n1.mine(3)
	waitFor(t, 30*time.Second, "the late joiner to follow the tip", sameTip(n1, n2))
	if h := n2.Chain().BestSnapshot().Height; h != 523 {
		t.Fatalf("height %d, want 523", h)
	}
}

// partition cuts every connection between the two sides: each node bans
// the other side's peers (the gater refuses them both ways).
func partition(a, b []*testNode) {
	for _, x := range a {
		for _, y := range b {
			x.P2P().BanPeer(y.peerID(), time.Hour, "test partition")
			y.P2P().BanPeer(x.peerID(), time.Hour, "test partition")
		}
	}
}

func heal(a, b []*testNode) {
	for _, x := range a {
		for _, y := range b {
			x.P2P().UnbanPeer(y.peerID())
			y.P2P().UnbanPeer(x.peerID())
		}
	}
}

// TestPartitionAndHeal: four nodes split 2/2, both sides mine different
// chains with different transactions, the network heals, all converge on
// the chain with the most work, and no transaction accepted before the heal
// is lost.
func TestPartitionAndHeal(t *testing.T) {
	a1 := startNetNode(t, nil, nil)
	a2 := startNetNode(t, []string{a1.p2pAddr()}, nil)
	b1 := startNetNode(t, []string{a1.p2pAddr()}, nil)
	b2 := startNetNode(t, []string{a1.p2pAddr(), b1.p2pAddr()}, nil)
	all := []*testNode{a1, a2, b1, b2}
	// Two confirmed coins, one for each side to spend.
	fp := chaintest.GenesisPrev(chain.RegtestParams, chaintest.RegtestFaucet)
	k := chaintest.NewKey("split")
	split := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: 1e9, PkScript: k.Script}, {Value: 1e9, PkScript: k.Script},
		{Value: fp.Value - 2e9 - 100_000, PkScript: chaintest.RegtestFaucet.Script}})
	if _, err := a1.c.SubmitTx(ctxT(t), split); err != nil {
		t.Fatal(err)
	}
	a1.mine(1)
	waitFor(t, 60*time.Second, "the four nodes to share the first block", sameTip(all...))

	partition([]*testNode{a1, a2}, []*testNode{b1, b2})
	waitFor(t, 30*time.Second, "the partition to take effect", func() bool {
		return !a1.connectedTo(b1) && !a1.connectedTo(b2) && !a2.connectedTo(b1) && !a2.connectedTo(b2)
	})
	spend := func(i uint32, to string) *chain.Tx {
		return chaintest.Spend([]chaintest.Prev{{OutPoint: chain.OutPoint{Hash: split.TxHash(), Index: i}, Value: 1e9, Key: k}},
			[]chain.TxOut{{Value: 1e9 - 50_000, PkScript: chaintest.NewKey(to).Script}})
	}
	txA, txB := spend(0, "side a"), spend(1, "side b")
	if _, err := a2.c.SubmitTx(ctxT(t), txA); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.c.SubmitTx(ctxT(t), txB); err != nil {
		t.Fatal(err)
	}
	a1.mine(2) // side A: 2 blocks, with txA
	b1.mine(4) // side B: 4 blocks, with txB: more work
	waitFor(t, 30*time.Second, "each side to agree internally", func() bool {
		return a1.tip() == a2.tip() && b1.tip() == b2.tip() && a1.tip() != b1.tip()
	})
	if !a1.Mempool().Has(txA.TxHash()) && mustTxHeight(a1, txA) < 0 {
		t.Fatal("side A lost txA")
	}

	heal([]*testNode{a1, a2}, []*testNode{b1, b2})
	waitFor(t, 90*time.Second, "all four nodes to converge on the most-work chain", sameTip(all...))
	if got := a1.Chain().BestSnapshot().Height; got != 5 {
		t.Fatalf("converged at height %d, want side B's 5", got)
	}
	for _, tx := range []*chain.Tx{txA, txB, split} {
		waitFor(t, 30*time.Second, "transaction "+tx.TxHash().String()[:8]+" to be mined or pooled everywhere", func() bool {
			inChain := mustTxHeight(a1, tx) >= 0
			for _, n := range all {
				if inChain && mustTxHeight(n, tx) < 0 || !inChain && !n.Mempool().Has(tx.TxHash()) {
					return false
				}
			}
			return true
		})
	}
	_, metrics := a1.request("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), "minichain_reorgs_total 1") {
		t.Fatal("side A's metrics do not show the reorganisation")
	}
}

func mustTxHeight(n *testNode, tx *chain.Tx) int32 {
	_, _, loc, err := n.Chain().TxByID(tx.TxHash())
	if err != nil {
		return -1
	}
	return loc.Height
}

// rogue is a bare libp2p host with gossipsub on the network's topics: it
// publishes whatever the test gives it, bypassing every check.
type rogue struct {
	block, tx *pubsub.Topic
	id        peer.ID
}

func newRogue(t *testing.T, target *testNode) *rogue {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor(),
		pubsub.WithFloodPublish(true), pubsub.WithMaxMessageSize(4<<20),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { h := sha256.Sum256(m.Data); return string(h[:]) }))
	if err != nil {
		t.Fatal(err)
	}
	// It answers the status request like a node at genesis, so the honest
	// node keeps it as a peer of this network.
	h.SetStreamHandler(protocol.ID(p2p.SyncProtocol(chain.RegtestParams)), func(s network.Stream) {
		defer s.Close()
		if _, err := msgio.NewVarintReaderSize(s, 1<<20).ReadMsg(); err != nil {
			return
		}
		p := chain.RegtestParams
		_ = msgio.NewVarintWriter(s).WriteMsg(p2p.EncodeStatus(p2p.Status{Genesis: p.GenesisHash, Tip: p.GenesisHash,
			Work: chain.CalcWork(p.GenesisBlock.Header.Bits)}))
	})
	bt, tt := p2p.Topics(chain.RegtestParams)
	r := &rogue{id: h.ID()}
	if r.block, err = ps.Join(bt); err != nil {
		t.Fatal(err)
	}
	if r.tx, err = ps.Join(tt); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []*pubsub.Topic{r.block, r.tx} {
		sub, err := topic.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, err := sub.Next(ctx); err != nil {
					return
				}
			}
		}()
	}
	m, _ := ma.NewMultiaddr(target.p2pAddr())
	ai, _ := peer.AddrInfoFromP2pAddr(m)
	if err := h.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the rogue to see the honest node on both topics", func() bool {
		return len(r.block.ListPeers()) > 0 && len(r.tx.ListPeers()) > 0
	})
	return r
}

// TestRoguePeer: a peer publishing malformed blocks, blocks with bad proof
// of work, transactions with invalid signatures and oversized messages
// leaves the honest nodes up; they relay none of it and score it down until
// it is dropped.
func TestRoguePeer(t *testing.T) {
	honest := startNetNode(t, nil, nil)
	other := startNetNode(t, []string{honest.p2pAddr()}, nil)
	waitFor(t, 30*time.Second, "the honest nodes to connect", func() bool { return other.connectedTo(honest) })
	honest.mine(2)
	waitFor(t, 30*time.Second, "the honest nodes to agree", sameTip(honest, other))
	r := newRogue(t, honest)
	ctx := ctxT(t)

	p := chain.RegtestParams
	best := honest.Chain().BestSnapshot()
	badPow := chaintest.BlockOn(p, best.Hash, best.Height, uint32(best.Timestamp), chaintest.NewKey("r"), "bad pow")
	for chain.CheckProofOfWork(badPow.BlockHash(), badPow.Header.Bits, p.PowLimit) == nil {
		badPow.Header.Nonce++
	}
	fp := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	forged := chaintest.Spend([]chaintest.Prev{{OutPoint: fp.OutPoint, Value: fp.Value, Key: chaintest.NewKey("thief")}},
		[]chain.TxOut{{Value: 1000, PkScript: chaintest.NewKey("thief").Script}})
	for i := 0; i < 8; i++ {
		_ = r.block.Publish(ctx, []byte(fmt.Sprintf("not a block %d", i)))
		bad := *badPow
		bad.Header.Nonce += uint32(i + 1)
		for chain.CheckProofOfWork(bad.BlockHash(), bad.Header.Bits, p.PowLimit) == nil {
			bad.Header.Nonce++
		}
		_ = r.block.Publish(ctx, bad.Serialize())
		f := forged.Copy()
		f.TxOut[0].Value += uint64(i) // a new txid each time
		_ = r.tx.Publish(ctx, f.Serialize())
	}
	// Oversized messages come last: the honest node drops the frame and
	// resets the stream, so nothing the rogue sends after them arrives.
	_ = r.block.Publish(ctx, make([]byte, p2p.MaxMessageSize(p)+1024))
	waitFor(t, 60*time.Second, "the honest node to drop the rogue", func() bool {
		for _, pi := range honest.P2P().Peers() {
			if pi.ID == r.id.String() {
				return false
			}
		}
		return true
	})
	// Still up, still in agreement, and nothing invalid reached the other
	// honest node.
	honest.mine(1)
	waitFor(t, 30*time.Second, "the honest nodes to keep agreeing", sameTip(honest, other))
	_, m := other.request("GET", "/metrics", "", nil)
	if strings.Contains(string(m), `verdict="reject"`) {
		t.Fatalf("the rogue's messages were relayed to the other node:\n%s", grep(string(m), "gossip"))
	}
	_, m = honest.request("GET", "/metrics", "", nil)
	if !strings.Contains(string(m), `minichain_gossip_messages_total{direction="in",topic="block",verdict="reject"}`) ||
		!strings.Contains(string(m), "minichain_peer_bans_total 1") {
		t.Fatalf("the honest node did not reject and ban:\n%s", grep(string(m), "gossip|bans"))
	}
}

func grep(s, pat string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range strings.Split(pat, "|") {
			if strings.Contains(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestOrphanFetchesParents: a node that receives a block whose parent it
// lacks fetches the parents over the sync protocol.
func TestOrphanFetchesParents(t *testing.T) {
	slow := func(c *node.Config) { c.P2PStatusInterval = time.Hour } // only the orphan path may sync
	a := startNetNode(t, nil, slow)
	b := startNetNode(t, []string{a.p2pAddr()}, slow)
	waitFor(t, 30*time.Second, "the nodes to connect", func() bool { return b.connectedTo(a) })
	// The status exchange on connect must be over, at genesis, before a
	// mines: otherwise b would sync through it rather than the orphan path.
	waitFor(t, 30*time.Second, "the nodes to exchange their status at genesis", func() bool {
		return peerHeight(a, b) == 0 && peerHeight(b, a) == 0
	})
	// Three blocks that a has but never announces, then a fourth it does.
	p := chain.RegtestParams
	var last *chain.Block
	for i := 0; i < 4; i++ {
		best := a.Chain().BestSnapshot()
		last = chaintest.BlockOn(p, best.Hash, best.Height, uint32(best.Timestamp), chaintest.NewKey("o"), fmt.Sprint(i))
		if _, err := a.SubmitBlock(last); err != nil {
			t.Fatal(err)
		}
	}
	if b.Chain().BestSnapshot().Height != 0 {
		t.Fatal("b synced before the orphan arrived")
	}
	if err := a.P2P().PublishBlock(ctxT(t), last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to fetch the orphan's parents", sameTip(a, b))
	_, m := b.request("GET", "/metrics", "", nil)
	if !strings.Contains(string(m), "minichain_orphan_parent_fetches_total 1") {
		t.Fatalf("b did not use the orphan path:\n%s", grep(string(m), "orphan|sync"))
	}
}

// TestLateBootstrapNode: a bootstrap node that starts only after the
// others have tried it and failed, for several rounds, is still found, and
// the others then find each other. Until it starts, a plain TCP listener
// holds its port and refuses every dial at once, counting them: the test
// waits for the failed rounds rather than a fixed time.
func TestLateBootstrapNode(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "boot.key")
	k, err := p2p.LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	refuser, dials := refuseDials(t)
	port := refuser.Addr().(*net.TCPAddr).Port
	bootAddr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id)
	n2 := startNetNode(t, []string{bootAddr}, nil)
	n3 := startNetNode(t, []string{bootAddr}, nil)
	// Three rounds of dials from the two nodes: both have failed and are
	// retrying.
	waitFor(t, 60*time.Second, "six failed dials of the absent bootstrap node", func() bool { return dials.Load() >= 6 })
	refuser.Close()
	boot := startNode(t, "", func(c *node.Config) {
		c.P2PListen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
		c.P2PKeyFile = keyFile
	})
	if boot.peerID() != id {
		t.Fatal("the bootstrap node did not start from the given key")
	}
	waitFor(t, 60*time.Second, "both nodes to reach the late bootstrap node", func() bool {
		return n2.connectedTo(boot) && n3.connectedTo(boot)
	})
	waitFor(t, 60*time.Second, "the two nodes to find each other", func() bool { return n2.connectedTo(n3) })
}

// refuseDials listens on a free loopback TCP port and closes every
// connection at once (a libp2p dial to it fails in its handshake),
// counting them, until the listener is closed or the test ends.
func refuseDials(t *testing.T) (net.Listener, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l, &n
}

// peerHeight is the best height of peer as tn last heard it (-1 before its
// first status, or when not connected).
func peerHeight(tn, peer *testNode) int32 {
	for _, p := range tn.P2P().Peers() {
		if p.ID == peer.peerID().String() {
			return p.BestHeight
		}
	}
	return -1
}
