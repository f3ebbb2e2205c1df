package p2p

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// clock is a settable time for the penalty box and the rate limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestPenalties() (*penalties, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	pn := newPenalties(10 * time.Minute)
	pn.now = c.now
	return pn, c
}

// TestOffenceCosts pins the price list: every offence has a name and a
// cost, what is never honest is persistent, what an honest peer may do now
// and then fades.
func TestOffenceCosts(t *testing.T) {
	for o := Offence(0); o < numOffences; o++ {
		per, tr := o.Cost()
		if o.String() == "unknown" || o.String() == "" {
			t.Errorf("offence %d has no name", o)
		}
		if per+tr <= 0 || per+tr > banThreshold {
			t.Errorf("%s costs %v+%v, want a cost in (0, %d]", o, per, tr, banThreshold)
		}
		transient := o == OffenceStall || o == OffenceOrphan || o == OffenceRateLimit
		if transient != (per == 0) {
			t.Errorf("%s: persistent %v, transient %v: wrong kind of cost", o, per, tr)
		}
	}
	bans := map[Offence]bool{OffenceInvalidBlock: true, OffenceMalformed: true,
		OffenceWrongNetwork: true, OffenceGossipScore: true}
	for o := Offence(0); o < numOffences; o++ {
		per, tr := o.Cost()
		if got := per+tr >= banThreshold; got != bans[o] {
			t.Errorf("%s: a ban at once is %v, want %v", o, got, bans[o])
		}
	}
	if Offence(-1).String() != "unknown" || numOffences.String() != "unknown" {
		t.Error("out-of-range offences must be named unknown")
	}
}

// TestOffenceOfErrors: every kind of request failure maps to an offence on
// purpose, and failures that are nobody's fault to none.
func TestOffenceOfErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Offence
		ok   bool
	}{
		{fault(OffenceLie, "x"), OffenceLie, true},
		{fmt.Errorf("wrapped: %w", fault(OffenceUnrequested, "x")), OffenceUnrequested, true},
		{fmt.Errorf("%w: 5 MiB", errOversized), OffenceOversized, true},
		{fmt.Errorf("%w: bad count", errMalformed), OffenceMalformed, true},
		{fmt.Errorf("%w 0x11", errUnexpectedType), OffenceUnrequested, true},
		{os.ErrDeadlineExceeded, OffenceStall, true},
		{fmt.Errorf("headers: %w", context.DeadlineExceeded), OffenceStall, true},
		{fmt.Errorf("%w: busy", errPeerRefused), 0, false},
		{errors.New("stream reset"), 0, false},
		{errBusy, 0, false},
	} {
		got, ok := offenceOf(tc.err)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("offenceOf(%v) = %v, %v; want %v, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPenaltyThresholdAndDecay(t *testing.T) {
	pn, c := newTestPenalties()
	p := peer.ID("p")
	// Nine requests over the rate limit: 90, no ban.
	for i := 0; i < 9; i++ {
		if _, ban := pn.add(p, OffenceRateLimit); ban != 0 {
			t.Fatalf("banned after %d rate-limit offences", i+1)
		}
	}
	if s := pn.score(p); s < 89.9 || s > 90.1 {
		t.Fatalf("score %v, want 90", s)
	}
	// A minute later the transient part has halved.
	c.advance(time.Minute)
	if s := pn.score(p); s < 44.9 || s > 45.1 {
		t.Fatalf("score after a half-life %v, want 45", s)
	}
	// A lie is persistent: 45 + 50 = 95, still no ban; a second lie bans.
	if _, ban := pn.add(p, OffenceLie); ban != 0 {
		t.Fatal("banned at 95")
	}
	c.advance(time.Hour) // the transient part is gone, the lie stays
	if s := pn.score(p); s < 49.9 || s > 50.1 {
		t.Fatalf("score %v, want the persistent 50", s)
	}
	_, ban := pn.add(p, OffenceLie)
	if ban != 10*time.Minute || !pn.banned(p) {
		t.Fatalf("ban %v, banned %v: want a first ban of 10 min", ban, pn.banned(p))
	}
	// While banned nothing more is charged; after it the slate is clean.
	if _, again := pn.add(p, OffenceInvalidBlock); again != 0 {
		t.Fatal("a banned peer was banned again")
	}
	c.advance(11 * time.Minute)
	if pn.banned(p) || pn.score(p) != 0 {
		t.Fatalf("after the ban: banned %v, score %v", pn.banned(p), pn.score(p))
	}
}

func TestPenaltyBanEscalatesAndDecays(t *testing.T) {
	pn, c := newTestPenalties()
	p := peer.ID("p")
	want := []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute}
	for i, w := range want {
		_, ban := pn.add(p, OffenceInvalidBlock)
		if ban != w {
			t.Fatalf("ban %d lasts %v, want %v", i+1, ban, w)
		}
		c.advance(ban + time.Second)
	}
	// A day without a ban: back to the first duration.
	c.advance(banMemory + time.Second)
	if _, ban := pn.add(p, OffenceInvalidBlock); ban != 10*time.Minute {
		t.Fatalf("after a quiet day the ban lasts %v, want 10 min", ban)
	}
	// Escalation is capped.
	for i := 0; i < 20; i++ {
		c.advance(maxBanDuration + time.Second)
		if _, ban := pn.add(p, OffenceInvalidBlock); ban > maxBanDuration {
			t.Fatalf("a ban of %v exceeds the cap", ban)
		}
	}
	pn.unban(p)
	if pn.banned(p) || pn.score(p) != 0 {
		t.Fatal("unban must lift the ban and forget the score")
	}
	if d := pn.ban(p, time.Hour); d != time.Hour || !pn.banned(p) {
		t.Fatalf("an explicit ban lasts %v", d)
	}
}

// TestPenaltyRecordsBounded: an identity flood cannot grow the penalty box
// without bound, and a banned identity is not forgotten to make room.
func TestPenaltyRecordsBounded(t *testing.T) {
	pn, _ := newTestPenalties()
	pn.add("banned", OffenceMalformed)
	for i := 0; i < 3*maxRecords; i++ {
		pn.add(peer.ID(fmt.Sprint(i)), OffenceOrphan)
	}
	if n := len(pn.peers); n > maxRecords {
		t.Fatalf("%d records, want at most %d", n, maxRecords)
	}
	if !pn.banned("banned") {
		t.Fatal("a banned peer was forgotten")
	}
}
