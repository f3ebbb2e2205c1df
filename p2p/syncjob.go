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
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	msmux "github.com/multiformats/go-multistream"

	"github.com/minichain/minichain/chain"
)

// A sync job's downloads, and the other requests the sync manager starts:
// each runs in a goroutine the manager owns (syncmgr.go) and talks to it
// through events.

// blocksPerRequest is how many blocks a sync job asks for at once.
const blocksPerRequest = maxBlocksAsked

// syncFrom downloads, headers first, the blocks a peer has beyond our main
// chain, and hands each to the node as it arrives, until the peer has
// nothing more. ignored reports that some blocks were neither taken nor
// invalid.
func (s *syncer) syncFrom(ctx context.Context, p peer.ID) (ignored bool, err error) {
	c := s.hst.cfg.Chain
	for {
		hdrs, err := s.hst.requestHeaders(ctx, p, c.BlockLocator())
		if err != nil {
			return ignored, fmt.Errorf("headers: %w", err)
		}
		if len(hdrs) == 0 {
			return ignored, nil
		}
		height, work, err := s.checkHeaders(hdrs)
		if err != nil {
			return ignored, err
		}
		s.send(ctx, syncEvent{kind: evShown, peer: p, height: height, work: work})
		var need []chain.Hash
		for i := range hdrs {
			if h := hdrs[i].BlockHash(); !c.HaveBlock(h) {
				need = append(need, h)
			}
		}
		if len(need) == 0 {
			return ignored, nil // we have them all; the chain chose by work
		}
		ign, err := s.fetchBlocks(ctx, p, need)
		ignored = ignored || ign
		if err != nil {
			return ignored, err
		}
		if ign {
			return ignored, nil // a block we could not take: asking again would loop
		}
	}
}

// checkHeaders checks that a batch of headers links to a block in our
// index and to each other, and that each meets its own target. It returns
// the height and cumulative work of the last one.
func (s *syncer) checkHeaders(hdrs []chain.Header) (int32, *big.Int, error) {
	parent, err := s.hst.cfg.Chain.BlockInfo(hdrs[0].PrevBlock)
	if err != nil {
		return 0, nil, fault(OffenceInvalidBlock, "headers start from unknown block %s", hdrs[0].PrevBlock)
	}
	work := new(big.Int).Set(parent.WorkSum)
	for i := range hdrs {
		h := hdrs[i].BlockHash()
		if i > 0 && hdrs[i].PrevBlock != hdrs[i-1].BlockHash() {
			return 0, nil, fault(OffenceInvalidBlock, "header %s does not link to the one before", h)
		}
		if err := chain.CheckProofOfWork(h, hdrs[i].Bits, s.hst.cfg.Params.PowLimit); err != nil {
			return 0, nil, fault(OffenceInvalidBlock, "header %s: %v", h, err)
		}
		work.Add(work, chain.CalcWork(hdrs[i].Bits))
	}
	return parent.Height + int32(len(hdrs)), work, nil
}

// fetchBlocks downloads blocks by hash in batches, the next batch in flight
// while the current one is processed, and hands them to the node in order.
func (s *syncer) fetchBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) (ignored bool, err error) {
	type batch struct {
		want   []chain.Hash
		blocks []*chain.Block
		err    error
	}
	fctx, cancel := context.WithCancel(ctx)
	results := make(chan batch, 1)
	var fwg sync.WaitGroup
	defer func() { cancel(); fwg.Wait() }()
	fwg.Go(func() {
		defer close(results)
		for i := 0; i < len(hashes); {
			want := hashes[i:min(i+blocksPerRequest, len(hashes))]
			blocks, err := s.hst.requestBlocks(fctx, p, want)
			select {
			case results <- batch{want: want, blocks: blocks, err: err}:
			case <-fctx.Done():
				return
			}
			if err != nil || len(blocks) == 0 {
				return
			}
			i += len(blocks) // a trimmed answer: ask for the rest next
		}
	})
	rctx := withRequested(ctx)
	for r := range results {
		if r.err != nil {
			return ignored, fmt.Errorf("blocks: %w", r.err)
		}
		if len(r.blocks) == 0 {
			return ignored, fault(OffenceLie, "asked for %d blocks it announced, got none", len(r.want))
		}
		for _, b := range r.blocks {
			out := s.hst.cfg.Handler.HandleBlock(rctx, p, b)
			switch out.Verdict {
			case Reject:
				return ignored, fault(OffenceInvalidBlock, "block %s breaks the rules", b.BlockHash())
			case Accept:
				s.hst.servedUs(p)
			default:
				ignored = ignored || !s.hst.cfg.Chain.HaveBlock(b.BlockHash())
			}
			s.synced.Add(1)
			s.hst.metrics.syncBlocks.Inc()
		}
	}
	return ignored, nil
}

// syncMempool learns a new peer's pending transactions. One at a time: a
// burst of new peers must not make the node hold each one's pool at once.
func (s *syncer) syncMempool(ctx context.Context, p peer.ID) {
	select {
	case s.hst.poolSem <- struct{}{}:
		defer func() { <-s.hst.poolSem }()
	case <-ctx.Done():
		return
	}
	txs, err := s.hst.requestMempool(ctx, p)
	if err != nil {
		if o, ok := offenceOf(err); ok && o != OffenceStall && ctx.Err() == nil {
			s.hst.penalise(p, o, "mempool: "+err.Error())
		}
		s.hst.log.Debug("mempool request failed", "peer", p.String(), "err", err)
		return
	}
	accepted := 0
	for _, tx := range txs {
		switch s.hst.cfg.Handler.HandleTx(ctx, p, tx) {
		case Accept:
			accepted++
		case Reject:
			s.hst.penalise(p, OffenceInvalidTx, "mempool: transaction "+tx.TxHash().String()+" breaks the rules")
			return
		}
	}
	if accepted > 0 {
		s.hst.log.Info("learned pending transactions from a peer", "peer", p.String(), "offered", len(txs), "accepted", accepted)
	}
}

// notOurProtocol reports whether a request failed because the peer does not
// speak this network's sync protocol (another network, or not minichain).
func notOurProtocol(err error) bool {
	return errors.Is(err, msmux.ErrNotSupported[protocol.ID]{})
}

// stalled deals with a peer that did not answer a sync job's request in
// time: it is disconnected, and charged with a stall only if it still
// answers a ping. A peer that cannot be reached at all is a network
// problem (a partition, a dead link), not misbehaviour, and must not end
// up banned from the network it will rejoin.
func (hst *Host) stalled(ctx context.Context, p peer.ID, why string) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	res := <-ping.Ping(network.WithNoDial(pctx, "stall check"), hst.h, p)
	cancel()
	if res.Error == nil {
		hst.penalise(p, OffenceStall, "sync: "+why)
	} else {
		hst.log.Info("sync peer stopped answering and is unreachable; disconnecting", "peer", p.String(), "why", why)
	}
	_ = hst.h.Network().ClosePeer(p)
}

// pingTimeout bounds the ping that tells a staller from a lost peer.
const pingTimeout = 5 * time.Second
