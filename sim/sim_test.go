package sim

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// run runs a long simulation: skipped under the race detector.
func run(t *testing.T, cfg Config) (*Sim, *Report) {
	t.Helper()
	if raceEnabled {
		t.Skip("simulations run without the race detector (make sim), which slows the event loop twenty-fold")
	}
	return simulate(t, cfg)
}

// simulate runs a simulation small enough for the race detector too.
func simulate(t *testing.T, cfg Config) (*Sim, *Report) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// TestPartitionHealsToOneTip runs 20 nodes through a two-hour partition:
// both sides mine, the network ends on one tip, and every mined block is
// accounted for as main-chain or stale on every node that knows it.
func TestPartitionHealsToOneTip(t *testing.T) {
	cfg := Config{
		Nodes: 20, Duration: 6 * time.Hour, BlockInterval: 10 * time.Minute, Peers: 4,
		Latency: 100 * time.Millisecond, Bandwidth: 20e6, TxRate: 0.05, Seed: 7,
		Partitions: []Partition{{Start: time.Hour, Heal: 3 * time.Hour, Fraction: 0.5}},
	}
	s, r := run(t, cfg)
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())

	if !r.Final.OneTip {
		t.Fatalf("nodes ended on %d tips", r.Final.Tips)
	}
	tip := s.nodes[0].chain.BestSnapshot()
	for _, n := range s.nodes {
		if got := n.chain.BestSnapshot().Hash; got != tip.Hash {
			t.Fatalf("node %d is on %s, node 0 on %s", n.id, got, tip.Hash)
		}
	}
	if r.Blocks.Mined != r.Blocks.MainChain+r.Blocks.Stale {
		t.Fatalf("mined %d != main %d + stale %d", r.Blocks.Mined, r.Blocks.MainChain, r.Blocks.Stale)
	}
	if r.Blocks.Setup != 1 {
		t.Fatalf("%d funding blocks for 20 users, want 1", r.Blocks.Setup)
	}
	if int32(r.Blocks.MainChain+r.Blocks.Setup) != tip.Height {
		t.Fatalf("main-chain blocks %d + funding blocks %d, tip height %d", r.Blocks.MainChain, r.Blocks.Setup, tip.Height)
	}
	// The partition made both sides mine: some blocks went stale, nodes
	// reorganised, and messages were dropped.
	if r.Blocks.Stale == 0 || r.Reorgs.Count == 0 || r.Network.Dropped == 0 {
		t.Fatalf("a two-hour partition left no trace: stale %d, reorgs %d, dropped %d", r.Blocks.Stale, r.Reorgs.Count, r.Network.Dropped)
	}
	// Each block, on each node that knows it, is on the main chain exactly
	// when the report says so; and a stale block is known at least to its
	// miner.
	stale := 0
	for _, b := range s.blockLog {
		onMain := false
		if h, err := s.nodes[0].chain.BlockHashByHeight(b.height); err == nil && h == b.hash {
			onMain = true
		}
		if !onMain {
			stale++
			if !s.nodes[b.miner].chain.HaveBlock(b.hash) {
				t.Errorf("stale block %s unknown to its miner %d", b.hash, b.miner)
			}
		}
		for _, n := range s.nodes {
			info, err := n.chain.BlockInfo(b.hash)
			if err != nil {
				if onMain {
					t.Errorf("node %d lacks main-chain block %s", n.id, b.hash)
				}
				continue
			}
			if info.MainChain != onMain {
				t.Errorf("node %d: block %s main chain %v, want %v", n.id, b.hash, info.MainChain, onMain)
			}
		}
	}
	if stale != r.Blocks.Stale {
		t.Fatalf("counted %d stale blocks, report says %d", stale, r.Blocks.Stale)
	}
	// Transactions add up, and every one the report calls confirmed is in
	// the chain.
	tx := r.Txs
	rejected := 0
	for _, n := range tx.Rejected {
		rejected += n
	}
	if tx.Sent != tx.Accepted+tx.Orphaned+rejected || tx.Confirmed+tx.Unconfirmed != len(s.gen.log) {
		t.Fatalf("tx counts do not add up: %+v", tx)
	}
	if tx.Confirmed == 0 {
		t.Fatal("no transaction confirmed")
	}
	confirmed := 0
	for _, rec := range s.gen.log {
		if _, blk, _, err := s.nodes[0].chain.TxByID(rec.txid); err == nil {
			if info, err := s.nodes[0].chain.BlockInfo(blk.BlockHash()); err == nil && info.MainChain {
				confirmed++
			}
		}
	}
	if confirmed != tx.Confirmed {
		t.Fatalf("%d transactions in the chain, report says %d confirmed", confirmed, tx.Confirmed)
	}
}

// TestSmall runs a small network with traffic and a partition, under the
// race detector too.
func TestSmall(t *testing.T) {
	s, err := New(Config{Nodes: 4, Duration: time.Hour, BlockInterval: 5 * time.Minute, Peers: 1,
		Latency: 50 * time.Millisecond, Bandwidth: 1e6, TxRate: 0.02, Seed: 9,
		Partitions: []Partition{{Start: 10 * time.Minute, Heal: 30 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Final.OneTip || r.Blocks.Mined != r.Blocks.MainChain+r.Blocks.Stale || r.Blocks.Mined == 0 || r.Txs.Sent == 0 {
		t.Fatalf("unexpected report: %s", r.JSON())
	}
}

// TestDeterministic: the same seed and config give the same report and
// plots, byte for byte, in either gossip mode and with one, two or three
// workers running the event loop; another seed gives another run.
func TestDeterministic(t *testing.T) {
	for _, mode := range []string{GossipMesh, GossipFlood} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{
				Nodes: 24, Duration: 3 * time.Hour, BlockInterval: 5 * time.Minute, Peers: 8,
				Latency: 200 * time.Millisecond, Bandwidth: 1e6, TxRate: 0.1, Seed: 42, Gossip: mode,
				Partitions: []Partition{{Start: 30 * time.Minute, Heal: time.Hour, Fraction: 0.3}},
			}
			cfg.Workers = 1
			_, a := run(t, cfg)
			for _, workers := range []int{1, 2, 3} {
				cfg.Workers = workers
				_, b := run(t, cfg)
				if !bytes.Equal(a.JSON(), b.JSON()) {
					t.Fatalf("same seed, %d workers, different reports:\n%s\n---\n%s", workers, a.JSON(), b.JSON())
				}
				if !bytes.Equal(a.PropagationSVG(), b.PropagationSVG()) || !bytes.Equal(a.StaleSVG(), b.StaleSVG()) {
					t.Fatalf("same seed, %d workers, different plots", workers)
				}
			}
			if (mode == GossipMesh) != (a.Network.IHaves > 0) {
				t.Fatalf("%s mode sent %d IHAVEs", mode, a.Network.IHaves)
			}
			cfg.Seed = 43
			_, c := run(t, cfg)
			if bytes.Equal(a.JSON(), c.JSON()) {
				t.Fatal("seeds 42 and 43 gave the same report")
			}
		})
	}
}

// TestWorkersSameRun runs one network with one worker and with three, under
// the race detector too: the reports are the same bytes, and the workers
// touch nothing they share without the window's order (a data race fails
// it under -race).
func TestWorkersSameRun(t *testing.T) {
	cfg := Config{Nodes: 10, Duration: 40 * time.Minute, BlockInterval: 4 * time.Minute, Peers: 3,
		Latency: 80 * time.Millisecond, Bandwidth: 2e6, TxRate: 0.3, Seed: 5,
		Partitions: []Partition{{Start: 10 * time.Minute, Heal: 20 * time.Minute, Fraction: 0.4}}}
	var reports [][]byte
	for _, workers := range []int{1, 3} {
		cfg.Workers = workers
		s, r := simulate(t, cfg)
		if len(s.workers) != workers {
			t.Fatalf("Workers %d ran %d workers", workers, len(s.workers))
		}
		if r.Txs.Sent == 0 || r.Blocks.Mined == 0 || r.Network.IHaves == 0 {
			t.Fatalf("too little happened to compare: %s", r.JSON())
		}
		// The marks made by the simulation's own events reach the
		// spreads too: every miner marked its block.
		for _, rec := range s.blockLog {
			sp := s.spreads[rec.hash]
			if sp == nil || sp.nodes != nil && sp.nodes[rec.miner/64]&(1<<(rec.miner%64)) == 0 {
				t.Fatalf("%d workers: the spread of block %d lacks its miner's mark", workers, rec.height)
			}
		}
		reports = append(reports, r.JSON())
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Fatalf("one worker and three gave different reports:\n%s\n---\n%s", reports[0], reports[1])
	}
}

// TestZeroLatencyOneWorker: with links of no latency there is no window in
// which nodes cannot affect each other, so the loop runs one worker
// whatever was asked, and the run still completes.
func TestZeroLatencyOneWorker(t *testing.T) {
	s, r := simulate(t, Config{Nodes: 6, Duration: 30 * time.Minute, BlockInterval: 5 * time.Minute, Peers: 2,
		TxRate: 0.05, Seed: 2, Workers: 4})
	if len(s.workers) != 1 || !r.Final.OneTip || r.Blocks.Mined == 0 {
		t.Fatalf("%d workers; report %s", len(s.workers), r.JSON())
	}
}

// TestStaleRateMatchesModel checks the physics. Every block reaches every
// node after exactly d (a complete graph, no bandwidth limit) and blocks are
// a Poisson process of mean T, so a block is followed within d by a
// competing one with probability 1 - e^(-d/T): the model's stale rate. Two
// effects bias the measurement low: a miner does not compete with itself
// (a factor 1 - s, s = 1/20 here) and a block found within d of a stale
// one does not compete with it (second order in d/T). With d/T = 0.02 both
// together are about half the binomial standard error of 5,000 blocks, so
// the run must land within three standard errors of 1 - e^(-d/T).
func TestStaleRateMatchesModel(t *testing.T) {
	const nodes, blocks = 20, 5000
	d, T := 200*time.Millisecond, 10*time.Second
	cfg := Config{
		Nodes: nodes, Duration: blocks * T, BlockInterval: T, Peers: 0,
		Latency: d, Bandwidth: 0, TxRate: 0, Seed: 1,
	}
	_, r := run(t, cfg)
	x := d.Seconds() / T.Seconds()
	model := 1 - math.Exp(-x)
	n := float64(r.Blocks.Mined)
	sigma := math.Sqrt(model * (1 - model) / n)
	t.Logf("blocks %d, stale %d: rate %.4f; model 1-e^(-d/T) = %.4f, sigma %.4f: %+.2f sigma",
		r.Blocks.Mined, r.Blocks.Stale, r.Blocks.StaleRate, model, sigma, (r.Blocks.StaleRate-model)/sigma)
	if r.Blocks.Mined < blocks*9/10 {
		t.Fatalf("only %d blocks", r.Blocks.Mined)
	}
	if diff := math.Abs(r.Blocks.StaleRate - model); diff > 3*sigma {
		t.Fatalf("stale rate %.4f is %.1f sigma from the model %.4f", r.Blocks.StaleRate, diff/sigma, model)
	}
	// Every block reached every node after exactly d.
	if r.Propagation.To100.Median != millis(d) || r.Propagation.To100.Max != millis(d) {
		t.Fatalf("propagation to all: %+v, want exactly %v", r.Propagation.To100, d)
	}
}

// TestBandwidthDelaysBigBlocks: with a slow uplink, a block full of
// transactions takes longer to reach everyone than an empty one.
func TestBandwidthDelaysBigBlocks(t *testing.T) {
	base := Config{Nodes: 8, Duration: 2 * time.Hour, BlockInterval: 10 * time.Minute, Peers: 2,
		Latency: 50 * time.Millisecond, Bandwidth: 256e3, Seed: 3}
	_, empty := run(t, base)
	busy := base
	busy.TxRate = 0.5
	_, full := run(t, busy)
	t.Logf("to 100%%: empty blocks %.0f ms (mean size %.0f B), full blocks %.0f ms (mean size %.0f B)",
		empty.Propagation.To100.Median, empty.Blocks.MeanSizeBytes, full.Propagation.To100.Median, full.Blocks.MeanSizeBytes)
	if full.Blocks.MeanSizeBytes < 10*empty.Blocks.MeanSizeBytes {
		t.Fatalf("blocks were not fuller: %.0f vs %.0f bytes", full.Blocks.MeanSizeBytes, empty.Blocks.MeanSizeBytes)
	}
	if full.Propagation.To100.Median <= empty.Propagation.To100.Median {
		t.Fatalf("full blocks arrived no later: %.0f vs %.0f ms", full.Propagation.To100.Median, empty.Propagation.To100.Median)
	}
}

// TestHashPowerShares: a miner with most of the hash power mines most of
// the blocks.
func TestHashPowerShares(t *testing.T) {
	_, r := run(t, Config{Nodes: 5, Duration: 300 * time.Minute, BlockInterval: time.Minute, Peers: 0,
		Latency: 10 * time.Millisecond, Shares: []float64{0.6}, Seed: 5})
	var first, total int
	for _, m := range r.Miners {
		total += m.Mined
		if m.Node == 0 {
			first = m.Mined
		}
		if m.Node != 0 && math.Abs(m.Share-0.1) > 1e-9 {
			t.Errorf("node %d has share %v, want 0.1", m.Node, m.Share)
		}
	}
	frac := float64(first) / float64(total)
	t.Logf("node 0 mined %d of %d (%.2f)", first, total, frac)
	if frac < 0.45 || frac > 0.75 {
		t.Fatalf("node 0 with 60%% of the hash power mined %.2f of the blocks", frac)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Nodes: -1},
		{BlockInterval: time.Microsecond},
		{Peers: -2},
		{Latency: -time.Second},
		{Bandwidth: -1},
		{TxRate: math.NaN()},
		{Nodes: 2, Shares: []float64{0.5, 0.5, 0.1}},
		{Nodes: 3, Shares: []float64{0.7, 0.6}},
		{Nodes: 2, Shares: []float64{0, 0}},
		{Nodes: 4, Partitions: []Partition{{Start: 2 * time.Hour, Heal: time.Hour, Fraction: 0.5}}},
		{Nodes: 4, Partitions: []Partition{{Start: time.Hour, Heal: 2 * time.Hour, Fraction: 1.5}}},
		{Nodes: 1, Partitions: []Partition{{Start: time.Hour, Heal: 2 * time.Hour}}},
		{Nodes: 4, Partitions: []Partition{{Start: time.Hour, Heal: 3 * time.Hour}, {Start: 2 * time.Hour, Heal: 4 * time.Hour}}},
		{Nodes: 3, Topology: [][]int{{1}, {0}}},
		{Nodes: 2, Topology: [][]int{{1}, {}}},
		{Nodes: 2, Topology: [][]int{{0}, {}}},
		{Nodes: 2, Topology: [][]int{{2}, {}}},
		{Nodes: 3, Topology: [][]int{{1, 1}, {0}, {}}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", c, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%+v: New accepted it", c)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config (all defaults): %v", err)
	}
}

func TestParsers(t *testing.T) {
	p, err := ParsePartition("2h-3h30m@0.3")
	if err != nil || p.Start != 2*time.Hour || p.Heal != 3*time.Hour+30*time.Minute || p.Fraction != 0.3 {
		t.Fatalf("ParsePartition: %+v, %v", p, err)
	}
	for _, bad := range []string{"", "2h", "3h-2h", "x-1h", "1h-y", "1h-2h@1", "1h-2h@zero", "-1h-2h"} {
		if _, err := ParsePartition(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParsePartition(%q): %v, want ErrConfig", bad, err)
		}
	}
	for in, want := range map[string]float64{"20M": 20e6, "20Mbit": 20e6, "1.5Gbps": 1.5e9, "800k": 800e3, "0": 0, "1000": 1000, "64kbit/s": 64e3} {
		if got, err := ParseBandwidth(in); err != nil || got != want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1M", "NaN", "1T"} {
		if _, err := ParseBandwidth(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseBandwidth(%q): %v, want ErrConfig", bad, err)
		}
	}
	if s, err := ParseShares("0.5, 0.25"); err != nil || len(s) != 2 || s[1] != 0.25 {
		t.Errorf("ParseShares: %v, %v", s, err)
	}
	for _, bad := range []string{"a", "0.5,,0.2", "2", "-0.1"} {
		if _, err := ParseShares(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseShares(%q): %v, want ErrConfig", bad, err)
		}
	}
}

// TestRunCancelled: a cancelled context stops a run with its error.
func TestRunCancelled(t *testing.T) {
	s, err := New(Config{Nodes: 3, Duration: 1000 * time.Hour, BlockInterval: time.Second, Latency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := s.Run(context.Background()); err == nil {
		t.Fatal("a second Run was allowed")
	}
}

func TestEventOrder(t *testing.T) {
	var q eventQueue
	var seq uint64
	var got []int
	add := func(at time.Duration, origin int32, id int) {
		seq++
		q.push(event{at: at, origin: origin, seq: seq, run: func(*Sim) { got = append(got, id) }})
	}
	add(3, 0, 0)
	add(1, 5, 1)
	add(2, 0, 2)
	add(1, 5, 3)
	add(0, 0, 4)
	add(2, 0, 5)
	add(1, -1, 6) // the simulation's own events come first among their time's
	add(1, 2, 7)  // then by origin, then by the origin's count
	for len(q) > 0 {
		q.pop().run(nil)
	}
	want := []int{4, 6, 7, 1, 3, 2, 5, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

// TestEventQueueRandom: the heap pops any mix of times, origins and
// sequence numbers in (at, origin, seq) order, also when pushes and pops
// interleave.
func TestEventQueueRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var q eventQueue
	var seq uint64
	var last event
	popped := 0
	for i := 0; i < 20000; i++ {
		if len(q) == 0 || r.IntN(3) > 0 {
			seq++
			at := last.at + 1 + time.Duration(r.IntN(20)) // after what was popped; ties among the pushed
			q.push(event{at: at, origin: int32(r.IntN(5)) - 1, seq: seq})
			continue
		}
		e := q.pop()
		if popped > 0 && before(&e, &last) {
			t.Fatalf("pop %d: (%v, %d, %d) after (%v, %d, %d)", popped, e.at, e.origin, e.seq, last.at, last.origin, last.seq)
		}
		last = e
		popped++
	}
	for len(q) > 0 {
		e := q.pop()
		popped++
		if before(&e, &last) {
			t.Fatalf("drain: (%v, %d, %d) after (%v, %d, %d)", e.at, e.origin, e.seq, last.at, last.origin, last.seq)
		}
		last = e
	}
	if popped != int(seq) {
		t.Fatalf("popped %d events of %d pushed", popped, seq)
	}
}
