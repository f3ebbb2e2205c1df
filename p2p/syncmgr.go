package p2p

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

// The sync manager's loop, in the shape of go-libp2p-pubsub's: one owner
// goroutine that selects on its inputs and hands each to one method per
// event kind. The state the loop owns lives in syncManager's fields; its
// I/O goes through syncIO and its time through syncClock, so each handler
// is tested directly with fake peers and a fake clock (syncmgr_test.go).

// syncIO is what the sync manager does to the network. The host
// implements it (hostSyncIO); tests replace it. The manager calls the
// first four from its loop, so they must not block; the others it calls
// from goroutines it owns, and they end when ctx does.
type syncIO interface {
	// connected reports whether p is connected now.
	connected(p peer.ID) bool
	// peers lists the connected peers.
	peers() []peer.ID
	// penalise charges p with an offence.
	penalise(p peer.ID, o Offence, why string)
	// remember records p in the address book: it spoke our protocol.
	remember(p peer.ID)

	// status asks p for its status.
	status(ctx context.Context, p peer.ID) (Status, error)
	// closePeer disconnects p.
	closePeer(p peer.ID)
	// syncFrom runs a sync job with p (syncer.syncFrom).
	syncFrom(ctx context.Context, p peer.ID) (ignored bool, err error)
	// syncMempool learns p's pending transactions.
	syncMempool(ctx context.Context, p peer.ID)
	// fetchWanted fetches a block by hash until it is ours or the tries
	// run out.
	fetchWanted(ctx context.Context, h chain.Hash, w *wantedBlock)
	// stalled deals with a job's peer that did not answer in time.
	stalled(ctx context.Context, p peer.ID, why string)
}

// syncClock is the manager's time: the wall clock in production, a fake
// one in tests.
type syncClock interface {
	Now() time.Time
	// NewTicker returns a channel that receives the time every d, and a
	// function that stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// wallClock is the real syncClock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// syncManager is the state the sync loop owns. Only the loop's goroutine
// (run, or a test standing in for it) touches these fields; what other
// goroutines read goes through the syncer's mutex (publish).
type syncManager struct {
	// Set when it is made and not changed afterwards. ctx bounds every
	// goroutine the manager starts; wg waits for them.
	ctx            context.Context
	s              *syncer
	io             syncIO
	clock          syncClock
	genesis        chain.Hash
	statusInterval time.Duration
	wg             sync.WaitGroup

	peers     *syncPeers
	jobPeer   peer.ID            // the running job's peer ("" when none)
	jobCancel context.CancelFunc // cancels the running job (nil when none)
	jobDone   chan jobResult     // the running job's result
	askedPool map[peer.ID]bool   // peers whose mempool we asked for
	wanted    map[chain.Hash]*wantedBlock

	lastSynced uint64    // s.synced at the last second tick
	lastLog    time.Time // when progress was last logged
}

// jobResult is how a sync job ended.
type jobResult struct {
	peer    peer.ID
	err     error
	ignored bool
}

// newSyncManager returns a manager whose goroutines run under ctx.
func newSyncManager(ctx context.Context, s *syncer, io syncIO, clock syncClock, genesis chain.Hash, statusInterval time.Duration) *syncManager {
	return &syncManager{ctx: ctx, s: s, io: io, clock: clock, genesis: genesis, statusInterval: statusInterval,
		peers: newSyncPeers(), jobDone: make(chan jobResult, 1),
		askedPool: map[peer.ID]bool{}, wanted: map[chain.Hash]*wantedBlock{}}
}

// run is the loop: it selects and dispatches until ctx ends, then stops the
// running job and returns once every goroutine it started has stopped.
func (m *syncManager) run() {
	defer m.wg.Wait()
	tick, stopTick := m.clock.NewTicker(m.statusInterval)
	defer stopTick()
	second, stopSecond := m.clock.NewTicker(time.Second)
	defer stopSecond()
	for {
		select {
		case <-m.ctx.Done():
			if m.jobCancel != nil {
				m.jobCancel()
			}
			return
		case ev := <-m.s.events:
			m.dispatch(ev)
		case r := <-m.jobDone:
			m.onJobDone(r)
		case <-tick:
			m.onStatusTick()
		case <-second:
			m.onSecond()
		}
	}
}

// dispatch hands an event to its handler.
func (m *syncManager) dispatch(ev syncEvent) {
	switch ev.kind {
	case evConnected:
		m.askStatus(ev.peer)
	case evDisconnected:
		m.onDisconnected(ev.peer)
	case evStatus:
		m.onStatus(ev.peer, ev.status)
	case evShown:
		m.onShown(ev.peer, ev.height, ev.work)
	case evOrphan:
		m.onOrphan(ev.peer, ev.hash)
	case evWant:
		m.onWant(ev.hash, ev.peer, ev.damaged)
	case evWantDone:
		delete(m.wanted, ev.hash)
	}
}

// spawn runs f in a goroutine the manager owns.
func (m *syncManager) spawn(f func()) { m.wg.Go(f) }

// wait returns once every goroutine the manager started has stopped.
func (m *syncManager) wait() { m.wg.Wait() }

// publish copies what the API reads to the syncer.
func (m *syncManager) publish() {
	best := m.peers.bestShown()
	m.s.mu.Lock()
	m.s.peerBest = best
	m.s.jobOn = m.jobCancel != nil
	m.s.mu.Unlock()
	m.s.metrics.peerBest.Set(float64(best))
}

// askStatus asks p for its status; the answer comes back as an evStatus.
// A peer that does not speak our sync protocol is disconnected; one whose
// answer is at fault (other than slow) is charged.
func (m *syncManager) askStatus(p peer.ID) {
	ctx := m.ctx
	m.spawn(func() {
		st, err := m.io.status(ctx, p)
		if err != nil {
			if ctx.Err() == nil && notOurProtocol(err) {
				m.s.log.Info("peer does not speak this network's sync protocol; disconnecting", "peer", p.String())
				m.io.closePeer(p)
			} else if o, ok := offenceOf(err); ok && o != OffenceStall && ctx.Err() == nil {
				m.io.penalise(p, o, "status: "+err.Error())
			}
			return
		}
		m.s.send(ctx, syncEvent{kind: evStatus, peer: p, status: st})
	})
}

// onDisconnected forgets a peer whose last connection closed.
func (m *syncManager) onDisconnected(p peer.ID) {
	if m.io.connected(p) {
		return // another connection to it remains
	}
	m.peers.remove(p)
	delete(m.askedPool, p)
	m.s.mu.Lock()
	delete(m.s.claimed, p)
	m.s.mu.Unlock()
	m.publish()
}

// onStatus records a peer's status: a peer of another network is charged;
// otherwise its mempool is asked for once, it announces its tip to the
// blocks we want, and a job starts if none runs.
func (m *syncManager) onStatus(p peer.ID, st Status) {
	if st.Genesis != m.genesis {
		m.io.penalise(p, OffenceWrongNetwork, "peer is on another network (genesis "+st.Genesis.String()+")")
		return
	}
	if !m.io.connected(p) {
		return // it left while we asked
	}
	m.peers.setStatus(p, st, m.s.haveTip)
	m.s.mu.Lock()
	m.s.claimed[p] = st.Height
	m.s.mu.Unlock()
	m.io.remember(p)
	if !m.askedPool[p] {
		m.askedPool[p] = true
		ctx := m.ctx
		m.spawn(func() { m.io.syncMempool(ctx, p) })
	}
	if w := m.wanted[st.Tip]; w != nil {
		w.announce(p, false)
	}
	m.maybeStart()
}

// onShown records the checked headers a job's peer served.
func (m *syncManager) onShown(p peer.ID, height int32, work *big.Int) {
	m.peers.showHeaders(p, height, work)
	m.publish()
}

// onOrphan records an orphan from p, charging it past the allowance, and
// starts a job to fetch the orphan's ancestors if none runs.
func (m *syncManager) onOrphan(p peer.ID, missing chain.Hash) {
	c := m.s.chain
	behind := m.jobCancel != nil && m.peers.bestShown() > c.BestSnapshot().Height
	if m.peers.orphan(p, missing, c.HaveBlock, behind) {
		m.io.penalise(p, OffenceOrphan, "orphan blocks none of which connect")
	}
	m.maybeStart()
}

// onWant starts fetching a block by hash, unless it is ours, already
// wanted (from then adds to its announcers) or maxWanted are in flight.
func (m *syncManager) onWant(h chain.Hash, from peer.ID, damaged bool) {
	if m.s.chain.HaveBlock(h) {
		return
	}
	if w := m.wanted[h]; w != nil {
		w.announce(from, damaged)
		return
	}
	if len(m.wanted) >= maxWanted {
		return
	}
	w := newWantedBlock()
	w.announce(from, damaged)
	m.wanted[h] = w
	ctx := m.ctx
	m.spawn(func() {
		m.io.fetchWanted(ctx, h, w)
		m.s.send(ctx, syncEvent{kind: evWantDone, hash: h})
	})
}

// maybeStart starts a job with the best peer to sync from, if no job runs
// and there is one.
func (m *syncManager) maybeStart() {
	if m.jobCancel != nil {
		return
	}
	p, why, ok := m.peers.next(m.clock.Now(), m.s.chain.BestSnapshot().WorkSum)
	if !ok {
		m.publish()
		return
	}
	if why == forOrphan {
		m.s.metrics.orphanFetch.Inc()
	}
	jctx, cancel := context.WithCancel(m.ctx)
	m.jobPeer, m.jobCancel = p, cancel
	m.publish()
	m.spawn(func() {
		ignored, err := m.io.syncFrom(jctx, p)
		m.jobDone <- jobResult{peer: p, err: err, ignored: ignored}
	})
}

// onJobDone judges a finished job: a peer at fault is charged (a staller
// only if it still answers a ping), a claim the job could not back is a
// lie; then the next job starts.
func (m *syncManager) onJobDone(r jobResult) {
	if m.jobCancel != nil {
		m.jobCancel() // the job has ended: this releases its context
	}
	m.jobPeer, m.jobCancel = "", nil
	if m.ctx.Err() != nil {
		return
	}
	c := m.s.chain
	off, faulty := offenceOf(r.err)
	if o, lied := m.peers.jobDone(r.peer, m.clock.Now(), jobOutcome{err: r.err, ourWork: c.BestSnapshot().WorkSum,
		have: c.HaveBlock, ignored: r.ignored}); lied {
		off, faulty = o, true
		r.err = errors.New("the sync could not back what it announced")
	}
	switch {
	case faulty && off == OffenceStall:
		p, why, ctx := r.peer, r.err.Error(), m.ctx
		m.spawn(func() { m.io.stalled(ctx, p, why) })
	case faulty:
		m.io.penalise(r.peer, off, "sync: "+r.err.Error())
	case r.err != nil:
		m.s.log.Info("sync from peer failed; trying another", "peer", r.peer.String(), "err", r.err)
	}
	m.maybeStart()
}

// onStatusTick asks every connected peer for its status (it makes up for
// dropped events and learns new tips).
func (m *syncManager) onStatusTick() {
	for _, p := range m.io.peers() {
		m.askStatus(p)
	}
	m.maybeStart()
}

// onSecond updates the sync rate and the syncing gauge, logs progress
// every 5 s while syncing, and starts a job whose peer's backoff ended.
func (m *syncManager) onSecond() {
	n := m.s.synced.Load()
	m.s.mu.Lock()
	m.s.rate = 0.7*m.s.rate + 0.3*float64(n-m.lastSynced)
	m.s.mu.Unlock()
	m.lastSynced = n
	info := m.s.info()
	if info.Syncing {
		m.s.metrics.syncing.Set(1)
	} else {
		m.s.metrics.syncing.Set(0)
	}
	if now := m.clock.Now(); m.jobPeer != "" && info.Syncing && now.Sub(m.lastLog) >= 5*time.Second {
		m.lastLog = now
		m.s.log.Info("syncing", "progress", fmt.Sprintf("%.1f%%", 100*info.Progress),
			"height", m.s.chain.BestSnapshot().Height, "peer_best", info.PeerBestHeight,
			"blocks_per_second", fmt.Sprintf("%.0f", info.BlocksPerSecond), "peer", m.jobPeer.String())
	}
	m.maybeStart()
}

// hostSyncIO is the host's syncIO.
type hostSyncIO struct {
	hst *Host
	s   *syncer
}

var _ syncIO = hostSyncIO{}

func (io hostSyncIO) connected(p peer.ID) bool {
	return io.hst.h.Network().Connectedness(p) == network.Connected
}
func (io hostSyncIO) peers() []peer.ID                          { return io.hst.h.Network().Peers() }
func (io hostSyncIO) penalise(p peer.ID, o Offence, why string) { io.hst.penalise(p, o, why) }
func (io hostSyncIO) remember(p peer.ID)                        { io.hst.remember(p) }
func (io hostSyncIO) closePeer(p peer.ID)                       { _ = io.hst.h.Network().ClosePeer(p) }
func (io hostSyncIO) status(ctx context.Context, p peer.ID) (Status, error) {
	return io.hst.requestStatus(ctx, p)
}
func (io hostSyncIO) syncFrom(ctx context.Context, p peer.ID) (bool, error) {
	return io.s.syncFrom(ctx, p)
}
func (io hostSyncIO) syncMempool(ctx context.Context, p peer.ID) { io.s.syncMempool(ctx, p) }
func (io hostSyncIO) fetchWanted(ctx context.Context, h chain.Hash, w *wantedBlock) {
	io.s.fetchWanted(ctx, h, w)
}
func (io hostSyncIO) stalled(ctx context.Context, p peer.ID, why string) { io.hst.stalled(ctx, p, why) }
