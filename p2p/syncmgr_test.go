package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/minichain/minichain/chain"
)

// The sync manager's handlers, driven directly with fake peers (fakeSyncIO)
// and a fake clock: no libp2p host. Each test plays the loop: it calls a
// handler, then reads what the goroutines the handler started did.

// fakeSyncIO records every call as a line ("status a", "penalise a lie")
// on calls; the blocking calls answer at once from its maps.
type fakeSyncIO struct {
	calls chan string

	mu       sync.Mutex
	conn     map[peer.ID]bool
	statuses map[peer.ID]Status
	statErr  map[peer.ID]error
	jobErr   map[peer.ID]error
}

func newFakeSyncIO() *fakeSyncIO {
	return &fakeSyncIO{calls: make(chan string, 1000), conn: map[peer.ID]bool{},
		statuses: map[peer.ID]Status{}, statErr: map[peer.ID]error{}, jobErr: map[peer.ID]error{}}
}

// call records a call; peer IDs appear as the test's names for them.
func (f *fakeSyncIO) call(format string, args ...any) {
	for i, a := range args {
		if p, ok := a.(peer.ID); ok {
			args[i] = string(p)
		}
	}
	f.calls <- fmt.Sprintf(format, args...)
}

// setConnected says whether p is connected.
func (f *fakeSyncIO) setConnected(p peer.ID, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn[p] = on
}

func (f *fakeSyncIO) connected(p peer.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conn[p]
}

func (f *fakeSyncIO) peers() []peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []peer.ID
	for p, on := range f.conn {
		if on {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeSyncIO) penalise(p peer.ID, o Offence, _ string) { f.call("penalise %s %s", p, o) }
func (f *fakeSyncIO) remember(p peer.ID)                      { f.call("remember %s", p) }
func (f *fakeSyncIO) closePeer(p peer.ID)                     { f.call("close %s", p) }

func (f *fakeSyncIO) status(_ context.Context, p peer.ID) (Status, error) {
	f.call("status %s", p)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses[p], f.statErr[p]
}

func (f *fakeSyncIO) syncFrom(_ context.Context, p peer.ID) (bool, error) {
	f.call("sync %s", p)
	f.mu.Lock()
	defer f.mu.Unlock()
	return false, f.jobErr[p]
}

func (f *fakeSyncIO) syncMempool(_ context.Context, p peer.ID) { f.call("mempool %s", p) }

func (f *fakeSyncIO) fetchWanted(_ context.Context, h chain.Hash, _ *wantedBlock) {
	f.call("fetch %x", h[:1])
}

func (f *fakeSyncIO) stalled(_ context.Context, p peer.ID, _ string) { f.call("stalled %s", p) }

// fakeClock is a syncClock whose time moves only by Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	every   time.Duration
	next    time.Time
	c       chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{every: d, next: c.now.Add(d), c: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	return t.c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.stopped = true
	}
}

// Advance moves the time on by d and fires the tickers that came due,
// dropping ticks a full channel cannot take, as time.Ticker does.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		for !t.stopped && !t.next.After(c.now) {
			select {
			case t.c <- t.next:
			default:
			}
			t.next = t.next.Add(t.every)
		}
	}
}

// tickerCount is how many tickers are running.
func (c *fakeClock) tickerCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.tickers {
		if !t.stopped {
			n++
		}
	}
	return n
}

const testStatusInterval = time.Minute

// newTestManager returns a manager over an in-memory chain of n blocks,
// with fake I/O and a fake clock. Its goroutines stop when the test ends.
func newTestManager(t *testing.T, blocks int) (*syncManager, *fakeSyncIO, *fakeClock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := newSyncState(newChain(t, blocks), slog.New(slog.DiscardHandler), newMetrics(nil))
	io, clk := newFakeSyncIO(), newFakeClock()
	m := newSyncManager(ctx, s, io, clk, chain.RegtestParams.GenesisHash, testStatusInterval)
	t.Cleanup(func() { cancel(); m.wait() })
	return m, io, clk
}

// expectCalls waits for the manager's goroutines to finish and checks
// that the calls made since the last check are want, in any order.
func expectCalls(t *testing.T, m *syncManager, io *fakeSyncIO, want ...string) {
	t.Helper()
	m.wait()
	var got []string
	for len(io.calls) > 0 {
		got = append(got, <-io.calls)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// nextEvent returns the event a goroutine of the manager posted.
func nextEvent(t *testing.T, m *syncManager) syncEvent {
	t.Helper()
	select {
	case ev := <-m.s.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event was posted")
	}
	return syncEvent{}
}

// nextJob returns the result of the running job.
func nextJob(t *testing.T, m *syncManager) jobResult {
	t.Helper()
	select {
	case r := <-m.jobDone:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no job ended")
	}
	return jobResult{}
}

// richClaim is a status on our network claiming height 1000.
func richClaim(tip byte) Status {
	return Status{Genesis: chain.RegtestParams.GenesisHash, Tip: chain.Hash{tip}, Height: 1000, Work: big.NewInt(1 << 40)}
}

// TestSyncManagerConnectedPeerIsSynced: a new peer is asked its status; a
// claim above ours makes the peer's mempool asked for once and starts one
// job with it; a finished job that did not reach the claim is a lie.
func TestSyncManagerConnectedPeerIsSynced(t *testing.T) {
	m, io, _ := newTestManager(t, 0)
	io.setConnected("a", true)
	io.statuses["a"] = richClaim(1)
	m.dispatch(syncEvent{kind: evConnected, peer: "a"})
	expectCalls(t, m, io, "status a")
	ev := nextEvent(t, m)
	if ev.kind != evStatus || ev.peer != "a" {
		t.Fatalf("event %+v, want a's status", ev)
	}
	m.dispatch(ev)
	expectCalls(t, m, io, "remember a", "mempool a", "sync a")
	if m.jobPeer != "a" || m.s.peerHeight("a") != 1000 {
		t.Fatalf("job peer %q, a's claimed height %d", m.jobPeer, m.s.peerHeight("a"))
	}
	if si := m.s.info(); si.Syncing || si.PeerBestHeight != 0 {
		t.Fatalf("info %+v: a claim alone is not syncing", si)
	}
	m.dispatch(syncEvent{kind: evShown, peer: "a", height: 12, work: big.NewInt(1 << 20)})
	if si := m.s.info(); !si.Syncing || si.PeerBestHeight != 12 {
		t.Fatalf("info %+v: want syncing towards shown height 12", si)
	}

	// Its status again while the job runs: no second job or mempool ask.
	m.onStatus("a", richClaim(1))
	expectCalls(t, m, io, "remember a")

	m.onJobDone(nextJob(t, m))
	expectCalls(t, m, io, "penalise a lie")
	if m.jobCancel != nil || m.s.info().Syncing {
		t.Fatal("a job still runs after the only one ended")
	}
}

// TestSyncManagerIgnoredStatuses: a status from another network is
// charged; one from a peer that left meanwhile is dropped.
func TestSyncManagerIgnoredStatuses(t *testing.T) {
	m, io, _ := newTestManager(t, 0)
	io.setConnected("a", true)
	other := richClaim(1)
	other.Genesis = chain.Hash{0x55}
	m.onStatus("a", other)
	expectCalls(t, m, io, "penalise a wrong_network")
	m.onStatus("gone", richClaim(2))
	expectCalls(t, m, io)
	if m.jobCancel != nil || m.s.peerHeight("a") != -1 || m.s.peerHeight("gone") != -1 {
		t.Fatal("an ignored status was recorded")
	}
}

// TestSyncManagerStatusErrors: a peer that does not speak our protocol is
// disconnected; a slow answer is not charged; a faulty one is.
func TestSyncManagerStatusErrors(t *testing.T) {
	m, io, _ := newTestManager(t, 0)
	io.statErr["stranger"] = fmt.Errorf("open: %w", msmux.ErrNotSupported[protocol.ID]{})
	io.statErr["slow"] = fault(OffenceStall, "no answer")
	io.statErr["garbled"] = fault(OffenceMalformed, "garbled")
	io.statErr["refusing"] = errPeerRefused
	for _, p := range []peer.ID{"stranger", "slow", "garbled", "refusing"} {
		m.askStatus(p)
	}
	expectCalls(t, m, io, "status stranger", "status slow", "status garbled", "status refusing",
		"close stranger", "penalise garbled malformed")
	if len(m.s.events) != 0 {
		t.Fatal("a failed status request posted an event")
	}
}

// TestSyncManagerBackoffFollowsTheClock: a job that fails without a fault
// is not retried with the same peer until its backoff has passed on the
// manager's clock; a stalled job's peer goes to the stall check.
func TestSyncManagerBackoffFollowsTheClock(t *testing.T) {
	m, io, clk := newTestManager(t, 0)
	io.setConnected("a", true)
	io.jobErr["a"] = errors.New("stream reset")
	m.onStatus("a", richClaim(1))
	expectCalls(t, m, io, "remember a", "mempool a", "sync a")
	m.onJobDone(nextJob(t, m))
	m.onSecond()
	expectCalls(t, m, io)
	clk.Advance(retryBase - time.Millisecond)
	m.onSecond()
	expectCalls(t, m, io)
	clk.Advance(time.Millisecond)
	io.mu.Lock()
	io.jobErr["a"] = fault(OffenceStall, "no answer in time")
	io.mu.Unlock()
	m.onSecond()
	expectCalls(t, m, io, "sync a")
	m.onJobDone(nextJob(t, m))
	expectCalls(t, m, io, "stalled a")
}

// TestSyncManagerDisconnected: a peer is forgotten when its last
// connection closes, not before; a returning peer's mempool is asked again.
func TestSyncManagerDisconnected(t *testing.T) {
	m, io, _ := newTestManager(t, 3)
	io.setConnected("a", true)
	level := Status{Genesis: chain.RegtestParams.GenesisHash, Tip: m.s.chain.BestSnapshot().Hash, Height: 3,
		Work: m.s.chain.BestSnapshot().WorkSum}
	m.onStatus("a", level)
	expectCalls(t, m, io, "remember a", "mempool a")
	if m.s.info().PeerBestHeight != 3 || m.jobCancel != nil {
		t.Fatalf("info %+v: a peer level with us shows our height and starts no job", m.s.info())
	}
	m.onDisconnected("a") // another connection to it remains
	if m.s.peerHeight("a") != 3 {
		t.Fatal("a peer still connected was forgotten")
	}
	io.setConnected("a", false)
	m.onDisconnected("a")
	if m.s.peerHeight("a") != -1 || m.peers.bestShown() != -1 {
		t.Fatal("a peer that left was remembered")
	}
	io.setConnected("a", true)
	m.onStatus("a", level)
	expectCalls(t, m, io, "remember a", "mempool a")
}

// TestSyncManagerWanted: a wanted block is fetched once however many peers
// announce it (they become its announcers, as does a peer whose tip it
// is), never when it is ours, and at most maxWanted at once.
func TestSyncManagerWanted(t *testing.T) {
	m, io, _ := newTestManager(t, 1)
	m.onWant(m.s.chain.BestSnapshot().Hash, "a", false)
	expectCalls(t, m, io)

	h := chain.Hash{0x01}
	m.onWant(h, "a", false)
	m.onWant(h, "b", true)
	io.setConnected("c", true)
	m.onStatus("c", Status{Genesis: chain.RegtestParams.GenesisHash, Tip: h, Height: 1, Work: big.NewInt(1)})
	expectCalls(t, m, io, "fetch 01", "remember c", "mempool c")
	if got := m.wanted[h].candidates([]peer.ID{"a", "b", "c", "d"}); !slices.Equal(got, []peer.ID{"a", "c", "d"}) {
		t.Fatalf("candidates %v, want a and c (announcers) then d; never b (damaged copy)", got)
	}
	for i := 2; i <= maxWanted+1; i++ {
		m.onWant(chain.Hash{byte(i)}, "a", false)
	}
	var want []string
	for i := 2; i <= maxWanted; i++ {
		want = append(want, fmt.Sprintf("fetch %02x", i))
	}
	expectCalls(t, m, io, want...)
	if len(m.wanted) != maxWanted {
		t.Fatalf("%d blocks wanted, want the bound %d", len(m.wanted), maxWanted)
	}
	for range maxWanted {
		if ev := nextEvent(t, m); ev.kind == evWantDone {
			m.dispatch(ev)
		}
	}
	if len(m.wanted) != 0 {
		t.Fatalf("%d blocks still wanted after every fetch ended", len(m.wanted))
	}
}

// TestSyncManagerOrphans: an orphan starts a job with its sender; past the
// allowance, while none connects, each orphan is charged.
func TestSyncManagerOrphans(t *testing.T) {
	m, io, _ := newTestManager(t, 0)
	io.setConnected("a", true)
	for i := range orphanAllowance + 2 {
		m.onOrphan("a", chain.Hash{byte(i + 1)})
	}
	expectCalls(t, m, io, "sync a", "penalise a orphan", "penalise a orphan")
	m.onJobDone(nextJob(t, m))
	expectCalls(t, m, io, "penalise a orphan") // its ancestors never came
}

// TestSyncManagerRate: the blocks-per-second figure is smoothed over the
// second ticks.
func TestSyncManagerRate(t *testing.T) {
	m, _, _ := newTestManager(t, 0)
	m.s.synced.Add(100)
	m.onSecond()
	if r := m.s.info().BlocksPerSecond; math.Abs(r-30) > 1e-9 {
		t.Fatalf("rate %v after 100 blocks in a second, want 30 (0.3 of the new figure)", r)
	}
	m.onSecond()
	if r := m.s.info().BlocksPerSecond; math.Abs(r-21) > 1e-9 {
		t.Fatalf("rate %v after a second without blocks, want 21", r)
	}
}

// TestSyncManagerRunLoop: the loop asks every peer its status each status
// interval of its clock, handles the answers, and on ctx's end stops the
// running job and returns once its goroutines have.
func TestSyncManagerRunLoop(t *testing.T) {
	m, io, clk := newTestManager(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	m.ctx = ctx
	io.setConnected("a", true)
	io.setConnected("b", true)
	io.statuses["a"] = richClaim(1)
	io.statuses["b"] = genesisStatus()
	done := make(chan struct{})
	go func() { m.run(); close(done) }()
	waitUntil(t, "the loop's tickers", func() bool { return clk.tickerCount() == 2 })
	clk.Advance(testStatusInterval)
	want := []string{"status a", "status b", "remember a", "remember b", "mempool a", "mempool b", "sync a"}
	got := map[string]bool{}
	for !allIn(want, got) {
		select {
		case c := <-io.calls:
			got[c] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("calls %v, want at least %q", got, want)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not return after its context ended")
	}
	if clk.tickerCount() != 0 {
		t.Fatal("the loop left its tickers running")
	}
}

// allIn reports whether every one of want is in got.
func allIn(want []string, got map[string]bool) bool {
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}
