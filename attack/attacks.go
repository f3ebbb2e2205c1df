package main

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/p2p/hostile"
)

// attack is one scenario of issue 11.
type attack struct {
	name string
	what string // what the attack does, for the report
	run  func(ctx context.Context, r *runner, dir string, res *result) error
}

// The attacks, in the order they run.
var attacks = []attack{
	{"crash-block", "A hostile peer connected to all three nodes publishes one valid-looking block on the tip whose coinbase script starts with an empty OP_PUSHDATA1 (4c 00); then every node is restarted on its data.", crashBlock},
	{"orphan-flood", "One hostile peer publishes 300 orphan blocks of ~900 kB (unknown parent, valid proof of work at regtest's minimum difficulty, every context-free rule met) on the block topic, 30 ms apart, to the victim.", orphanFlood},
	{"stream-flood", "10 hostile identities, each from an address in a /16 of its own (127.60.1.1 … 127.69.1.1, so the per-subnet connection limit does not stop them), each keep 50 sync streams open that declare a 1 MiB request and send 900 KiB of it; a stream the victim ends is opened again at once.", streamFlood},
	{"request-flood", "The victim is given 24 valid blocks of ~900 kB; one hostile peer then asks it, from 4 concurrent streams, for all 24 at once (the server stops past 8 MiB, so each answer is ~9 MB), over and over: legal requests, as large as allowed.", requestFlood},
	{"lying-peer", "One hostile peer claims height 10^9 and 2^200 work and answers every headers request with no headers (and every blocks request with none); it redials every 2 s if dropped.", lyingPeer},
	{"identity-flood", "300 hostile identities from 30 addresses, 10 on each, each address in a /16 of its own (127.10.0.1 … 127.39.0.1), connect to the victim, the network's bootstrap node, and redial every second when dropped; 10 s in, a new node (127.0.0.4) that knows only the victim starts.", identityFlood},
	{"damaged-copy", "A hostile peer connected to all three nodes publishes a damaged copy of a new block (same header, coinbase script one byte longer, so the Merkle root fails); 500 ms later a relay connected only to honest-a publishes the real block (and serves it on request, without announcing it in its status).", damagedCopy},
	{"restart-no-bootstrap", "honest-a and honest-b, bootstrapped from the victim, connect to each other and exchange blocks; then all three stop, and honest-a and honest-b start again (same data, addresses and --bootstrap) while the victim stays down.", restartNoBootstrap},
}

func attackNames() []string {
	var out []string
	for _, a := range attacks {
		out = append(out, a.name)
	}
	return out
}

// newPeer starts a hostile peer; the caller closes it.
func newPeer(ip string, gossip bool, resp hostile.Responder) (*hostile.Peer, error) {
	return hostile.NewPeer(hostile.PeerConfig{Params: params, Listen: "/ip4/" + ip + "/tcp/0", Gossip: gossip, Responder: resp})
}

// connectTo connects p to every node and, for a gossiping peer, waits until
// they are on its block topic.
func connectTo(ctx context.Context, p *hostile.Peer, gossip bool, nodes ...*node) error {
	var ids []peer.ID
	for _, n := range nodes {
		ai, err := hostile.AddrInfo(n.addr)
		if err != nil {
			return err
		}
		if err := p.Connect(ctx, ai); err != nil {
			return fmt.Errorf("connect to %s: %w", n.name, err)
		}
		ids = append(ids, ai.ID)
	}
	if !gossip {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return p.WaitTopicPeers(wctx, ids...)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// gossiperOnAll starts a three-node network and a hostile gossiping peer
// (127.1.0.1) connected to every node, and returns the victim's tip. The
// caller closes the peer.
func (r *runner) gossiperOnAll(ctx context.Context, dir string) (*network, hostile.Tip, *hostile.Peer, error) {
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return nil, hostile.Tip{}, nil, err
	}
	tip, err := nw.victim.tip(ctx)
	if err != nil {
		return nil, hostile.Tip{}, nil, err
	}
	x, err := newPeer("127.1.0.1", true, nil)
	if err != nil {
		return nil, hostile.Tip{}, nil, err
	}
	if err := connectTo(ctx, x, true, nw.all()...); err != nil {
		x.Close()
		return nil, hostile.Tip{}, nil, err
	}
	return nw, tip, x, nil
}

// crashBlock: the coinbase-crash block. The victim and the honest nodes
// must stay up, and must start again on their data.
func crashBlock(ctx context.Context, r *runner, dir string, res *result) error {
	nw, tip, x, err := r.gossiperOnAll(ctx, dir)
	if err != nil {
		return err
	}
	defer x.Close()
	b := hostile.CrashBlock(params, tip, "issue 11")
	if err := x.PublishBlock(ctx, b.Serialize()); err != nil {
		return err
	}
	res.note("crash block %s published at height %d", b.BlockHash(), tip.Height+1)
	upCount := func() int {
		up := 0
		for _, n := range nw.all() {
			if n.alive() {
				if _, err := n.status(ctx); err == nil {
					up++
				}
			}
		}
		return up
	}
	_ = waitFor(ctx, 10*time.Second, "every node to die", func() bool { return upCount() == 0 })
	up := upCount()
	for _, n := range nw.all() {
		if s := n.exitState(); s != "" {
			res.note("%s exited (%s; %s)", n.name, s, n.panicLine())
		}
	}
	res.checks = append(res.checks, check{label: "nodes up 10 s after the block", value: fmt.Sprintf("%d/3", up), target: "3/3", pass: up == 3})

	// Restart every node on its data: a stored block that crashes the
	// node must not crash it again at every start.
	for _, n := range nw.all() {
		n.stop()
	}
	for _, n := range nw.all() {
		if err := r.start(ctx, n); err != nil {
			res.note("%s after restart: %v", n.name, err)
		}
	}
	sleep(ctx, 3*time.Second)
	restarted := upCount()
	res.checks = append(res.checks, check{label: "nodes up after a restart", value: fmt.Sprintf("%d/3", restarted), target: "3/3", pass: restarted == 3})
	ok := false
	if restarted == 3 {
		_ = waitFor(ctx, agreeTimeout, "agreement", func() bool { ok, _ = agree(ctx, nw.all()); return ok })
	}
	_, desc := agree(ctx, nw.all())
	res.setAgree(ok)
	res.note("tips at the end: %s", desc)
	return nil
}

// orphanFlood: 300 orphans of ~900 kB from one peer.
func orphanFlood(ctx context.Context, r *runner, dir string, res *result) error {
	const count, size = 300, 900_000
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return err
	}
	x, err := newPeer("127.1.0.1", true, nil)
	if err != nil {
		return err
	}
	defer x.Close()
	if err := connectTo(ctx, x, true, nw.victim); err != nil {
		return err
	}
	sent, failed := 0, 0
	m, err := r.measure(ctx, nw, r.attackTime, windowHooks{}, func(ctx context.Context) {
		for i := 0; i < count && ctx.Err() == nil; i++ {
			b := hostile.OrphanBlock(params, size, uint64(i))
			if err := x.PublishBlock(ctx, b.Serialize()); err != nil {
				failed++
			} else {
				sent++
			}
			sleep(ctx, 30*time.Millisecond)
		}
		<-ctx.Done()
	})
	if err != nil {
		return err
	}
	res.m = m
	res.note("orphans published: %d of %d (%d failed to publish)", sent, count, failed)
	if st, err := nw.victim.status(ctx); err == nil {
		res.note("victim's orphan pool at the end: %d", st.Orphans)
	}
	return nil
}

// streamFlood: 500 half-sent sync requests held open.
func streamFlood(ctx context.Context, r *runner, dir string, res *result) error {
	const peers, streams, declared, send = 10, 50, 1 << 20, 900 << 10
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return err
	}
	ai, err := nw.victimInfo()
	if err != nil {
		return err
	}
	var xs []*hostile.Peer
	defer func() {
		for _, x := range xs {
			x.Close()
		}
	}()
	for i := 0; i < peers; i++ {
		x, err := newPeer(fmt.Sprintf("127.%d.1.1", 60+i), false, nil)
		if err != nil {
			return err
		}
		xs = append(xs, x)
		if err := connectTo(ctx, x, false, nw.victim); err != nil {
			return err
		}
	}
	var (
		mu  sync.Mutex
		all hostile.FloodStats
	)
	m, err := r.measure(ctx, nw, r.attackTime, windowHooks{}, func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, x := range xs {
			wg.Go(func() {
				st := hostile.StreamFlood{Streams: streams, Declared: declared, Send: send}.Run(ctx, x, ai.ID)
				mu.Lock()
				all.Opened += st.Opened
				all.Failed += st.Failed
				all.PeakOpen += st.PeakOpen
				mu.Unlock()
			})
		}
		wg.Wait()
	})
	if err != nil {
		return err
	}
	res.m = m
	res.note("streams held at once: up to %d (sum of each peer's peak); %d sent their bytes, %d opens or writes failed", all.PeakOpen, all.Opened, all.Failed)
	return nil
}

// requestFlood: maximal legal block requests.
func requestFlood(ctx context.Context, r *runner, dir string, res *result) error {
	const blocks, size, workers = 24, 900_000, 4
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return err
	}
	tip, err := nw.victim.tip(ctx)
	if err != nil {
		return err
	}
	bs, _ := hostile.BigChain(params, tip, hostile.FaucetFunds(params), blocks, size)
	srv := hostile.NewChainServer(params, tip)
	srv.Add(bs...)
	feeder, err := newPeer("127.1.0.2", false, srv)
	if err != nil {
		return err
	}
	if err := connectTo(ctx, feeder, false, nw.victim); err != nil {
		feeder.Close()
		return err
	}
	want := srv.Tip().Hash.String()
	err = waitFor(ctx, 90*time.Second, "the nodes to take the big blocks", func() bool {
		for _, n := range nw.all() {
			if st, err := n.status(ctx); err != nil || st.Tip != want {
				return false
			}
		}
		return true
	})
	feeder.Close()
	if err != nil {
		return err
	}
	x, err := newPeer("127.1.0.1", false, nil)
	if err != nil {
		return err
	}
	defer x.Close()
	if err := connectTo(ctx, x, false, nw.victim); err != nil {
		return err
	}
	vi, err := nw.victimInfo()
	if err != nil {
		return err
	}
	victimID := vi.ID
	hashes := make([]chain.Hash, len(bs))
	for i, b := range bs {
		hashes[i] = b.BlockHash()
	}
	var st hostile.FloodStats
	var took time.Duration
	m, err := r.measure(ctx, nw, r.attackTime, windowHooks{}, func(ctx context.Context) {
		start := time.Now()
		st = hostile.RequestFlood{Workers: workers, Request: hostile.EncodeGetBlocks(hashes)}.Run(ctx, x, victimID)
		took = time.Since(start)
	})
	if err != nil {
		return err
	}
	res.m = m
	res.note("answered requests: %d (%.1f/s), %.0f MiB served to one peer (%.1f MiB/s), %d requests failed",
		st.Opened, float64(st.Opened)/took.Seconds(), float64(st.Bytes)/(1<<20), float64(st.Bytes)/(1<<20)/took.Seconds(), st.Failed)
	return nil
}

// lyingPeer: a peer that claims a huge chain and serves nothing.
func lyingPeer(ctx context.Context, r *runner, dir string, res *result) error {
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return err
	}
	ai, err := nw.victimInfo()
	if err != nil {
		return err
	}
	liar, err := newPeer("127.1.0.1", false, hostile.Liar{Params: params, Height: 1_000_000_000, Work: new(big.Int).Lsh(big.NewInt(1), 200)})
	if err != nil {
		return err
	}
	defer liar.Close()
	var (
		h0, h1     uint64
		t0, t1     time.Time
		syncing    bool
		peerBest   int32
		redials    int
		statusRead bool
	)
	hooks := windowHooks{
		start: func() { h0, t0 = liar.Served(hostile.MsgGetHeaders), time.Now() },
		end: func() {
			h1, t1 = liar.Served(hostile.MsgGetHeaders), time.Now()
			if st, err := nw.victim.status(ctx); err == nil {
				syncing, peerBest, statusRead = st.Sync.Syncing, st.Sync.PeerBestHeight, true
			}
		},
	}
	m, err := r.measure(ctx, nw, r.attackTime, hooks, func(ctx context.Context) {
		redials, _ = liar.KeepConnected(ctx, ai, 2*time.Second)
	})
	if err != nil {
		return err
	}
	res.m, res.cpuTarget = m, true
	total := liar.Served(hostile.MsgGetHeaders)
	rate := 0.0
	if !t1.IsZero() {
		rate = float64(h1-h0) / t1.Sub(t0).Seconds()
	}
	res.note("headers requests the liar received: %d in all, %.0f/s in the CPU window; the liar redialled %d times", total, rate, redials)
	if statusRead {
		res.note("victim's status at the window's end: syncing=%v, peer_best_height=%d", syncing, peerBest)
	}
	return nil
}

// identityFlood: 300 identities fill the bootstrap node's inbound slots;
// a new node that knows only the bootstrap must still join.
func identityFlood(ctx context.Context, r *runner, dir string, res *result) error {
	const ids, ips = 300, 30
	const fillTime = 10 * time.Second
	nw, err := r.startNetwork(ctx, dir, 3)
	if err != nil {
		return err
	}
	ai, err := nw.victimInfo()
	if err != nil {
		return err
	}
	t := time.Now()
	sw, err := hostile.NewSwarm(params, ids, func(i int) string { return fmt.Sprintf("/ip4/127.%d.0.1/tcp/0", 10+i%ips) }, nil)
	if err != nil {
		return err
	}
	defer sw.Close()
	r.log.Printf("swarm of %d started in %.1f s", ids, time.Since(t).Seconds())
	joiner, err := newNode("joiner", dir, "127.0.0.4", []string{nw.victim.addr})
	if err != nil {
		return err
	}
	dur := r.attackTime + 15*time.Second // the joiner gets at least 45 s
	var (
		firstPeer, sameTip time.Duration
		within             time.Duration
		atStart            int
		redials, failed    int
		startErr           error
	)
	m, err := r.measure(ctx, nw, dur, windowHooks{}, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { redials, failed = sw.KeepConnected(ctx, ai, time.Second) })
		defer wg.Wait()
		sleep(ctx, fillTime)
		if ctx.Err() != nil {
			return
		}
		atStart = sw.Connected(ai.ID)
		t0 := time.Now()
		if startErr = r.start(ctx, joiner); startErr != nil {
			return
		}
		for ctx.Err() == nil {
			if firstPeer == 0 {
				if ps, err := joiner.peers(ctx); err == nil && len(ps) > 0 {
					firstPeer = time.Since(t0)
				}
			}
			if sameTip == 0 {
				js, err1 := joiner.status(ctx)
				vs, err2 := nw.victim.status(ctx)
				if err1 == nil && err2 == nil && js.Height >= 3 && js.Tip == vs.Tip {
					sameTip = time.Since(t0)
				}
			}
			if firstPeer > 0 && sameTip > 0 {
				break
			}
			sleep(ctx, 250*time.Millisecond)
		}
		within = time.Since(t0)
		<-ctx.Done()
	})
	joiner.stop()
	if err != nil {
		return err
	}
	if startErr != nil {
		return fmt.Errorf("start the joining node: %w", startErr)
	}
	res.m = m
	res.checks = append(res.checks,
		timeCheck("new node's first peer", firstPeer, within, maxJoin),
		timeCheck("new node at the victim's tip", sameTip, within, maxJoin))
	res.note("hostile identities connected when the new node started: %d of %d; their dials after the first: %d (%d failed)", atStart, ids, redials, failed)
	return nil
}

// damagedCopy: a damaged copy published ahead of the real block.
func damagedCopy(ctx context.Context, r *runner, dir string, res *result) error {
	const wait = 20 * time.Second
	nw, tip, x, err := r.gossiperOnAll(ctx, dir)
	if err != nil {
		return err
	}
	defer x.Close()
	srv := hostile.NewChainServer(params, tip)
	srv.SetAnnounce(false)
	relay, err := newPeer("127.1.0.2", true, srv)
	if err != nil {
		return err
	}
	defer relay.Close()
	if err := connectTo(ctx, relay, true, nw.a); err != nil {
		return err
	}
	real := hostile.NextBlock(params, tip, "the real block")
	if err := x.PublishBlock(ctx, hostile.Damaged(real).Serialize()); err != nil {
		return err
	}
	sleep(ctx, 500*time.Millisecond)
	srv.Add(real)
	t0 := time.Now()
	if err := relay.PublishBlock(ctx, real.Serialize()); err != nil {
		return err
	}
	want := real.BlockHash().String()
	have := func() int {
		k := 0
		for _, n := range nw.all() {
			if st, err := n.status(ctx); err == nil && st.Tip == want {
				k++
			}
		}
		return k
	}
	var took time.Duration
	if waitFor(ctx, wait, "the real block", func() bool { return have() == 3 }) == nil {
		took = time.Since(t0)
	}
	c := timeCheck("real block on every node", took, wait, maxPropagate)
	if took == 0 {
		c.value = fmt.Sprintf("never: %d of 3 nodes after %.0f s", have(), wait.Seconds())
	}
	res.checks = append(res.checks, c)
	ok, desc := agree(ctx, nw.all())
	res.setAgree(ok)
	res.note("real block %s; tips at the end: %s", real.BlockHash(), desc)
	return nil
}

// restartNoBootstrap: restarted nodes find each other without their only
// bootstrap node.
func restartNoBootstrap(ctx context.Context, r *runner, dir string, res *result) error {
	const wait = 30 * time.Second
	nw, err := r.startNetwork(ctx, dir, 0)
	if err != nil {
		return err
	}
	a, b := nw.a, nw.b
	if err := waitFor(ctx, 30*time.Second, "honest-a and honest-b to connect", func() bool {
		return a.hasPeer(ctx, b.peerID) && b.hasPeer(ctx, a.peerID)
	}); err != nil {
		return err
	}
	// Blocks from honest-a reach honest-b directly: each has served the
	// other something before the restart.
	if err := a.generate(ctx, 2); err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Second, "agreement", func() bool { ok, _ := agree(ctx, nw.all()); return ok }); err != nil {
		return err
	}
	sleep(ctx, 5*time.Second)
	for _, n := range nw.all() {
		n.stop()
	}
	t0 := time.Now()
	for _, n := range []*node{a, b} {
		if err := r.start(ctx, n); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	var took time.Duration
	if waitFor(ctx, wait, "the restarted nodes to reconnect", func() bool {
		return a.hasPeer(ctx, b.peerID) && b.hasPeer(ctx, a.peerID)
	}) == nil {
		took = time.Since(t0)
	}
	pa, _ := a.peers(ctx)
	pb, _ := b.peers(ctx)
	res.checks = append(res.checks, timeCheck("restarted nodes reconnect", took, wait, maxReconnect))
	_, desc := agree(ctx, []*node{a, b})
	res.note("peers at the end: honest-a %d, honest-b %d; tips: %s", len(pa), len(pb), desc)
	return nil
}
