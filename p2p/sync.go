package p2p

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	msmux "github.com/multiformats/go-multistream"

	"github.com/minichain/minichain/chain"
)

// blocksPerRequest is how many blocks a sync job asks for at once.
const blocksPerRequest = maxBlocksAsked

// SyncInfo says whether the node is catching up.
type SyncInfo struct {
	// Syncing is true while a sync job runs towards headers we have
	// checked and whose blocks we lack: what peers have shown, not what
	// they claim.
	Syncing bool
	// PeerBestHeight is the best height a peer has shown: the height of
	// its tip when that block is ours too, or of the last header it
	// served that links to our chain.
	PeerBestHeight  int32
	BlocksPerSecond float64
	Progress        float64 // our height / PeerBestHeight, 0..1
}

// syncer is the sync manager. Its run loop is the single owner of the sync
// state (what each peer claims and has shown, the one running job, the
// blocks wanted by hash); other goroutines talk to it through events.
// Figures the API reads are guarded by mu.
type syncer struct {
	hst    *Host
	events chan syncEvent
	synced atomic.Uint64 // blocks received over sync

	mu       sync.Mutex
	claimed  map[peer.ID]int32 // each peer's claimed height, for Peers
	jobOn    bool
	rate     float64 // blocks per second, smoothed
	peerBest int32   // best height shown
}

type eventKind int

const (
	evConnected eventKind = iota
	evDisconnected
	evStatus
	evOrphan
	evWant     // a block wanted by hash: peer announced it (or sent a damaged copy)
	evWantDone // a wanted block's fetch ended
	evShown    // a job's peer served checked headers up to height/work
)

type syncEvent struct {
	kind    eventKind
	peer    peer.ID
	hash    chain.Hash
	status  Status
	damaged bool // evWant: the peer's copy was damaged
	height  int32
	work    *big.Int
}

func newSyncer(hst *Host) *syncer {
	return &syncer{hst: hst, events: make(chan syncEvent, 1024), claimed: make(map[peer.ID]int32), peerBest: -1}
}

// post hands an event to the loop without blocking: a full queue drops it,
// and the periodic status poll makes up for it.
func (s *syncer) post(ev syncEvent) {
	select {
	case s.events <- ev:
	default:
		s.hst.log.Debug("sync event dropped", "kind", ev.kind)
	}
}

// send hands an event to the loop, waiting for room (jobs use it: their
// events must not be lost).
func (s *syncer) send(ctx context.Context, ev syncEvent) {
	select {
	case s.events <- ev:
	case <-ctx.Done():
	}
}

func (s *syncer) peerConnected(p peer.ID)    { s.post(syncEvent{kind: evConnected, peer: p}) }
func (s *syncer) peerDisconnected(p peer.ID) { s.post(syncEvent{kind: evDisconnected, peer: p}) }

// orphanFrom reports an orphan block from p whose first missing ancestor is
// missing.
func (s *syncer) orphanFrom(p peer.ID, missing chain.Hash) {
	s.post(syncEvent{kind: evOrphan, peer: p, hash: missing})
}

// want asks for a block by hash. from announced it; damaged says its copy
// was damaged (it is then never asked).
func (s *syncer) want(h chain.Hash, from peer.ID, damaged bool) {
	s.post(syncEvent{kind: evWant, peer: from, hash: h, damaged: damaged})
}

func (s *syncer) peerHeight(p peer.ID) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.claimed[p]; ok {
		return h
	}
	return -1
}

func (s *syncer) info() SyncInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	ours := s.hst.cfg.Chain.BestSnapshot().Height
	si := SyncInfo{PeerBestHeight: max(s.peerBest, ours), BlocksPerSecond: s.rate, Progress: 1}
	si.Syncing = s.jobOn && s.peerBest > ours
	if si.Syncing && s.peerBest > 0 {
		si.Progress = float64(ours) / float64(s.peerBest)
	}
	return si
}

// SyncInfo reports the sync progress.
func (hst *Host) SyncInfo() SyncInfo { return hst.sync.info() }

// haveTip reports the height and work of a block in our index.
func (s *syncer) haveTip(h chain.Hash) (int32, *big.Int, bool) {
	bi, err := s.hst.cfg.Chain.BlockInfo(h)
	if err != nil {
		return 0, nil, false
	}
	return bi.Height, bi.WorkSum, true
}

type jobResult struct {
	peer    peer.ID
	err     error
	ignored bool
}

// run is the sync manager's loop.
func (s *syncer) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	spawn := func(f func()) { wg.Go(f) }
	tick := time.NewTicker(s.hst.cfg.StatusInterval)
	defer tick.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()

	var (
		peers      = newSyncPeers()
		jobPeer    peer.ID
		jobCancel  context.CancelFunc
		jobDone    = make(chan jobResult, 1)
		askedPool  = map[peer.ID]bool{}
		wanted     = map[chain.Hash]*wantedBlock{}
		lastSynced uint64
		lastLog    time.Time
	)
	c := s.hst.cfg.Chain
	publish := func() {
		s.mu.Lock()
		s.peerBest = peers.bestShown()
		s.jobOn = jobCancel != nil
		s.mu.Unlock()
		s.hst.metrics.peerBest.Set(float64(s.peerBest))
	}
	askStatus := func(p peer.ID) {
		spawn(func() {
			st, err := s.hst.requestStatus(ctx, p)
			if err != nil {
				if ctx.Err() == nil && notOurProtocol(err) {
					s.hst.log.Info("peer does not speak this network's sync protocol; disconnecting", "peer", p.String())
					_ = s.hst.h.Network().ClosePeer(p)
				} else if o, ok := offenceOf(err); ok && o != OffenceStall && ctx.Err() == nil {
					s.hst.penalise(p, o, "status: "+err.Error())
				}
				return
			}
			s.send(ctx, syncEvent{kind: evStatus, peer: p, status: st})
		})
	}
	maybeStart := func() {
		if jobCancel != nil {
			return
		}
		p, why, ok := peers.next(time.Now(), c.BestSnapshot().WorkSum)
		if !ok {
			publish()
			return
		}
		if why == forOrphan {
			s.hst.metrics.orphanFetch.Inc()
		}
		jctx, cancel := context.WithCancel(ctx)
		jobPeer, jobCancel = p, cancel
		publish()
		spawn(func() {
			ignored, err := s.syncFrom(jctx, p)
			jobDone <- jobResult{peer: p, err: err, ignored: ignored}
		})
	}

	for {
		select {
		case <-ctx.Done():
			if jobCancel != nil {
				jobCancel()
			}
			return
		case ev := <-s.events:
			switch ev.kind {
			case evConnected:
				askStatus(ev.peer)
			case evDisconnected:
				if s.hst.h.Network().Connectedness(ev.peer) != network.Connected {
					peers.remove(ev.peer)
					delete(askedPool, ev.peer)
					s.mu.Lock()
					delete(s.claimed, ev.peer)
					s.mu.Unlock()
					publish()
				}
			case evStatus:
				if ev.status.Genesis != s.hst.cfg.Params.GenesisHash {
					s.hst.penalise(ev.peer, OffenceWrongNetwork, "peer is on another network (genesis "+ev.status.Genesis.String()+")")
					continue
				}
				if s.hst.h.Network().Connectedness(ev.peer) != network.Connected {
					continue // it left while we asked
				}
				peers.setStatus(ev.peer, ev.status, s.haveTip)
				s.mu.Lock()
				s.claimed[ev.peer] = ev.status.Height
				s.mu.Unlock()
				s.hst.remember(ev.peer)
				if !askedPool[ev.peer] {
					askedPool[ev.peer] = true
					p := ev.peer
					spawn(func() { s.syncMempool(ctx, p) })
				}
				for h, w := range wanted {
					if ev.status.Tip == h {
						w.announce(ev.peer, false)
					}
				}
				maybeStart()
			case evShown:
				peers.showHeaders(ev.peer, ev.height, ev.work)
				publish()
			case evOrphan:
				behind := jobCancel != nil && peers.bestShown() > c.BestSnapshot().Height
				if peers.orphan(ev.peer, ev.hash, c.HaveBlock, behind) {
					s.hst.penalise(ev.peer, OffenceOrphan, "orphan blocks none of which connect")
				}
				maybeStart()
			case evWant:
				if c.HaveBlock(ev.hash) {
					continue
				}
				if w := wanted[ev.hash]; w != nil {
					w.announce(ev.peer, ev.damaged)
					continue
				}
				if len(wanted) >= maxWanted {
					continue
				}
				w := newWantedBlock()
				w.announce(ev.peer, ev.damaged)
				wanted[ev.hash] = w
				h := ev.hash
				spawn(func() {
					s.fetchWanted(ctx, h, w)
					s.send(ctx, syncEvent{kind: evWantDone, hash: h})
				})
			case evWantDone:
				delete(wanted, ev.hash)
			}
		case r := <-jobDone:
			jobPeer, jobCancel = "", nil
			if ctx.Err() != nil {
				continue
			}
			off, faulty := offenceOf(r.err)
			if o, lied := peers.jobDone(r.peer, time.Now(), jobOutcome{err: r.err, ourWork: c.BestSnapshot().WorkSum,
				have: c.HaveBlock, ignored: r.ignored}); lied {
				off, faulty = o, true
				r.err = errors.New("the sync could not back what it announced")
			}
			switch {
			case faulty && off == OffenceStall:
				p, why := r.peer, r.err.Error()
				spawn(func() { s.hst.stalled(ctx, p, why) })
			case faulty:
				s.hst.penalise(r.peer, off, "sync: "+r.err.Error())
			case r.err != nil:
				s.hst.log.Info("sync from peer failed; trying another", "peer", r.peer.String(), "err", r.err)
			}
			maybeStart()
		case <-tick.C:
			for _, p := range s.hst.h.Network().Peers() {
				askStatus(p)
			}
			maybeStart()
		case <-second.C:
			n := s.synced.Load()
			s.mu.Lock()
			s.rate = 0.7*s.rate + 0.3*float64(n-lastSynced)
			s.mu.Unlock()
			lastSynced = n
			info := s.info()
			if info.Syncing {
				s.hst.metrics.syncing.Set(1)
			} else {
				s.hst.metrics.syncing.Set(0)
			}
			if jobPeer != "" && info.Syncing && time.Since(lastLog) >= 5*time.Second {
				lastLog = time.Now()
				s.hst.log.Info("syncing", "progress", fmt.Sprintf("%.1f%%", 100*info.Progress),
					"height", c.BestSnapshot().Height, "peer_best", info.PeerBestHeight,
					"blocks_per_second", fmt.Sprintf("%.0f", info.BlocksPerSecond), "peer", jobPeer.String())
			}
			maybeStart() // backoffs end
		}
	}
}

// syncFrom downloads, headers first, the blocks a peer has beyond our main
// chain, and hands each to the node as it arrives, until the peer has
// nothing more. ignored reports that some blocks were neither taken nor
// invalid.
func (s *syncer) syncFrom(ctx context.Context, p peer.ID) (ignored bool, err error) {
	c := s.hst.cfg.Chain
	for {
		hdrs, err := s.hst.requestHeaders(ctx, p, c.BlockLocator())
		if err != nil {
			return ignored, fmt.Errorf("headers: %w", err)
		}
		if len(hdrs) == 0 {
			return ignored, nil
		}
		height, work, err := s.checkHeaders(hdrs)
		if err != nil {
			return ignored, err
		}
		s.send(ctx, syncEvent{kind: evShown, peer: p, height: height, work: work})
		var need []chain.Hash
		for i := range hdrs {
			if h := hdrs[i].BlockHash(); !c.HaveBlock(h) {
				need = append(need, h)
			}
		}
		if len(need) == 0 {
			return ignored, nil // we have them all; the chain chose by work
		}
		ign, err := s.fetchBlocks(ctx, p, need)
		ignored = ignored || ign
		if err != nil {
			return ignored, err
		}
		if ign {
			return ignored, nil // a block we could not take: asking again would loop
		}
	}
}

// checkHeaders checks that a batch of headers links to a block in our
// index and to each other, and that each meets its own target. It returns
// the height and cumulative work of the last one.
func (s *syncer) checkHeaders(hdrs []chain.Header) (int32, *big.Int, error) {
	parent, err := s.hst.cfg.Chain.BlockInfo(hdrs[0].PrevBlock)
	if err != nil {
		return 0, nil, fault(OffenceInvalidBlock, "headers start from unknown block %s", hdrs[0].PrevBlock)
	}
	work := new(big.Int).Set(parent.WorkSum)
	for i := range hdrs {
		h := hdrs[i].BlockHash()
		if i > 0 && hdrs[i].PrevBlock != hdrs[i-1].BlockHash() {
			return 0, nil, fault(OffenceInvalidBlock, "header %s does not link to the one before", h)
		}
		if err := chain.CheckProofOfWork(h, hdrs[i].Bits, s.hst.cfg.Params.PowLimit); err != nil {
			return 0, nil, fault(OffenceInvalidBlock, "header %s: %v", h, err)
		}
		work.Add(work, chain.CalcWork(hdrs[i].Bits))
	}
	return parent.Height + int32(len(hdrs)), work, nil
}

// fetchBlocks downloads blocks by hash in batches, the next batch in flight
// while the current one is processed, and hands them to the node in order.
func (s *syncer) fetchBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) (ignored bool, err error) {
	type batch struct {
		want   []chain.Hash
		blocks []*chain.Block
		err    error
	}
	fctx, cancel := context.WithCancel(ctx)
	results := make(chan batch, 1)
	var fwg sync.WaitGroup
	defer func() { cancel(); fwg.Wait() }()
	fwg.Go(func() {
		defer close(results)
		for i := 0; i < len(hashes); {
			want := hashes[i:min(i+blocksPerRequest, len(hashes))]
			blocks, err := s.hst.requestBlocks(fctx, p, want)
			select {
			case results <- batch{want: want, blocks: blocks, err: err}:
			case <-fctx.Done():
				return
			}
			if err != nil || len(blocks) == 0 {
				return
			}
			i += len(blocks) // a trimmed answer: ask for the rest next
		}
	})
	rctx := withRequested(ctx)
	for r := range results {
		if r.err != nil {
			return ignored, fmt.Errorf("blocks: %w", r.err)
		}
		if len(r.blocks) == 0 {
			return ignored, fault(OffenceLie, "asked for %d blocks it announced, got none", len(r.want))
		}
		for _, b := range r.blocks {
			out := s.hst.cfg.Handler.HandleBlock(rctx, p, b)
			switch out.Verdict {
			case Reject:
				return ignored, fault(OffenceInvalidBlock, "block %s breaks the rules", b.BlockHash())
			case Accept:
				s.hst.servedUs(p)
			default:
				ignored = ignored || !s.hst.cfg.Chain.HaveBlock(b.BlockHash())
			}
			s.synced.Add(1)
			s.hst.metrics.syncBlocks.Inc()
		}
	}
	return ignored, nil
}

// syncMempool learns a new peer's pending transactions. One at a time: a
// burst of new peers must not make the node hold each one's pool at once.
func (s *syncer) syncMempool(ctx context.Context, p peer.ID) {
	select {
	case s.hst.poolSem <- struct{}{}:
		defer func() { <-s.hst.poolSem }()
	case <-ctx.Done():
		return
	}
	txs, err := s.hst.requestMempool(ctx, p)
	if err != nil {
		if o, ok := offenceOf(err); ok && o != OffenceStall && ctx.Err() == nil {
			s.hst.penalise(p, o, "mempool: "+err.Error())
		}
		s.hst.log.Debug("mempool request failed", "peer", p.String(), "err", err)
		return
	}
	accepted := 0
	for _, tx := range txs {
		switch s.hst.cfg.Handler.HandleTx(ctx, p, tx) {
		case Accept:
			accepted++
		case Reject:
			s.hst.penalise(p, OffenceInvalidTx, "mempool: transaction "+tx.TxHash().String()+" breaks the rules")
			return
		}
	}
	if accepted > 0 {
		s.hst.log.Info("learned pending transactions from a peer", "peer", p.String(), "offered", len(txs), "accepted", accepted)
	}
}

// notOurProtocol reports whether a request failed because the peer does not
// speak this network's sync protocol (another network, or not minichain).
func notOurProtocol(err error) bool {
	return errors.Is(err, msmux.ErrNotSupported[protocol.ID]{})
}

// stalled deals with a peer that did not answer a sync job's request in
// time: it is disconnected, and charged with a stall only if it still
// answers a ping. A peer that cannot be reached at all is a network
// problem (a partition, a dead link), not misbehaviour, and must not end
// up banned from the network it will rejoin.
func (hst *Host) stalled(ctx context.Context, p peer.ID, why string) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	res := <-ping.Ping(network.WithNoDial(pctx, "stall check"), hst.h, p)
	cancel()
	if res.Error == nil {
		hst.penalise(p, OffenceStall, "sync: "+why)
	} else {
		hst.log.Info("sync peer stopped answering and is unreachable; disconnecting", "peer", p.String(), "why", why)
	}
	_ = hst.h.Network().ClosePeer(p)
}

// pingTimeout bounds the ping that tells a staller from a lost peer.
const pingTimeout = 5 * time.Second
