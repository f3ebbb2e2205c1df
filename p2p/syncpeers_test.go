package p2p

import (
	"math/big"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
)

func claim(work int64, tip byte) Status {
	return Status{Genesis: chain.RegtestParams.GenesisHash, Tip: chain.Hash{tip}, Height: int32(work), Work: big.NewInt(work)}
}

func noTip(chain.Hash) (int32, *big.Int, bool) { return 0, nil, false }

func haveNone(chain.Hash) bool { return false }

// TestSyncPeersPicksTheBestClaim: the peer claiming the most work above
// ours is asked first; peers backing off, refuted or claiming less are not.
func TestSyncPeersPicksTheBestClaim(t *testing.T) {
	sp := newSyncPeers()
	now := time.Unix(1_700_000_000, 0)
	ours := big.NewInt(10)
	sp.setStatus("low", claim(5, 1), noTip)
	sp.setStatus("mid", claim(20, 2), noTip)
	sp.setStatus("high", claim(30, 3), noTip)
	if p, why, ok := sp.next(now, ours); !ok || p != "high" || why != forClaim {
		t.Fatalf("next = %v %v %v, want high", p, why, ok)
	}
	// high's job fails without a fault: it backs off, mid is next.
	sp.jobDone("high", now, jobOutcome{err: errPeerRefused, ourWork: ours, have: haveNone})
	if p, _, _ := sp.next(now, ours); p != "mid" {
		t.Fatalf("next = %v, want mid while high backs off", p)
	}
	if p, _, _ := sp.next(now.Add(retryBase), ours); p != "high" {
		t.Fatalf("next = %v, want high once its backoff ended", p)
	}
	if _, _, ok := sp.next(now, big.NewInt(40)); ok {
		t.Fatal("a job was started though nobody claims more than us")
	}
}

// TestSyncPeersRefuteClaims: a sync that ends below what the peer claimed
// is a lie; the claim is not believed again until the peer announces
// another tip. A sync that reached the claim is not.
func TestSyncPeersRefuteClaims(t *testing.T) {
	sp := newSyncPeers()
	now := time.Unix(1_700_000_000, 0)
	sp.setStatus("liar", claim(1_000_000, 1), noTip)
	p, _, _ := sp.next(now, big.NewInt(1))
	if o, lied := sp.jobDone(p, now, jobOutcome{ourWork: big.NewInt(1), have: haveNone}); !lied || o != OffenceLie {
		t.Fatalf("jobDone = %v %v, want a lie", o, lied)
	}
	later := now.Add(refutedBackoff)
	if _, _, ok := sp.next(later, big.NewInt(1)); ok {
		t.Fatal("a refuted claim was tried again")
	}
	sp.setStatus("liar", claim(1_000_000, 1), noTip) // the same claim again
	if _, _, ok := sp.next(later, big.NewInt(1)); ok {
		t.Fatal("the same refuted claim was tried again")
	}
	sp.setStatus("liar", claim(1_000_001, 2), noTip) // another tip
	if p, _, ok := sp.next(later, big.NewInt(1)); !ok || p != "liar" {
		t.Fatal("a new tip was not tried")
	}

	sp.setStatus("honest", claim(50, 3), noTip)
	sp.peers["liar"].backoff = later.Add(time.Hour)
	p, _, _ = sp.next(later, big.NewInt(1))
	if _, lied := sp.jobDone(p, later, jobOutcome{ourWork: big.NewInt(50), have: haveNone}); lied {
		t.Fatal("a sync that reached the claim was called a lie")
	}
	// A claim raised while the job ran is judged by the next job, not this
	// one.
	sp.setStatus("honest", claim(60, 4), noTip)
	p, _, _ = sp.next(later, big.NewInt(50))
	sp.setStatus("honest", claim(70, 5), noTip)
	if _, lied := sp.jobDone(p, later, jobOutcome{ourWork: big.NewInt(60), have: haveNone}); lied {
		t.Fatal("a claim raised during the job was held against it")
	}
	// Blocks that were neither taken nor invalid: the claim cannot be judged.
	p, _, _ = sp.next(later, big.NewInt(60))
	if _, lied := sp.jobDone(p, later, jobOutcome{ourWork: big.NewInt(60), have: haveNone, ignored: true}); lied {
		t.Fatal("a claim was judged though its blocks could not be taken")
	}
}

// TestSyncPeersShown: what a peer has shown, not what it claims, is the
// best height; a peer that leaves takes what it showed with it.
func TestSyncPeersShown(t *testing.T) {
	sp := newSyncPeers()
	sp.setStatus("a", claim(1_000_000_000, 1), noTip)
	if sp.bestShown() != -1 {
		t.Fatal("a claim counted as shown")
	}
	sp.setStatus("b", claim(7, 2), func(chain.Hash) (int32, *big.Int, bool) { return 7, big.NewInt(7), true })
	sp.showHeaders("a", 12, big.NewInt(12))
	if sp.bestShown() != 12 || sp.height("a") != 1_000_000_000 {
		t.Fatalf("best shown %d, a claims %d", sp.bestShown(), sp.height("a"))
	}
	sp.remove("a")
	if sp.bestShown() != 7 || sp.height("a") != -1 {
		t.Fatalf("best shown %d after a left", sp.bestShown())
	}
}

// TestSyncPeersOrphans: orphans are free while we catch up and up to the
// allowance; past it each one is an offence until one of the peer's
// orphans connects. An orphan asks for a sync from its sender; one that
// cannot serve the orphan's ancestors is charged and backs off.
func TestSyncPeersOrphans(t *testing.T) {
	sp := newSyncPeers()
	now := time.Unix(1_700_000_000, 0)
	have := map[chain.Hash]bool{}
	haveFn := func(h chain.Hash) bool { return have[h] }
	for i := 0; i < 3*orphanAllowance; i++ {
		if sp.orphan("p", chain.Hash{byte(i)}, haveFn, true) {
			t.Fatal("an orphan was charged while we catch up")
		}
	}
	charged := 0
	for i := 0; i < 2*orphanAllowance; i++ {
		if sp.orphan("p", chain.Hash{byte(i)}, haveFn, false) {
			charged++
		}
	}
	if charged != orphanAllowance {
		t.Fatalf("%d of %d orphans charged, want those past the allowance of %d", charged, 2*orphanAllowance, orphanAllowance)
	}
	// Its last orphan's ancestor arrives: it was honest after all.
	have[chain.Hash{byte(2*orphanAllowance - 1)}] = true
	if sp.orphan("p", chain.Hash{0xaa}, haveFn, false) {
		t.Fatal("an orphan was charged after an earlier one connected")
	}
	// The orphan asks for a sync with p.
	if p, why, ok := sp.next(now, big.NewInt(1)); !ok || p != "p" || why != forOrphan {
		t.Fatalf("next = %v %v %v, want an orphan sync with p", p, why, ok)
	}
	if o, bad := sp.jobDone("p", now, jobOutcome{ourWork: big.NewInt(1), have: haveFn}); !bad || o != OffenceOrphan {
		t.Fatalf("jobDone = %v %v: an orphan whose ancestors did not come is an offence", o, bad)
	}
	if _, _, ok := sp.next(now, big.NewInt(1)); ok {
		t.Fatal("the peer was asked again at once")
	}
	// Had the sync brought them, all would be well.
	sp.orphan("q", chain.Hash{0xbb}, haveFn, false)
	sp.next(now, big.NewInt(1))
	have[chain.Hash{0xbb}] = true
	if _, bad := sp.jobDone("q", now, jobOutcome{ourWork: big.NewInt(1), have: haveFn}); bad {
		t.Fatal("an orphan whose ancestors came was charged")
	}
}
