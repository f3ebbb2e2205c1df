package hostile

import (
	"math/big"
	"sync"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/p2p"
)

// A Responder answers the sync requests a node sends a hostile peer. It
// returns the response message (type byte first), or nil to reset the
// stream without answering.
type Responder interface {
	Respond(typ byte, body []byte) []byte
}

// ChainServer answers like an honest node that has the chain up to a base
// tip plus the blocks it was given: status, headers following a locator
// and blocks by hash; its mempool is empty. Every hostile peer needs at
// least this much (a node drops a peer whose status it cannot get). With
// Announce off, its status keeps reporting the base tip while it serves
// the blocks it holds on request: a relay that gossips a block without
// claiming it.
type ChainServer struct {
	params *chain.Params

	mu       sync.Mutex
	base     Tip
	blocks   []*chain.Block // building on base, in order
	byHash   map[chain.Hash]int
	tip      Tip
	announce bool
}

// NewChainServer serves the chain up to base, announcing what it holds.
func NewChainServer(p *chain.Params, base Tip) *ChainServer {
	return &ChainServer{params: p, base: base, tip: base, byHash: map[chain.Hash]int{}, announce: true}
}

// Add appends blocks, each building on the one before (the first on the
// base or the last block added).
func (s *ChainServer) Add(bs ...*chain.Block) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		s.byHash[b.BlockHash()] = len(s.blocks)
		s.blocks = append(s.blocks, b)
		s.tip = s.tip.Next(b)
	}
}

// SetAnnounce says whether the status reports the blocks added (true) or
// only the base tip.
func (s *ChainServer) SetAnnounce(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.announce = on
}

// Tip is the tip of the served chain.
func (s *ChainServer) Tip() Tip {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tip
}

// Respond implements Responder.
func (s *ChainServer) Respond(typ byte, body []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case MsgStatus:
		t := s.base
		if s.announce {
			t = s.tip
		}
		return statusOf(s.params, t)
	case MsgGetHeaders:
		loc, _, err := DecodeHashes(body, MaxLocator)
		if err != nil {
			return errorMsg(err.Error())
		}
		start := -1
		for _, h := range loc {
			if h == s.base.Hash {
				start = 0
				break
			}
			if i, ok := s.byHash[h]; ok {
				start = i + 1
				break
			}
		}
		var hs []chain.Header
		for i := max(start, 0); start >= 0 && i < len(s.blocks) && len(hs) < MaxHeaders; i++ {
			hs = append(hs, s.blocks[i].Header)
		}
		return EncodeHeaders(hs)
	case MsgGetBlocks:
		want, _, err := DecodeHashes(body, MaxBlocksAsked)
		if err != nil {
			return errorMsg(err.Error())
		}
		var raws [][]byte
		size := 0
		for _, h := range want {
			i, ok := s.byHash[h]
			if !ok || size > 8<<20 {
				break
			}
			raw := s.blocks[i].Serialize()
			raws = append(raws, raw)
			size += len(raw)
		}
		return EncodeRaws(MsgBlocks, raws)
	}
	return emptyAnswer(typ)
}

// Liar claims a chain of Height blocks and Work cumulative work, and
// serves nothing of it: every headers request gets an empty answer, every
// blocks request no blocks.
type Liar struct {
	Params *chain.Params
	Height int32
	Work   *big.Int
}

// Respond implements Responder.
func (l Liar) Respond(typ byte, _ []byte) []byte {
	if typ == MsgStatus {
		return statusOf(l.Params, Tip{Hash: chain.Hash{0x1e}, Height: l.Height, Work: l.Work})
	}
	return emptyAnswer(typ)
}

// Silent never answers: every request's stream is reset. A node that asks
// a Silent peer for its status drops it.
type Silent struct{}

// Respond implements Responder.
func (Silent) Respond(byte, []byte) []byte { return nil }

func statusOf(p *chain.Params, t Tip) []byte {
	w := t.Work
	if w == nil {
		w = new(big.Int)
	}
	return p2p.EncodeStatus(p2p.Status{Genesis: p.GenesisHash, Tip: t.Hash, Height: t.Height, Work: w})
}

// emptyAnswer is the well-formed empty answer to a request: no headers, no
// blocks, no transactions, an acknowledged push.
func emptyAnswer(typ byte) []byte {
	switch typ {
	case MsgGetHeaders:
		return []byte{MsgHeaders, 0}
	case MsgGetBlocks:
		return []byte{MsgBlocks, 0}
	case MsgGetMempool:
		return []byte{MsgTxs, 0}
	case MsgPushTxs:
		return []byte{MsgAck}
	}
	return errorMsg("unknown request")
}

func errorMsg(s string) []byte {
	b := chain.AppendCompactSize([]byte{MsgError}, uint64(len(s)))
	return append(b, s...)
}
