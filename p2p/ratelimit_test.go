package p2p

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/minichain/minichain/chain"
)

func newTestLimiter() (*rateLimiter, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	rl := newRateLimiter()
	rl.now = c.now
	return rl, c
}

func TestRequestRate(t *testing.T) {
	rl, c := newTestLimiter()
	p := peer.ID("p")
	for i := 0; i < serveRequestBurst; i++ {
		if !rl.request(p) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if rl.request(p) {
		t.Fatal("a request past the burst was served")
	}
	if !rl.request("other") {
		t.Fatal("one peer's burst limited another")
	}
	c.advance(time.Second)
	for i := 0; i < serveRequestRate; i++ {
		if !rl.request(p) {
			t.Fatalf("request %d within the rate refused", i+1)
		}
	}
	if rl.request(p) {
		t.Fatal("a request past the rate was served")
	}
}

func TestByteRate(t *testing.T) {
	rl, c := newTestLimiter()
	p := peer.ID("p")
	if a := rl.byteAllowance(p); a != serveByteBurst+serveByteRate {
		t.Fatalf("allowance %d", a)
	}
	if wait, ok := rl.takeBytes(p, serveByteBurst); !ok || wait != 0 {
		t.Fatalf("the burst: wait %v ok %v", wait, ok)
	}
	// Half a second of debt is waited out...
	wait, ok := rl.takeBytes(p, serveByteRate/2)
	if !ok || wait != 500*time.Millisecond {
		t.Fatalf("wait %v ok %v, want 500ms", wait, ok)
	}
	// ...but not more than serveMaxWait in all.
	if _, ok := rl.takeBytes(p, serveByteRate); ok {
		t.Fatal("a debt past the longest wait was taken")
	}
	// A second response may wait while one does, not a third.
	if _, ok := rl.takeBytes(p, serveByteRate/4); !ok {
		t.Fatal("a second waiting response was refused")
	}
	if _, ok := rl.takeBytes(p, 1); ok {
		t.Fatal("a third waiting response was taken")
	}
	rl.doneWaiting(p)
	rl.doneWaiting(p)
	c.advance(10 * time.Second)
	if wait, ok := rl.takeBytes(p, 1000); !ok || wait != 0 {
		t.Fatal("the allowance did not refill")
	}
}

func TestPacerKeepsWithinServerLimit(t *testing.T) {
	pc := newPacer()
	start := time.Now()
	for i := 0; i < clientBurst+2; i++ {
		if err := pc.wait(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
	}
	// Two requests past the burst wait a tenth of a second each.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("%d requests in %v: the pacer did not pace", clientBurst+2, d)
	}
	if clientRequestRate*2 > serveRequestRate || clientBurst*2 > serveRequestBurst {
		t.Fatal("the client's pace must stay well within the server's limit")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for pc.wait(ctx, "p") == nil {
	}
}

// TestServerChargesRequestsOverTheRate: the server refuses a request past
// the burst with an error answer and charges the peer; past the byte rate
// likewise.
func TestServerChargesRequestsOverTheRate(t *testing.T) {
	rl, _ := newTestLimiter() // a clock that stands still: nothing refills
	hst := &Host{cfg: Config{Params: chain.RegtestParams, Chain: newChain(t, 2)}, limiter: rl}
	status := appendFrame(nil, []byte{msgStatus})
	for i := 0; i < serveRequestBurst; i++ {
		resp, off := hst.serveRequest("p", bufio.NewReader(bytes.NewReader(status)), nil)
		if off != nil || resp[0] != msgStatusResp {
			t.Fatalf("request %d of the burst: %x %v", i+1, resp, off)
		}
	}
	resp, off := hst.serveRequest("p", bufio.NewReader(bytes.NewReader(status)), nil)
	if off == nil || off.off != OffenceRateLimit || resp[0] != msgError {
		t.Fatalf("past the burst: %x %v, want a refusal charged as rate_limit", resp, off)
	}
	// Bytes: a peer whose allowance is spent is refused and charged.
	hst.limiter.takeBytes("q", serveByteBurst+serveByteRate)
	hst.limiter.doneWaiting("q")
	best := hst.cfg.Chain.BestSnapshot().Hash
	resp, off = hst.serveRequest("q", bufio.NewReader(bytes.NewReader(appendFrame(nil, encodeGetBlocks([]chain.Hash{best})))), nil)
	if off == nil || off.off != OffenceRateLimit || resp[0] != msgError {
		t.Fatalf("past the byte rate: %x %v, want a refusal charged as rate_limit", resp, off)
	}
}

// stallingReader delivers its bytes, then reports a passed deadline.
type stallingReader struct{ b []byte }

func (r *stallingReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestServerChargesUnfinishedRequests: a client that declares a request and
// does not send it all before the server's read deadline has stalled.
func TestServerChargesUnfinishedRequests(t *testing.T) {
	hst := &Host{cfg: Config{Params: chain.RegtestParams, Chain: newChain(t, 0)}, limiter: newRateLimiter()}
	partial := append(binary.AppendUvarint(nil, pushMax), msgPushTxs, 1, 2, 3)
	resp, off := hst.serveRequest("p", bufio.NewReader(&stallingReader{partial}), nil)
	if resp != nil || off == nil || off.off != OffenceStall {
		t.Fatalf("%x %v: want the stream reset and a stall charged", resp, off)
	}
	// A client that hangs up is nobody's fault.
	resp, off = hst.serveRequest("p", bufio.NewReader(bytes.NewReader(partial)), nil)
	if resp != nil || off != nil {
		t.Fatalf("%x %v: want the stream reset, no charge", resp, off)
	}
}
