package p2p

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

// Blocks wanted by hash. A block is wanted when a peer sent a damaged copy
// of it (its header is valid, its body is not: the real block may exist)
// and when gossip dropped it before validation (the validation queue was
// throttled). It is then fetched over the sync protocol: first from the
// peers that announced it (sent a copy, or report it as their tip), then
// from every other peer, never from one that sent a damaged copy, in rounds
// with a growing pause until the block is ours or wantTries rounds failed.

const (
	// maxWanted bounds the blocks fetched by hash at once.
	maxWanted = 16
	// wantTries is how many rounds a wanted block is asked for.
	wantTries = 6
	// wantPause is the pause after the first round; it doubles.
	wantPause = 500 * time.Millisecond
)

// wantedBlock is a block being fetched by hash: who announced it. Its
// owner is the fetching goroutine; the sync loop adds announcers.
type wantedBlock struct {
	mu   sync.Mutex
	good []peer.ID        // announcers, in order
	bad  map[peer.ID]bool // peers that sent a damaged copy
}

func newWantedBlock() *wantedBlock { return &wantedBlock{bad: make(map[peer.ID]bool)} }

// announce records that p announced the block, or sent a damaged copy.
func (w *wantedBlock) announce(p peer.ID, damaged bool) {
	if p == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case damaged:
		w.bad[p] = true
	case !slices.Contains(w.good, p):
		w.good = append(w.good, p)
	}
}

// candidates returns whom to ask, announcers first.
func (w *wantedBlock) candidates(connected []peer.ID) []peer.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]peer.ID, 0, len(connected))
	for _, p := range w.good {
		if !w.bad[p] && slices.Contains(connected, p) {
			out = append(out, p)
		}
	}
	for _, p := range connected {
		if !w.bad[p] && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// fetchWanted fetches a wanted block until it is ours.
func (s *syncer) fetchWanted(ctx context.Context, h chain.Hash, w *wantedBlock) {
	c := s.hst.cfg.Chain
	rctx := withRequested(ctx)
	pause := wantPause
	for try := 0; try < wantTries; try++ {
		for _, p := range w.candidates(s.hst.h.Network().Peers()) {
			if c.HaveBlock(h) || ctx.Err() != nil {
				return
			}
			blocks, err := s.hst.requestBlocks(ctx, p, []chain.Hash{h})
			if err != nil {
				if o, ok := offenceOf(err); ok && o != OffenceStall && ctx.Err() == nil {
					s.hst.penalise(p, o, "block by hash: "+err.Error())
				}
				continue
			}
			if len(blocks) == 0 {
				continue // it does not have it (yet)
			}
			switch s.hst.cfg.Handler.HandleBlock(rctx, p, blocks[0]).Verdict {
			case Accept:
				s.hst.servedUs(p)
				return
			case Reject:
				s.hst.penalise(p, OffenceInvalidBlock, "block by hash "+h.String()+" breaks the rules")
				w.announce(p, true)
			}
		}
		if c.HaveBlock(h) {
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause *= 2
	}
	s.hst.log.Info("a wanted block could not be fetched from any peer", "hash", h)
}
