package p2p

import (
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// This file is the one place that decides what a peer's offence costs it.
// Whether an error from the chain or the mempool is the sender's fault is
// the node's call (its verdict); how much a fault weighs, and when the sum
// becomes a ban, is decided here and nowhere else.
//
// The score follows btcd's dynamic ban score: a persistent part for what is
// never honest (invalid data, lies), and a transient part that halves every
// minute, for what an honest peer may do now and then but a flooder does all
// the time (stalls, orphans, requests over the rate limit). A peer whose
// score reaches banThreshold is disconnected and refused; each ban within a
// day of the last doubles the next one.

// Offence is a kind of misbehaviour.
type Offence int

// Offences. Their costs are in offenceCosts.
const (
	// OffenceInvalidBlock: a block or header that breaks a consensus rule
	// (gossip verdict Reject, invalid headers in sync).
	OffenceInvalidBlock Offence = iota
	// OffenceInvalidTx: a transaction that breaks a consensus rule.
	OffenceInvalidTx
	// OffenceMalformed: a gossip message or sync frame that does not
	// decode, or a response of the wrong type.
	OffenceMalformed
	// OffenceUnrequested: a sync message not asked for: blocks in a
	// response that were not requested, a response of another type than
	// the request's, a request of an unknown type.
	OffenceUnrequested
	// OffenceOversized: a sync frame longer than its type allows.
	OffenceOversized
	// OffenceWrongNetwork: a status with another genesis block.
	OffenceWrongNetwork
	// OffenceLie: a claim not backed by what the peer serves: more work
	// than its headers show, headers whose blocks it then does not serve.
	OffenceLie
	// OffenceStall: no answer to a sync request within the deadline.
	OffenceStall
	// OffenceOrphan: an orphan block beyond the allowance, while none of
	// the peer's earlier orphans could be connected.
	OffenceOrphan
	// OffenceRateLimit: a sync request over the peer's rate limit.
	OffenceRateLimit
	// OffenceGossipScore: gossipsub's own score fell below the graylist.
	OffenceGossipScore
	numOffences
)

// cost is what one offence adds to the score.
type cost struct {
	persistent float64 // never decays
	transient  float64 // halves every scoreHalfLife
}

// banThreshold is the score at which a peer is banned.
const banThreshold = 100

// offenceCosts is the price list. A broken consensus rule, undecodable data
// and a wrong network are bans at once; two lies, two invalid transactions,
// two oversized or two unrequested messages are; a stall is half a ban that fades in a few minutes; an
// orphan or a request over the limit is a tenth of one.
var offenceCosts = [numOffences]cost{
	OffenceInvalidBlock: {persistent: 100},
	OffenceInvalidTx:    {persistent: 50},
	OffenceMalformed:    {persistent: 100},
	OffenceUnrequested:  {persistent: 50},
	OffenceOversized:    {persistent: 50},
	OffenceWrongNetwork: {persistent: 100},
	OffenceLie:          {persistent: 50},
	OffenceStall:        {transient: 50},
	OffenceOrphan:       {transient: 10},
	OffenceRateLimit:    {transient: 10},
	OffenceGossipScore:  {persistent: 100},
}

var offenceNames = [numOffences]string{
	"invalid_block", "invalid_tx", "malformed", "unrequested", "oversized", "wrong_network",
	"lie", "stall", "orphan", "rate_limit", "gossip_score",
}

// String names the offence for logs and metrics.
func (o Offence) String() string {
	if o < 0 || o >= numOffences {
		return "unknown"
	}
	return offenceNames[o]
}

// Cost returns the persistent and transient score an offence adds;
// docs/PROTOCOL.md's table of limits and penalties is written from it.
func (o Offence) Cost() (persistent, transient float64) {
	c := offenceCosts[o]
	return c.persistent, c.transient
}

const (
	// scoreHalfLife is how long the transient part takes to halve.
	scoreHalfLife = time.Minute
	// banMemory is how long a ban counts towards escalating the next
	// one.
	banMemory = 24 * time.Hour
	// maxBanDuration caps an escalated ban.
	maxBanDuration = 24 * time.Hour
	// maxRecords bounds the peers remembered; past it, records with
	// nothing to remember (no score, no ban) are dropped first.
	maxRecords = 4096
)

// record is what the penalty box remembers of one peer.
type record struct {
	persistent  float64
	transient   float64   // as of transAt
	transAt     time.Time // when transient was last brought up to date
	bannedUntil time.Time
	bans        int       // bans within banMemory of lastBan
	lastBan     time.Time // when the last ban started
}

// score is the record's score at now.
func (r *record) score(now time.Time) float64 {
	return r.persistent + r.decayed(now)
}

func (r *record) decayed(now time.Time) float64 {
	if r.transient == 0 {
		return 0
	}
	dt := now.Sub(r.transAt)
	if dt <= 0 {
		return r.transient
	}
	return r.transient * math.Exp2(-dt.Seconds()/scoreHalfLife.Seconds())
}

// forgettable reports whether the record holds nothing worth keeping.
func (r *record) forgettable(now time.Time) bool {
	return r.score(now) < 1 && now.After(r.bannedUntil) && now.Sub(r.lastBan) > banMemory
}

// penalties scores peers' offences and keeps the ban list. It is safe for
// concurrent use.
type penalties struct {
	base time.Duration    // the first ban's duration
	now  func() time.Time // the clock; tests replace it

	mu    sync.Mutex
	peers map[peer.ID]*record
}

func newPenalties(base time.Duration) *penalties {
	return &penalties{base: base, now: time.Now, peers: make(map[peer.ID]*record)}
}

func (pn *penalties) get(p peer.ID) *record {
	r := pn.peers[p]
	if r == nil {
		if len(pn.peers) >= maxRecords {
			pn.prune()
		}
		r = &record{}
		pn.peers[p] = r
	}
	return r
}

// prune drops records with nothing to remember, then, if that was not
// enough, the unbanned ones with the lowest scores (an identity flood must
// not grow the map without bound; a banned peer stays banned).
func (pn *penalties) prune() {
	now := pn.now()
	for p, r := range pn.peers {
		if r.forgettable(now) {
			delete(pn.peers, p)
		}
	}
	for p, r := range pn.peers {
		if len(pn.peers) < maxRecords*3/4 {
			return
		}
		if now.After(r.bannedUntil) && r.score(now) < banThreshold/2 {
			delete(pn.peers, p)
		}
	}
}

// add charges an offence to p. It returns the peer's new score and, when
// the score reached the threshold, the duration of the ban that starts now
// (zero otherwise). A banned peer is not charged again.
func (pn *penalties) add(p peer.ID, o Offence) (score float64, ban time.Duration) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	now := pn.now()
	r := pn.get(p)
	if now.Before(r.bannedUntil) {
		return r.score(now), 0
	}
	c := offenceCosts[o]
	r.transient = r.decayed(now) + c.transient
	r.transAt = now
	r.persistent += c.persistent
	score = r.score(now)
	if score < banThreshold {
		return score, 0
	}
	return score, pn.banLocked(r, now, 0)
}

// ban bans p now for d, or, when d is zero, for the escalated duration
// its record calls for. It returns the duration.
func (pn *penalties) ban(p peer.ID, d time.Duration) time.Duration {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	return pn.banLocked(pn.get(p), pn.now(), d)
}

func (pn *penalties) banLocked(r *record, now time.Time, d time.Duration) time.Duration {
	if now.Sub(r.lastBan) > banMemory {
		r.bans = 0
	}
	if d == 0 {
		d = pn.base << min(r.bans, 16)
		if d > maxBanDuration || d <= 0 {
			d = maxBanDuration
		}
	}
	r.bans++
	r.lastBan = now
	r.bannedUntil = now.Add(d)
	// The slate is clean when the ban ends; the ban count remembers.
	r.persistent, r.transient = 0, 0
	return d
}

// unban lifts p's ban and forgets its score and ban history.
func (pn *penalties) unban(p peer.ID) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	delete(pn.peers, p)
}

// banned reports whether p is banned now.
func (pn *penalties) banned(p peer.ID) bool {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	r := pn.peers[p]
	return r != nil && pn.now().Before(r.bannedUntil)
}

// score returns p's current score.
func (pn *penalties) score(p peer.ID) float64 {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if r := pn.peers[p]; r != nil {
		return r.score(pn.now())
	}
	return 0
}
