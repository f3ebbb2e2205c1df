package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/p2p"
)

// Gossip modes (Config.Gossip).
const (
	// GossipMesh models gossipsub: a message goes eagerly to the D peers of
	// the node's mesh for its topic, and lazily (IHAVE, then IWANT) to
	// D_lazy others at the node's heartbeats; the node that originates a
	// message sends it to every peer (flood publish, as package p2p
	// configures the router).
	GossipMesh = "mesh"
	// GossipFlood relays every message to every peer but its sender.
	GossipFlood = "flood"
)

// The topics: blocks and transactions each have their own mesh.
const (
	topicBlocks = iota
	topicTxs
	topics
)

// ihaveEntrySize is what one message id adds to an IHAVE or IWANT.
const ihaveEntrySize = chain.HashSize + 2

// meshParams are gossipsub's parameters, from the configuration package p2p
// gives its router, so that changing one changes the model.
type meshParams struct {
	d, dlo, dhi, dlazy int
	gossipFactor       float64
	heartbeat          time.Duration
	historyGossip      int // heartbeats a message is advertised in IHAVEs
	historyLength      int // heartbeats a message is served to IWANTs
	seenTTL            time.Duration
}

func newMeshParams() meshParams {
	p := p2p.GossipSubParams()
	return meshParams{
		d: p.D, dlo: p.Dlo, dhi: p.Dhi, dlazy: p.Dlazy, gossipFactor: p.GossipFactor,
		heartbeat: p.HeartbeatInterval, historyGossip: p.HistoryGossip, historyLength: p.HistoryLength,
		seenTTL: pubsub.TimeCacheDuration,
	}
}

// gossipStream is mixed into the seed of the nodes' gossip random sources.
const gossipStream = 0x9e3779b97f4a7c15

// gossipMsg is a message on a topic: a block or a transaction.
type gossipMsg struct {
	msgRef
	topic uint8
	size  int
	block *chain.Block
	tx    *chain.Tx
}

// cachedMsg is a message in a node's message cache, with when it came.
type cachedMsg struct {
	gossipMsg
	at time.Duration
}

// gossipNode is a node's gossipsub state.
type gossipNode struct {
	mesh   [topics][]int
	phase  time.Duration // the node's heartbeats are at phase + k*heartbeat
	cache  []cachedMsg   // oldest first
	beat   bool          // a heartbeat is scheduled
	beatFn func(*Sim)    // the heartbeat event's function
	// late is the node's seen cache for messages without a row in the
	// seen table (see seen.go): when the node saw each.
	late map[chain.Hash]time.Duration
}

// buildMeshes forms each topic's mesh on the graph as gossipsub's
// heartbeat does at steady state: a node with fewer than D_lo mesh peers
// grafts random peers up to D (a GRAFT is accepted, so links are
// symmetric); a node with more than D_hi prunes at random down to D. Rounds
// repeat until nothing changes (or 50 rounds). The real router also keeps
// outbound and best-scored peers when it prunes and grafts
// opportunistically; with equal scores those choices are random too.
func buildMeshes(peers [][]int, mp meshParams, r *rand.Rand) [][topics][]int {
	n := len(peers)
	meshes := make([][topics][]int, n)
	for t := 0; t < topics; t++ {
		in := make([]map[int]bool, n)
		for i := range in {
			in[i] = make(map[int]bool)
		}
		for round := 0; round < 50; round++ {
			changed := false
			for _, i := range r.Perm(n) {
				if len(in[i]) >= mp.dlo {
					continue
				}
				for _, j := range shuffled(peers[i], r) {
					if len(in[i]) >= mp.d {
						break
					}
					if !in[i][j] {
						in[i][j], in[j][i], changed = true, true, true
					}
				}
			}
			for _, i := range r.Perm(n) {
				if len(in[i]) <= mp.dhi {
					continue
				}
				mesh := sortedKeys(in[i])
				for _, j := range shuffled(mesh, r)[mp.d:] {
					delete(in[i], j)
					delete(in[j], i)
					changed = true
				}
			}
			if !changed {
				break
			}
		}
		for i := range in {
			meshes[i][t] = sortedKeys(in[i])
		}
	}
	return meshes
}

func shuffled(xs []int, r *rand.Rand) []int {
	out := slices.Clone(xs)
	r.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// gossip sends a message node n validated: to every peer but its sender in
// flood mode or when n originates it (from < 0: flood publish), else to
// the mesh peers of its topic but the sender; in mesh mode n also keeps
// it for IHAVE and IWANT.
func (s *Sim) gossip(n *simNode, from int, m gossipMsg) {
	targets := n.peers
	if s.cfg.Gossip == GossipMesh {
		s.markSeen(n, m.msgRef)
		if from >= 0 {
			targets = n.g.mesh[m.topic]
		}
		n.g.cache = append(n.g.cache, cachedMsg{gossipMsg: m, at: s.now})
		s.scheduleHeartbeat(n)
	}
	for _, p := range targets {
		if p != from {
			s.sendMsg(n, p, m)
		}
	}
}

// sendMsg sends a message to peer p. On arrival p drops what its seen
// cache holds (mesh mode) or what it has or is validating, as a duplicate;
// it validates the rest, taking the validation time the cost model gives,
// and then accepts and relays it.
func (s *Sim) sendMsg(n *simNode, p int, m gossipMsg) {
	to := s.nodes[p]
	s.send(n.id, p, m.size, func(s *Sim) { s.receiveMsg(to, n.id, m) })
}

func (s *Sim) receiveMsg(to *simNode, from int, m gossipMsg) {
	if s.cfg.Gossip == GossipMesh {
		if s.seen(to, m.msgRef) {
			s.countDup(m)
			return
		}
		s.markSeen(to, m.msgRef)
	}
	if m.block == nil {
		if to.pool.Has(m.id) {
			s.countDup(m)
			return
		}
		s.validate(to, s.cfg.Validation.txCost(m.tx, m.size), func(s *Sim) { _, _ = s.acceptTx(to, m.tx, m.id, from) })
		return
	}
	if to.chain.HaveBlock(m.id) || to.validating[m.id] {
		s.countDup(m)
		return
	}
	cost := s.cfg.Validation.blockCost(to, m.block, m.size, s.txids(m.id))
	if cost > 0 {
		if to.validating == nil {
			to.validating = make(map[chain.Hash]bool)
		}
		to.validating[m.id] = true
	}
	s.validate(to, cost, func(s *Sim) {
		delete(to.validating, m.id)
		s.acceptBlock(to, m.block, m.id, from, false)
	})
}

func (s *Sim) countDup(m gossipMsg) {
	if m.block != nil {
		s.net.dupBlocks++
	} else {
		s.net.dupTxs++
	}
}

// spread is how far a message has gone: which nodes have marked it seen
// at least once, and when the first did. It lets a heartbeat skip the
// IHAVEs whose receivers hold every id in their seen caches (Sim.cached),
// which would otherwise be most of the simulation's events. Workers record
// first marks (seenMark) during a window; the simulation adds them to the
// spreads between windows (Sim.mergeMarks), so during a window every
// worker reads the spreads as they were at its start.
type spread struct {
	first time.Duration // the first mark, by any node
	count int           // nodes that marked it
	nodes []uint64      // bitset of those nodes; nil once all have
}

// seenMark is node's first mark of message id, at time at.
type seenMark struct {
	id   chain.Hash
	node int
	at   time.Duration
}

// noteSeen records n's first mark of message id, for the spreads.
func (s *Sim) noteSeen(n *simNode, id chain.Hash) {
	if sp := s.spreads[id]; sp != nil && sp.nodes == nil {
		return // every node has marked it
	}
	s.marks = append(s.marks, seenMark{id: id, node: n.id, at: s.now})
}

// mergeMarks adds a window's first marks to the spreads. The result does
// not depend on the order of the marks.
func (w *world) mergeMarks(marks []seenMark) {
	for _, m := range marks {
		sp := w.spreads[m.id]
		if sp == nil {
			sp = &spread{first: m.at, nodes: make([]uint64, (len(w.nodes)+63)/64)}
			w.spreads[m.id] = sp
		}
		sp.first = min(sp.first, m.at)
		if sp.nodes == nil {
			continue
		}
		word, bit := m.node/64, uint64(1)<<(m.node%64)
		if sp.nodes[word]&bit == 0 {
			sp.nodes[word] |= bit
			sp.count++
			if sp.count == len(w.nodes) {
				sp.nodes = nil
			}
		}
	}
}

// seenEverywhere reports whether every node's seen cache holds id now:
// each has marked it, and the first mark of all is no older than the
// cache's lifetime, so no node's entry can have expired (an entry expires
// only when older than that). No node wants such a message.
func (s *Sim) seenEverywhere(id chain.Hash) bool {
	sp := s.spreads[id]
	return sp != nil && sp.count == len(s.nodes) && s.now-sp.first <= s.mesh.seenTTL
}

// cached reports whether node p's seen cache holds id now, as far as the
// spreads tell at the start of the window: p had marked it, and no mark is
// older than the cache's lifetime. A false answer may be wrong (p may have
// marked it since); the IHAVE is then sent and p, on its arrival, asks for
// nothing (receiveIHave decides from p's own state).
func (s *Sim) cached(p int, id chain.Hash) bool {
	sp := s.spreads[id]
	if sp == nil || s.now-sp.first > s.mesh.seenTTL {
		return false
	}
	return sp.nodes == nil || sp.nodes[p/64]&(uint64(1)<<(p%64)) != 0
}

// wants reports whether n would ask for message id: it has not seen it
// and does not have it. Only n's own events call it.
func (s *Sim) wants(n *simNode, m msgRef, topic uint8) bool {
	if s.seen(n, m) {
		return false
	}
	if topic == topicBlocks {
		return !n.chain.HaveBlock(m.id)
	}
	return !n.pool.Has(m.id)
}

// scheduleHeartbeat schedules n's next heartbeat unless one is.
func (s *Sim) scheduleHeartbeat(n *simNode) {
	if n.g.beat {
		return
	}
	n.g.beat = true
	hb := s.mesh.heartbeat
	k := (s.now-n.g.phase)/hb + 1
	if n.g.beatFn == nil {
		n.g.beatFn = func(s *Sim) { s.heartbeat(n) } // made once: a node beats every second
	}
	s.at(n.g.phase+k*hb, n.id, n.g.beatFn)
}

// heartbeat is n's gossip emission: the messages of the last HistoryGossip
// heartbeats are advertised, per topic, to max(D_lazy, GossipFactor x
// candidates) peers outside the topic's mesh chosen at random. Messages
// older than HistoryLength heartbeats leave the cache. While the cache is
// not empty the next heartbeat is scheduled.
func (s *Sim) heartbeat(n *simNode) {
	n.g.beat = false
	hb := s.mesh.heartbeat
	keep := n.g.cache[:0]
	for _, c := range n.g.cache {
		if s.now-c.at < time.Duration(s.mesh.historyLength)*hb {
			keep = append(keep, c)
		}
	}
	clear(n.g.cache[len(keep):])
	n.g.cache = keep
	for t := uint8(0); t < topics; t++ {
		var ids []msgRef
		for _, c := range n.g.cache {
			if c.topic == t && s.now-c.at < time.Duration(s.mesh.historyGossip)*hb {
				ids = append(ids, c.msgRef)
			}
		}
		if len(ids) > 0 {
			s.emitGossip(n, t, ids)
		}
	}
	if len(n.g.cache) > 0 {
		s.scheduleHeartbeat(n)
	}
}

// emitGossip sends an IHAVE of ids to the peers gossip picks. An IHAVE to
// a peer whose seen cache holds every id (as the spreads tell: Sim.cached)
// changes nothing there, so its bytes are counted but it is not put
// through the uplink (the simulation would otherwise spend most of its
// events on them); the others are sent. The check reads no other node's
// state, so workers may run it side by side.
func (s *Sim) emitGossip(n *simNode, topic uint8, ids []msgRef) {
	cands := s.cands[:0] // the context's scratch: no event keeps it
	for _, p := range n.peers {
		if _, in := slices.BinarySearch(n.g.mesh[topic], p); !in {
			cands = append(cands, p)
		}
	}
	s.cands = cands
	target := max(s.mesh.dlazy, int(s.mesh.gossipFactor*float64(len(cands))))
	if len(cands) > target {
		n.rng.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
		cands = cands[:target]
	}
	size := 8 + ihaveEntrySize*len(ids)
	nobody := true // no peer can want any of ids
	for _, id := range ids {
		if !s.seenEverywhere(id.id) {
			nobody = false
			break
		}
	}
	for _, p := range cands {
		peer := s.nodes[p]
		useful := false
		for _, id := range ids {
			if !nobody && !s.cached(p, id.id) {
				useful = true
				break
			}
		}
		s.net.ihaves++
		if useful {
			s.send(n.id, p, size, func(s *Sim) { s.receiveIHave(peer, n, ids, topic) })
		} else if s.isCut(n.id, p) {
			s.net.dropped++
		} else {
			s.net.messages++
			s.net.bytes += int64(size + msgOverhead)
		}
	}
}

// receiveIHave asks the advertiser for the messages n still wants.
func (s *Sim) receiveIHave(n, from *simNode, ids []msgRef, topic uint8) {
	var want []msgRef
	for _, id := range ids {
		if s.wants(n, id, topic) {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return
	}
	s.net.iwants++
	s.send(n.id, from.id, 8+ihaveEntrySize*len(want), func(s *Sim) { s.serveIWant(from, n.id, want) })
}

// serveIWant sends the messages asked for that are still in n's cache.
func (s *Sim) serveIWant(n *simNode, to int, ids []msgRef) {
	for _, id := range ids {
		for _, c := range n.g.cache {
			if c.id == id.id {
				s.sendMsg(n, to, c.gossipMsg)
				break
			}
		}
	}
}
