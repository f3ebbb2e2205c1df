package p2p

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Rate limits of the sync protocol, per peer. A server answers up to
// serveRequestRate requests a second (bursts of serveRequestBurst) and
// refuses the rest, each refusal an offence; a client keeps to half of
// that, so an honest client never meets the limit. Bytes served (blocks,
// the mempool) and taken (pushed transactions) are held to serveByteRate:
// a response that would go over it waits, up to serveMaxWait, with at most
// serveMaxWaiting of one peer's responses waiting at once (an honest client
// has one blocks request out at a time); beyond either it is refused, as an
// offence. Buckets are kept per peer ID, so reconnecting does not refill
// them.
const (
	serveRequestRate  = 20
	serveRequestBurst = 40
	clientRequestRate = serveRequestRate / 2
	clientBurst       = serveRequestBurst / 2
	serveByteRate     = 4 << 20
	serveByteBurst    = 8 << 20
	serveMaxWait      = time.Second
	serveMaxWaiting   = 2
)

// bucket is a token bucket. Its level may go below zero: a debt that takers
// wait out.
type bucket struct {
	rate, burst float64
	level       float64
	at          time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, level: burst, at: now}
}

func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.level = min(b.burst, b.level+dt*b.rate)
		b.at = now
	}
}

// take takes n tokens if the debt that leaves can be waited out within
// maxWait, and returns the wait; otherwise it takes nothing.
func (b *bucket) take(now time.Time, n float64, maxWait time.Duration) (time.Duration, bool) {
	b.refill(now)
	after := b.level - n
	wait := time.Duration(0)
	if after < 0 {
		wait = time.Duration(-after / b.rate * float64(time.Second))
	}
	if wait > maxWait {
		return 0, false
	}
	b.level = after
	return wait, true
}

// allowance is how many tokens could be taken now with a wait of at most
// maxWait.
func (b *bucket) allowance(now time.Time, maxWait time.Duration) float64 {
	b.refill(now)
	return b.level + b.rate*maxWait.Seconds()
}

// full reports whether the bucket has refilled completely: nothing to
// remember.
func (b *bucket) full(now time.Time) bool {
	b.refill(now)
	return b.level >= b.burst
}

// peerBuckets are one peer's buckets.
type peerBuckets struct {
	requests, bytes *bucket
	waiting         int // responses waiting out a byte debt
}

// rateLimiter holds the per-peer buckets of the sync server. It is safe for
// concurrent use.
type rateLimiter struct {
	now func() time.Time

	mu    sync.Mutex
	peers map[peer.ID]*peerBuckets
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{now: time.Now, peers: make(map[peer.ID]*peerBuckets)}
}

func (rl *rateLimiter) get(p peer.ID, now time.Time) *peerBuckets {
	pb := rl.peers[p]
	if pb == nil {
		if len(rl.peers) >= maxRecords {
			for q, b := range rl.peers {
				if b.requests.full(now) && b.bytes.full(now) {
					delete(rl.peers, q)
				}
			}
		}
		pb = &peerBuckets{requests: newBucket(serveRequestRate, serveRequestBurst, now),
			bytes: newBucket(serveByteRate, serveByteBurst, now)}
		rl.peers[p] = pb
	}
	return pb
}

// request takes one request token; false means the peer is over its rate.
func (rl *rateLimiter) request(p peer.ID) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := rl.now()
	_, ok := rl.get(p, now).requests.take(now, 1, 0)
	return ok
}

// byteAllowance is how many bytes a response to p may have now.
func (rl *rateLimiter) byteAllowance(p peer.ID) int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := rl.now()
	return max(0, int(rl.get(p, now).bytes.allowance(now, serveMaxWait)))
}

// takeBytes takes n bytes of p's allowance and returns how long to wait
// before sending them; false means it would be longer than serveMaxWait, or
// that too many of p's responses wait already. After a wait, the caller
// calls doneWaiting.
func (rl *rateLimiter) takeBytes(p peer.ID, n int) (time.Duration, bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := rl.now()
	pb := rl.get(p, now)
	if pb.waiting >= serveMaxWaiting && pb.bytes.allowance(now, 0) < float64(n) {
		return 0, false
	}
	wait, ok := pb.bytes.take(now, float64(n), serveMaxWait)
	if ok && wait > 0 {
		pb.waiting++
	}
	return wait, ok
}

// doneWaiting ends a wait takeBytes asked for.
func (rl *rateLimiter) doneWaiting(p peer.ID) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if pb := rl.peers[p]; pb != nil && pb.waiting > 0 {
		pb.waiting--
	}
}

// pacer keeps our own requests to each peer within clientRequestRate, so
// that an honest node never meets another's server limit. It is safe for
// concurrent use.
type pacer struct {
	mu    sync.Mutex
	peers map[peer.ID]*bucket
}

func newPacer() *pacer { return &pacer{peers: make(map[peer.ID]*bucket)} }

// wait blocks until a request to p keeps within the rate, or ctx ends.
func (pc *pacer) wait(ctx context.Context, p peer.ID) error {
	pc.mu.Lock()
	now := time.Now()
	b := pc.peers[p]
	if b == nil {
		if len(pc.peers) >= maxRecords {
			for q, x := range pc.peers {
				if x.full(now) {
					delete(pc.peers, q)
				}
			}
		}
		b = newBucket(clientRequestRate, clientBurst, now)
		pc.peers[p] = b
	}
	d, _ := b.take(now, 1, time.Hour)
	pc.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
