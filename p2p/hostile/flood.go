package hostile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/p2p"
)

// StreamFlood opens sync streams that each declare a large request and send
// most of it, then hold the stream open; a stream the node closes or resets
// is opened again at once. A node that allocates a request's buffer from
// its declared length, or reserves nothing per stream, holds Streams ×
// Declared bytes for as long as the flood lasts.
type StreamFlood struct {
	Streams  int // streams kept open at once
	Declared int // the length prefix each request declares
	Send     int // bytes of it actually sent (type byte included)
}

// FloodStats counts what a flood did.
type FloodStats struct {
	Opened   uint64 // streams (or requests) that got their bytes out
	Failed   uint64 // opens or writes (or requests) that failed
	PeakOpen int64  // most streams held open at once
	Bytes    uint64 // bytes received back (request floods)
}

// Run floods target from p until ctx ends, then resets every stream it
// holds. It returns when all its goroutines have stopped.
func (f StreamFlood) Run(ctx context.Context, p *Peer, target peer.ID) FloodStats {
	var (
		opened, failed atomic.Uint64
		open, peak     atomic.Int64
		wg             sync.WaitGroup
	)
	frame := binary.AppendUvarint(nil, uint64(f.Declared))
	frame = append(frame, MsgPushTxs)
	frame = append(frame, make([]byte, max(f.Send-1, 0))...)
	for i := 0; i < f.Streams; i++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := holdOne(ctx, p, target, frame, &open, &peak); err != nil {
					failed.Add(1)
					select {
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
					continue
				}
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	return FloodStats{Opened: opened.Load(), Failed: failed.Load(), PeakOpen: peak.Load()}
}

// holdOne opens one stream, writes frame and waits until the node ends the
// stream or ctx ends.
func holdOne(ctx context.Context, p *Peer, target peer.ID, frame []byte, open, peak *atomic.Int64) error {
	s, err := p.Host.NewStream(ctx, target, protocol.ID(p2p.SyncProtocol(p.params)))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	defer s.Reset()
	if _, err := s.Write(frame); err != nil {
		return err
	}
	n := open.Add(1)
	defer open.Add(-1)
	for {
		old := peak.Load()
		if n <= old || peak.CompareAndSwap(old, n) {
			break
		}
	}
	var one [1]byte
	_, _ = s.Read(one[:]) // returns when the node answers, closes or resets
	return nil
}

// RequestFlood sends the same legal request over and over from Workers
// concurrent streams, reading each response in full: the most a node
// serves one peer when nothing limits the rate.
type RequestFlood struct {
	Workers int
	Request []byte
}

// Run floods target until ctx ends.
func (f RequestFlood) Run(ctx context.Context, p *Peer, target peer.ID) FloodStats {
	var (
		ok, failed, bytes atomic.Uint64
		wg                sync.WaitGroup
	)
	for i := 0; i < f.Workers; i++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := p.Request(ctx, target, f.Request)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						select {
						case <-ctx.Done():
						case <-time.After(50 * time.Millisecond):
						}
					}
					continue
				}
				ok.Add(1)
				bytes.Add(uint64(len(resp)))
			}
		})
	}
	wg.Wait()
	return FloodStats{Opened: ok.Load(), Failed: failed.Load(), Bytes: bytes.Load()}
}

// Swarm is many hostile peers, each a distinct identity, for floods of
// identities.
type Swarm []*Peer

// NewSwarm starts n peers; listen(i) gives peer i's listen multiaddr (so
// the swarm can come from several addresses). On error the peers started
// so far are closed.
func NewSwarm(p *chain.Params, n int, listen func(i int) string, r Responder) (Swarm, error) {
	s := make(Swarm, 0, n)
	for i := 0; i < n; i++ {
		pr, err := NewPeer(PeerConfig{Params: p, Listen: listen(i), Responder: r})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("hostile: swarm peer %d: %w", i, err)
		}
		s = append(s, pr)
	}
	return s, nil
}

// Close stops every peer of the swarm.
func (s Swarm) Close() error {
	var errs []error
	for _, p := range s {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Connected is how many of the swarm's peers are connected to id.
func (s Swarm) Connected(id peer.ID) int {
	n := 0
	for _, p := range s {
		if p.Connected(id) {
			n++
		}
	}
	return n
}

// KeepConnected keeps every peer of the swarm connected to ai, redialling
// each one every interval after it drops, until ctx ends. It returns the
// total redials and failed redials.
func (s Swarm) KeepConnected(ctx context.Context, ai peer.AddrInfo, interval time.Duration) (redials, failed int) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i, p := range s {
		wg.Go(func() {
			// Spread the peers' dials over the interval, as
			// independent attackers would.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(i) * interval / time.Duration(len(s))):
			}
			r, f := p.KeepConnected(ctx, ai, interval)
			mu.Lock()
			redials, failed = redials+r, failed+f
			mu.Unlock()
		})
	}
	wg.Wait()
	return redials, failed
}
