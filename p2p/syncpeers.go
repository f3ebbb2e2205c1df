package p2p

import (
	"math/big"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

// syncPeers is what the sync manager knows of each peer, and how it picks
// the next peer to sync from. It does no I/O and keeps no clock of its own:
// the manager's loop owns it and passes the time in, so its rules are tested
// directly (syncpeers_test.go).
//
// A peer's status is a claim. The claim decides whom to ask; what is
// believed is only what the peer has shown: the work of its tip when that
// block is ours too, or the work of the last header it served that links to
// our chain. A claim that a finished sync could not back is refuted: the
// peer is not asked again until it announces another tip.
type syncPeers struct {
	peers map[peer.ID]*peerSync
}

// peerSync is one peer's sync state.
type peerSync struct {
	status    Status // its last status: claims
	hasStatus bool
	refuted   bool     // its current claim was shown false
	jobClaim  *big.Int // the claim its running job was started for

	shownWork   *big.Int // work it has shown (nil: none)
	shownHeight int32

	backoff  time.Time // not asked to sync before this
	failures int       // consecutive jobs that failed without a fault

	// Orphans: wantOrphan asks for a sync to fetch the ancestors of the
	// orphan it sent, missing is the first block of them we lack, and
	// unconnected counts its orphans since one of them last connected.
	wantOrphan  bool
	missing     chain.Hash
	unconnected int
}

// Tuning of the sync manager.
const (
	// orphanAllowance is how many orphans a peer may send, while none of
	// its earlier ones connected and we are not catching up, before each
	// further one is an offence.
	orphanAllowance = 8
	// retryBase and retryMax bound the backoff after a failed job.
	retryBase = 5 * time.Second
	retryMax  = 2 * time.Minute
	// refutedBackoff keeps a refuted peer from being asked again soon even
	// if it announces another tip.
	refutedBackoff = time.Minute
)

func newSyncPeers() *syncPeers { return &syncPeers{peers: make(map[peer.ID]*peerSync)} }

func (sp *syncPeers) get(p peer.ID) *peerSync {
	ps := sp.peers[p]
	if ps == nil {
		ps = &peerSync{shownHeight: -1}
		sp.peers[p] = ps
	}
	return ps
}

// remove forgets a peer that disconnected.
func (sp *syncPeers) remove(p peer.ID) { delete(sp.peers, p) }

// setStatus records a peer's status. haveTip reports the height and work
// of its tip when that block is ours. A new tip lifts a refutation.
func (sp *syncPeers) setStatus(p peer.ID, st Status, haveTip func(chain.Hash) (int32, *big.Int, bool)) {
	ps := sp.get(p)
	if ps.hasStatus && st.Tip != ps.status.Tip {
		ps.refuted = false
	}
	ps.status, ps.hasStatus = st, true
	if h, w, ok := haveTip(st.Tip); ok {
		ps.show(h, w)
	}
}

// show records work a peer has shown.
func (ps *peerSync) show(height int32, work *big.Int) {
	if ps.shownWork == nil || work.Cmp(ps.shownWork) > 0 {
		ps.shownWork, ps.shownHeight = work, height
	}
}

// showHeaders records the last header of a checked batch a peer served.
func (sp *syncPeers) showHeaders(p peer.ID, height int32, work *big.Int) {
	sp.get(p).show(height, work)
}

// orphan records an orphan from p whose first missing ancestor is missing.
// have says whether we now hold a block. behind is true while a sync is
// catching up to headers we have: orphans are expected then. It returns
// true when the orphan is an offence.
func (sp *syncPeers) orphan(p peer.ID, missing chain.Hash, have func(chain.Hash) bool, behind bool) bool {
	ps := sp.get(p)
	if ps.unconnected > 0 && have(ps.missing) {
		ps.unconnected = 0 // its earlier orphan connected: it was honest
	}
	ps.missing, ps.wantOrphan = missing, true
	if behind {
		return false
	}
	ps.unconnected++
	return ps.unconnected > orphanAllowance
}

// jobReason says why a sync job was started.
type jobReason int

const (
	forClaim  jobReason = iota // the peer claims more work than ours
	forOrphan                  // the peer sent an orphan
)

// next picks the peer to sync from: of those not backing off, the one that
// claims the most work above ours and has not been refuted, else one that
// sent an orphan. ok is false when there is none.
func (sp *syncPeers) next(now time.Time, ours *big.Int) (best peer.ID, why jobReason, ok bool) {
	bestWork := ours
	var orphan peer.ID
	for p, ps := range sp.peers {
		if now.Before(ps.backoff) {
			continue
		}
		if ps.hasStatus && !ps.refuted && ps.status.Work.Cmp(bestWork) > 0 {
			best, bestWork = p, ps.status.Work
		}
		if ps.wantOrphan && (orphan == "" || p < orphan) {
			orphan = p
		}
	}
	switch {
	case best != "":
		sp.peers[best].jobClaim = bestWork
		return best, forClaim, true
	case orphan != "":
		sp.peers[orphan].jobClaim = nil
		return orphan, forOrphan, true
	}
	return "", 0, false
}

// jobOutcome is what a finished job learned.
type jobOutcome struct {
	err     error    // nil: the peer had nothing more to give
	ourWork *big.Int // our tip's work when it ended
	have    func(chain.Hash) bool
	// ignored: some of the peer's blocks were not taken without being
	// invalid (from the future, say); its claim cannot be judged.
	ignored bool
}

// jobDone applies a job's outcome to the peer's state at now. It returns
// the offence the peer committed, if any, beyond what err carries: a claim
// or an orphan that the sync could not back.
func (sp *syncPeers) jobDone(p peer.ID, now time.Time, out jobOutcome) (Offence, bool) {
	ps, ok := sp.peers[p]
	if !ok {
		return 0, false // gone meanwhile
	}
	orphanMissing := ps.wantOrphan && !out.have(ps.missing)
	if ps.wantOrphan && !orphanMissing {
		ps.wantOrphan, ps.unconnected = false, 0
	}
	if out.err != nil {
		ps.jobClaim = nil
		ps.failures++
		ps.backoff = now.Add(min(retryMax, retryBase<<min(ps.failures-1, 8)))
		return 0, false
	}
	ps.failures = 0
	claim := ps.jobClaim
	ps.jobClaim = nil
	switch {
	case claim != nil && !out.ignored && claim.Cmp(out.ourWork) > 0:
		// It claimed more work than its headers and blocks gave us.
		ps.refuted = true
		ps.backoff = now.Add(refutedBackoff)
		return OffenceLie, true
	case orphanMissing:
		// It sent an orphan and then could not serve its ancestors.
		ps.wantOrphan = false
		ps.backoff = now.Add(refutedBackoff)
		return OffenceOrphan, true
	}
	return 0, false
}

// bestShown is the highest height any peer has shown.
func (sp *syncPeers) bestShown() int32 {
	best := int32(-1)
	for _, ps := range sp.peers {
		if ps.shownWork != nil {
			best = max(best, ps.shownHeight)
		}
	}
	return best
}

// height returns the height a peer claims, -1 before its first status.
func (sp *syncPeers) height(p peer.ID) int32 {
	if ps, ok := sp.peers[p]; ok && ps.hasStatus {
		return ps.status.Height
	}
	return -1
}
