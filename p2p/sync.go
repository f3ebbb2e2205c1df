package p2p

import (
	"context"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

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

// syncer is the sync manager's shared side: the event queue other
// goroutines post to, and the figures the API reads, guarded by mu. The
// manager's loop (syncManager, syncmgr.go) is the single owner of the sync
// state (what each peer claims and has shown, the one running job, the
// blocks wanted by hash).
type syncer struct {
	hst     *Host // the jobs' network (nil in tests that drive the manager alone)
	chain   Chain
	log     *slog.Logger
	metrics *metrics
	events  chan syncEvent
	synced  atomic.Uint64 // blocks received over sync

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
	s := newSyncState(hst.cfg.Chain, hst.log, hst.metrics)
	s.hst = hst
	return s
}

// newSyncState returns a syncer without a network: what the manager's
// loop needs, for tests that drive it with fake I/O.
func newSyncState(c Chain, log *slog.Logger, m *metrics) *syncer {
	return &syncer{chain: c, log: log, metrics: m, events: make(chan syncEvent, 1024),
		claimed: make(map[peer.ID]int32), peerBest: -1}
}

// post hands an event to the loop without blocking: a full queue drops it,
// and the periodic status poll makes up for it.
func (s *syncer) post(ev syncEvent) {
	select {
	case s.events <- ev:
	default:
		s.log.Debug("sync event dropped", "kind", ev.kind)
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
	ours := s.chain.BestSnapshot().Height
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
	bi, err := s.chain.BlockInfo(h)
	if err != nil {
		return 0, nil, false
	}
	return bi.Height, bi.WorkSum, true
}

// run is the sync manager's loop (syncmgr.go): it returns when ctx ends
// and every goroutine it started has stopped.
func (s *syncer) run(ctx context.Context) {
	newSyncManager(ctx, s, hostSyncIO{hst: s.hst, s: s}, wallClock{}, s.hst.cfg.Params.GenesisHash, s.hst.cfg.StatusInterval).run()
}
