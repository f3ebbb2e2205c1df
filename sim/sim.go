package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/miner"
	"github.com/minichain/minichain/node/relay"
	"github.com/minichain/minichain/p2p"
	"github.com/minichain/minichain/sim/sharedstore"
)

// Protocol constants of the model, after package p2p.
const (
	// maxSyncBlocks is how many blocks one sync reply carries at most.
	maxSyncBlocks = 500
	// requestTimeout is how long a node waits for a sync reply before it
	// asks again.
	requestTimeout = 20 * time.Second
	// msgOverhead is the framing added to every message, in bytes.
	msgOverhead = 40
	// statusSize is the size of a tip announcement.
	statusSize = 120
	// progressEvery is how often, in simulated time, Config.Progress is
	// called.
	progressEvery = time.Hour
)

// Epoch is the wall-clock time simulated time 0 stands for: the block
// timestamps and the clock every node's chain and mempool read.
var Epoch = time.Unix(int64(chain.RegtestParams.GenesisBlock.Header.Timestamp), 0).UTC().Add(24 * time.Hour)

// Sim is one simulation. New sets it up; Run runs it once.
//
// The *Sim New returns is the simulation's own context, which runs the
// events of the whole network (mining, the traffic generator, partitions);
// Run adds one context per worker, which runs the events of its share of
// the nodes (see parallel.go). Every context shares the world; the fields
// below it are the context's own.
type Sim struct {
	*world

	now       time.Duration // the time of the event running in this context
	running   int           // the node whose event runs here; -1: the simulation's
	wid       int           // the worker's index; -1: the simulation's context
	queue     eventQueue    // events of this worker's nodes, or the simulation's own
	out       [][]event     // events for other workers' nodes, by worker, until the window ends
	windowEnd time.Duration // the end of the window the worker runs
	inflight  int           // messages and validations in flight (a share of the total)
	failed    error         // the first internal error; stops the run
	net       netStats
	reorgs    []reorgRecord
	arrivals  []blockArrival
	marks     []seenMark // first marks of messages in this window (mesh mode)
	dirty     []*simNode // nodes whose uplinks the running event sent on
	cands     []int      // scratch for emitGossip's IHAVE candidates
}

// world is what every context of a simulation shares. During a window
// workers only read it; the simulation's context writes it between windows.
type world struct {
	cfg    Config
	params *chain.Params
	shares []float64
	cum    []float64 // cumulative shares, for drawing the next miner
	sigs   *chain.SigCache
	stores *sharedstore.Pool // every node's chain store, sharing structure

	seq      uint64 // the simulation context's count of events scheduled
	ran      bool
	scripted bool // tests inject the blocks: no mining, no traffic

	global  *Sim   // the simulation's context
	workers []*Sim // the workers' contexts (made by New, run by Run)
	window  time.Duration
	// inGlobal is true while the simulation's context runs (and before
	// Run): the nodes' clocks then read its time.
	inGlobal bool

	nodes       []*simNode
	sides       [][]uint8 // sides[i][node]: side of the node in partition i
	cutNow      []uint8   // sides of the active partition, or nil
	mineRNG     *rand.Rand
	txRNG       *rand.Rand
	drained     context.Context // already cancelled: drains subscriptions without waiting
	blocks      map[chain.Hash]*blockRecord
	blockLog    []*blockRecord
	setupBlocks int // mined by node 0 before time 0 (mineSetup)
	gen         *txGen

	mesh     meshParams
	spreads  map[chain.Hash]*spread // mesh mode: how far each message went, as of the last window
	seenRows *seenTable             // mesh mode: the nodes' seen caches, by message
	links    *links                 // latencies and uploads
}

// simNode is one node: a real chain and mempool, plus what the model keeps
// of its network state.
type simNode struct {
	id         int
	db         *sharedstore.Store // the chain's store
	chain      *chain.Chain
	pool       *mempool.Mempool
	sub        *chain.Subscription
	peers      []int
	payTo      []byte
	up         uplink                       // what the node is sending
	orphans    []chain.Hash                 // blocks waiting in the chain's orphan pool
	requested  map[chain.Hash]time.Duration // sync requests in flight, by wanted block
	follow     *mempool.Follower            // the node's chain -> mempool rule
	g          gossipNode                   // gossipsub state (mesh mode)
	busyUntil  time.Duration                // the node's CPU is validating until then
	validating map[chain.Hash]bool          // blocks being validated
	seq        uint64                       // events the node's events scheduled (their order key)
	rng        *rand.Rand                   // the node's gossip choices (mesh mode)
	seenPos    int32                        // the node's entry in a seen table row (mesh mode)
}

// blockRecord is what the simulator knows of a mined block.
type blockRecord struct {
	hash     chain.Hash
	block    *chain.Block
	miner    int
	height   int32
	mined    time.Duration
	size     int
	txids    []chain.Hash // computed when it is mined (Sim.addBlock)
	arrivals []arrival    // each node that accepted it, in order of time
}

// arrival is a block reaching a node, delay after it was mined.
type arrival struct {
	node  int
	delay time.Duration
}

// blockArrival is an arrival a worker recorded, added to its block's
// record when the run ends.
type blockArrival struct {
	rec *blockRecord
	arrival
}

type reorgRecord struct {
	node  int
	at    time.Duration
	depth int
}

type netStats struct {
	messages, bytes, dropped int64
	dupBlocks, dupTxs        int64
	ihaves, iwants           int64
	syncRequests             int64
	invalidBlocks            int64
}

// New builds the network: every node's chain and mempool, the topology, the
// partition sides and the traffic generator's users.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// One signature cache for every node: whether a signature verifies is
	// a function of the signature hash, the signature and the key, so
	// sharing it changes no verdict, and the simulation verifies each
	// signature once instead of twice per node.
	expected := cfg.TxRate*cfg.Duration.Seconds()*1.2 + 10_000
	s := &Sim{world: &world{
		sigs:     chain.NewSigCache(int(min(expected, 4_000_000))),
		stores:   sharedstore.NewPool(),
		cfg:      cfg,
		params:   chain.RegtestParams,
		shares:   cfg.shares(),
		mineRNG:  rand.New(rand.NewPCG(cfg.Seed, 1)),
		txRNG:    rand.New(rand.NewPCG(cfg.Seed, 2)),
		blocks:   make(map[chain.Hash]*blockRecord),
		inGlobal: true,
	}, running: -1, wid: -1}
	s.global = s
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.drained = ctx
	acc := 0.0
	for _, sh := range s.shares {
		acc += sh
		s.cum = append(s.cum, acc)
	}
	netRNG := rand.New(rand.NewPCG(cfg.Seed, 3))
	topo := cfg.Topology
	if topo == nil {
		topo = buildTopology(cfg.Nodes, cfg.Peers, netRNG)
	}
	for _, p := range cfg.Partitions {
		s.sides = append(s.sides, splitSides(cfg.Nodes, p.Fraction, netRNG))
	}
	s.links = newLinks(cfg, rand.New(rand.NewPCG(cfg.Seed, 6)))
	s.gen = newTxGen(s)
	for i := 0; i < cfg.Nodes; i++ {
		// Node 0 starts on an empty store; when there is traffic it
		// funds the users in blocks of its own before time 0 (see
		// txGen.fund). Every other node starts from a fork of node 0's
		// store, as a node that synced that chain before the run.
		db := s.stores.New()
		if i > 0 {
			db = s.nodes[0].db.Fork()
		}
		n, err := s.newNode(i, topo[i], db)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sim: node %d: %w", i, err)
		}
		s.nodes = append(s.nodes, n)
		if i == 0 && cfg.TxRate > 0 {
			if err := s.gen.fund(n); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if cfg.Gossip == GossipMesh {
		s.mesh = newMeshParams()
		s.spreads = make(map[chain.Hash]*spread)
		meshRNG := rand.New(rand.NewPCG(cfg.Seed, 4))
		meshes := buildMeshes(topo, s.mesh, meshRNG)
		for i, n := range s.nodes {
			n.g.mesh = meshes[i]
			n.g.phase = time.Duration(meshRNG.Int64N(int64(s.mesh.heartbeat)))
		}
		for _, n := range s.nodes {
			// One stream per node, so that a node's choices do not
			// depend on which other nodes' events ran before.
			n.rng = rand.New(rand.NewPCG(cfg.Seed^gossipStream, uint64(n.id)))
		}
	}
	s.makeWorkers()
	if cfg.Gossip == GossipMesh {
		s.seenRows = newSeenTable(len(s.nodes), len(s.workers))
		for _, n := range s.nodes {
			n.seenPos = s.seenRows.pos(n.id)
		}
	}
	return s, nil
}

func (s *Sim) newNode(id int, peers []int, db *sharedstore.Store) (*simNode, error) {
	// StateCacheOff: each block's chain state goes straight into the
	// shared store, whose versions nodes on one tip share; a write-back
	// cache per node would hold a private copy of it (and there is no
	// fsync to save in memory).
	c, err := chain.New(chain.Config{Params: s.params, DB: db, ScriptWorkers: 1, SigCache: s.sigs, StateCacheBytes: chain.StateCacheOff})
	if err != nil {
		return nil, err
	}
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(id))
	pkh := chain.Hash160(append([]byte("minichain sim miner "), seed[:]...))
	n := &simNode{
		id: id, db: db, chain: c, sub: c.Subscribe(0), peers: peers,
		payTo:     chain.PayToPubKeyHashScript(pkh),
		requested: make(map[chain.Hash]time.Duration),
	}
	w := s.world
	pool, err := mempool.New(mempool.Config{Params: s.params, Chain: c, Now: func() time.Time { return w.clockOf(n) }, SigCache: s.sigs})
	if err != nil {
		return nil, err
	}
	n.pool, n.follow = pool, mempool.NewFollower(pool)
	return n, nil
}

// Close releases the nodes' subscriptions. The chains live in memory and
// need nothing else.
func (s *Sim) Close() {
	for _, n := range s.nodes {
		n.sub.Close()
	}
}

// clock is the wall-clock time of the current simulated instant.
func (s *Sim) clock() time.Time { return Epoch.Add(s.now) }

// clockOf is the wall-clock time for node n's chain and mempool: the time
// of the event running on n's worker, or of the simulation's context while
// that runs.
func (w *world) clockOf(n *simNode) time.Time {
	if w.inGlobal {
		return Epoch.Add(w.global.now)
	}
	return Epoch.Add(w.workers[w.workerOf(n.id)].now)
}

// at schedules fn at simulated time t for node (-1: the simulation's own
// event, which only the simulation's context schedules).
func (s *Sim) at(t time.Duration, node int, fn func(*Sim)) {
	s.schedule(s.event(t, node, fn))
}

// event makes an event of fn for node at time t, with its order key.
func (s *Sim) event(t time.Duration, node int, fn func(*Sim)) event {
	e := event{at: t, origin: int32(s.running), node: int32(node), run: fn}
	if s.running < 0 {
		s.world.seq++
		e.seq = s.world.seq
	} else {
		n := s.nodes[s.running]
		n.seq++
		e.seq = n.seq
	}
	return e
}

// fail records the first internal error; the run stops after the current
// event.
func (s *Sim) fail(err error) {
	if s.failed == nil {
		s.failed = err
	}
}

// ---- mining ----

func (s *Sim) scheduleMining() {
	gap := s.mineRNG.ExpFloat64() * float64(s.cfg.BlockInterval)
	s.at(s.now+time.Duration(math.Round(gap)), -1, (*Sim).mineBlock)
}

// settled reports whether mining may stop: past the duration, with the
// network quiet and every node on one tip.
func (s *Sim) settled() bool {
	if s.now < s.cfg.Duration {
		return false
	}
	if s.now >= s.cfg.Duration+s.cfg.Settle {
		return true
	}
	return s.inflightTotal() == 0 && s.agreed()
}

// agreed reports whether every node has the same tip.
func (s *Sim) agreed() bool {
	tip := s.nodes[0].chain.BestSnapshot().Hash
	for _, n := range s.nodes[1:] {
		if n.chain.BestSnapshot().Hash != tip {
			return false
		}
	}
	return true
}

// pickMiner draws the node that finds the next block, by share.
func (s *Sim) pickMiner() int {
	x := s.mineRNG.Float64() * s.cum[len(s.cum)-1]
	lo, hi := 0, len(s.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if s.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// mineBlock is the network finding a block: the miner drawn builds a
// template on its own tip, solves it (regtest difficulty takes a few
// hashes) and takes it as if it came from its own worker.
func (s *Sim) mineBlock() {
	if s.settled() {
		return
	}
	m := s.pickMiner()
	s.scheduleMining()
	n := s.nodes[m]
	b, height, err := s.buildBlock(n)
	if err != nil {
		s.fail(err)
		return
	}
	h := b.BlockHash()
	rec := s.addBlock(b, h, m, height)
	s.created(h)
	s.acceptBlock(n, b, h, -1, false)
	if !n.chain.HaveBlock(h) {
		s.fail(fmt.Errorf("sim: node %d rejected the block it mined at height %d", m, rec.height))
	}
}

// addBlock records a block mined now, with its transaction ids (computed
// here, once: workers only read the record).
func (s *Sim) addBlock(b *chain.Block, h chain.Hash, miner int, height int32) *blockRecord {
	rec := &blockRecord{hash: h, block: b, miner: miner, height: height, mined: s.now, size: b.SerializeSize(), txids: b.TxHashes()}
	s.blocks[h] = rec
	s.blockLog = append(s.blockLog, rec)
	return rec
}

// buildBlock is node n finding a block on its tip: a template from its
// chain and pool, solved (regtest difficulty takes a few hashes).
func (s *Sim) buildBlock(n *simNode) (*chain.Block, int32, error) {
	tmpl, err := miner.NewTemplate(s.params, n.chain, n.pool, n.payTo, s.clock())
	if err != nil {
		return nil, 0, fmt.Errorf("sim: node %d: template: %w", n.id, err)
	}
	hdr, err := tmpl.Header(0)
	if err != nil {
		return nil, 0, err
	}
	for hdr.Nonce = 0; chain.CheckProofOfWork(hdr.BlockHash(), hdr.Bits, s.params.PowLimit) != nil; hdr.Nonce++ {
	}
	b, err := tmpl.Block(0, hdr.Nonce)
	return b, tmpl.Height(), err
}

// mineSetup is node n, alone before time 0, mining its pool into blocks
// until it is empty: the funding of the users (txGen.fund). These blocks
// are the network's history, not part of the run: the report counts only
// the blocks mined from time 0 on.
func (s *Sim) mineSetup(n *simNode) error {
	for n.pool.Count() > 0 {
		b, _, err := s.buildBlock(n)
		if err != nil {
			return err
		}
		if _, err := n.chain.ProcessBlockFrom(b, s.clock(), chain.BlockOrigin{Requested: true}); err != nil {
			return fmt.Errorf("sim: node 0 rejected its funding block: %w", err)
		}
		s.followChain(n)
		s.setupBlocks++
		if len(b.Transactions) == 1 {
			return fmt.Errorf("sim: node 0's funding block took none of its %d transactions", n.pool.Count())
		}
	}
	return nil
}

// ---- blocks ----

// acceptBlock is node n receiving block b from peer from (-1: mined
// itself). A valid block is relayed to every other peer, unless it came in
// a sync reply, after which the node announces its new tip instead. A block
// whose parent is unknown makes n ask the sender for the missing ones.
func (s *Sim) acceptBlock(n *simNode, b *chain.Block, h chain.Hash, from int, viaSync bool) {
	if n.chain.HaveBlock(h) {
		s.net.dupBlocks++
		return
	}
	res, err := n.chain.ProcessBlockFrom(b, s.clock(), s.origin(from, viaSync))
	s.followChain(n)
	// The node's own relay rules decide (package relay): relay what was
	// stored, fetch an orphan's ancestors from the sender, drop the rest.
	out := relay.Block(res, err)
	if err != nil {
		s.net.invalidBlocks++
	}
	if out.Missing != nil {
		n.orphans = append(n.orphans, h)
		if from >= 0 {
			s.requestBlocks(n, from, *out.Missing)
		}
		return
	}
	if out.Verdict != p2p.Accept {
		return
	}
	accepted := []*chain.Block{b}
	if len(n.orphans) > 0 {
		keep := n.orphans[:0]
		for _, o := range n.orphans {
			if _, err := n.chain.BlockInfo(o); err == nil {
				if rec := s.blocks[o]; rec != nil {
					accepted = append(accepted, rec.block)
				}
			} else if n.chain.HaveBlock(o) {
				keep = append(keep, o)
			}
		}
		n.orphans = keep
	}
	for _, blk := range accepted {
		bh := blk.BlockHash()
		if rec := s.blocks[bh]; rec != nil {
			s.arrivals = append(s.arrivals, blockArrival{rec, arrival{node: n.id, delay: s.now - rec.mined}})
		}
		if !viaSync {
			s.relayBlock(n, blk, bh, from)
		}
	}
}

// origin is how a node's chain sees a block from peer from: mined by the
// node itself (from < 0) and sync replies are requested, gossip is not.
func (s *Sim) origin(from int, viaSync bool) chain.BlockOrigin {
	if from < 0 {
		return chain.BlockOrigin{Requested: true}
	}
	return chain.BlockOrigin{Peer: strconv.Itoa(from), Requested: viaSync}
}

func (s *Sim) relayBlock(n *simNode, b *chain.Block, h chain.Hash, from int) {
	s.gossip(n, from, gossipMsg{msgRef: s.ref(h), topic: topicBlocks, size: b.SerializeSize(), block: b})
}

// followChain applies n's chain events to its mempool with the node's own
// follower (mempool.Follower), relays the transactions a reorganisation
// returned to the pool, and records reorganisations.
func (s *Sim) followChain(n *simNode) {
	for {
		ev, err := n.sub.Next(s.drained)
		if errors.Is(err, chain.ErrLagged) {
			n.follow.Lagged()
			continue
		}
		if err != nil {
			return
		}
		for _, d := range n.follow.Apply(ev) {
			s.relayTx(n, d.Tx, d.TxID, -1)
		}
		if ev.Type == chain.TipChanged && ev.ReorgDepth > 0 {
			s.reorgs = append(s.reorgs, reorgRecord{node: n.id, at: s.now, depth: ev.ReorgDepth})
		}
	}
}

// requestBlocks asks peer for the blocks n lacks up to want, with n's
// block locator, unless such a request is already in flight.
func (s *Sim) requestBlocks(n *simNode, peer int, want chain.Hash) {
	if t, ok := n.requested[want]; ok && s.now-t < requestTimeout {
		return
	}
	n.requested[want] = s.now
	s.net.syncRequests++
	loc := n.chain.BlockLocator()
	server := s.nodes[peer]
	s.send(n.id, peer, 8+32*len(loc)+32, func(s *Sim) { s.serveBlocks(server, n.id, loc, want) })
}

// serveBlocks answers a sync request: the blocks from the last one the
// locator shares with want's branch up to want, oldest first, at most
// maxSyncBlocks of them.
func (s *Sim) serveBlocks(server *simNode, to int, loc []chain.Hash, want chain.Hash) {
	known := make(map[chain.Hash]bool, len(loc))
	for _, h := range loc {
		known[h] = true
	}
	var back []*chain.Block
	for h := want; !known[h]; {
		b, err := s.storedBlock(server, h)
		if err != nil {
			break // not ours (an orphan still): nothing more to give
		}
		back = append(back, b)
		if b.Header.PrevBlock == (chain.Hash{}) {
			break
		}
		h = b.Header.PrevBlock
	}
	if len(back) > maxSyncBlocks {
		back = back[len(back)-maxSyncBlocks:]
	}
	blocks := make([]*chain.Block, len(back))
	size := 8
	for i, b := range back {
		blocks[len(back)-1-i] = b
		size += b.SerializeSize()
	}
	peer := s.nodes[to]
	s.send(server.id, to, size, func(s *Sim) { s.receiveBlocks(peer, server.id, blocks, want) })
}

// storedBlock returns block h if the server's chain holds it. Blocks are
// immutable, so the simulation's one decoded copy is served rather than
// one decoded from the server's store per request; only genesis, which no
// node mined, is read from the store.
func (s *Sim) storedBlock(server *simNode, h chain.Hash) (*chain.Block, error) {
	if _, err := server.chain.BlockInfo(h); err != nil {
		return nil, err
	}
	if rec := s.blocks[h]; rec != nil {
		return rec.block, nil
	}
	return server.chain.BlockByHash(h)
}

// receiveBlocks takes a sync reply: every block in order, then an
// announcement of the new tip if it moved, and another request if want is
// still missing and the reply was not empty.
func (s *Sim) receiveBlocks(n *simNode, from int, blocks []*chain.Block, want chain.Hash) {
	var cost time.Duration
	if !s.cfg.Validation.IsZero() {
		for _, b := range blocks {
			if h := b.BlockHash(); !n.chain.HaveBlock(h) {
				cost += s.cfg.Validation.blockCost(n, b, b.SerializeSize(), s.txids(h))
			}
		}
	}
	s.validate(n, cost, func(s *Sim) { s.connectSynced(n, from, blocks, want) })
}

// connectSynced processes a sync reply once it is validated.
func (s *Sim) connectSynced(n *simNode, from int, blocks []*chain.Block, want chain.Hash) {
	delete(n.requested, want)
	before := n.chain.BestSnapshot().Hash
	for _, b := range blocks {
		s.acceptBlock(n, b, b.BlockHash(), from, true)
	}
	if n.chain.BestSnapshot().Hash != before {
		for _, p := range n.peers {
			if p != from {
				s.sendStatus(n, p)
			}
		}
	}
	if len(blocks) > 0 {
		if _, err := n.chain.BlockInfo(want); err != nil {
			s.requestBlocks(n, from, want)
		}
	}
}

// sendStatus tells peer p the node's tip; a peer with less work that lacks
// it syncs from the node.
func (s *Sim) sendStatus(n *simNode, p int) {
	best := n.chain.BestSnapshot()
	tip, work := best.Hash, best.WorkSum
	peer := s.nodes[p]
	s.send(n.id, p, statusSize, func(s *Sim) { s.receiveStatus(peer, n.id, tip, work) })
}

func (s *Sim) receiveStatus(n *simNode, from int, tip chain.Hash, work *big.Int) {
	if n.chain.HaveBlock(tip) || work.Cmp(n.chain.BestSnapshot().WorkSum) <= 0 {
		return
	}
	s.requestBlocks(n, from, tip)
}

// ---- transactions ----

// acceptTx is node n receiving tx from peer from (-1: submitted by a
// user). Whatever the pool accepts, the transaction and any orphans it made
// whole, is relayed.
func (s *Sim) acceptTx(n *simNode, tx *chain.Tx, txid chain.Hash, from int) (mempool.AcceptResult, error) {
	res, err := n.pool.AcceptTx(tx)
	if errors.Is(err, mempool.ErrAlreadyHave) && n.pool.Has(txid) {
		// The pool's own first check, not a second lookup before it: a
		// duplicate is rare here (receiveMsg drops most), and an orphan
		// already waiting is not counted as one.
		s.net.dupTxs++
		return mempool.AcceptResult{}, nil
	}
	if relay.Tx(res, err) != p2p.Accept {
		return res, err
	}
	for _, d := range res.Accepted {
		s.relayTx(n, d.Tx, d.TxID, from)
	}
	return res, nil
}

func (s *Sim) relayTx(n *simNode, tx *chain.Tx, txid chain.Hash, from int) {
	s.gossip(n, from, gossipMsg{msgRef: s.ref(txid), topic: topicTxs, size: tx.SerializeSize(), tx: tx})
}

// sendMempool sends every transaction of n's pool to peer p in one
// message, as the sync protocol's getmempool answer does.
func (s *Sim) sendMempool(n *simNode, p int) {
	descs := n.pool.Ordered()
	if len(descs) == 0 {
		return
	}
	size := 8
	for _, d := range descs {
		size += d.Size
	}
	peer := s.nodes[p]
	s.send(n.id, p, size, func(s *Sim) {
		for _, d := range descs {
			_, _ = s.acceptTx(peer, d.Tx, d.TxID, n.id)
		}
	})
}
