package miner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/miner/sha256d"
)

// checkInterval is how many nonces a worker hashes between two looks at its
// context and the chain tip: about a millisecond or two of work on a fast
// CPU and under 10 ms on this project's slowest measured one (a 2.5 GHz
// Xeon without SHA-NI: portable 0.7–0.9 M nonces/s, AVX2 5–7 M, AVX-512
// 17–21 M per core), so a cancelled or stale search stops within 10 ms.
// Each is a power of two and a multiple of the kernel's lane count.
func checkInterval(k sha256d.Kernel) uint32 {
	switch k {
	case sha256d.AVX512:
		return 1 << 16
	case sha256d.AVX2:
		return 1 << 15
	}
	return 1 << 13
}

// Why a search ended, besides finding a block or its context ending.
var (
	// errStaleTip: the chain tip is no longer the template's parent.
	errStaleTip = errors.New("chain tip moved")
	// errExhausted: every extra nonce of the search space was tried (only
	// reachable with the small search spaces of tests).
	errExhausted = errors.New("search space exhausted")
)

// search is the proof-of-work search over one template, shared read-only
// by its workers. Worker w of workers tries the extra nonces w, w+workers,
// w+2*workers, ..., each with the nonces 0..lastNonce: the workers' search
// spaces are disjoint.
type search struct {
	tmpl      *Template
	kernel    sha256d.Kernel       // resolved: never Auto
	target    [chain.HashSize]byte // little-endian, as a block hash
	workers   int
	lastNonce uint32 // math.MaxUint32 outside tests
	// extraNonces bounds the extra nonces tried by all workers together;
	// 0 means no bound (2^64).
	extraNonces uint64
	// stale reports whether the template's parent is no longer the tip;
	// nil never.
	stale func() bool
	// hashes counts the headers hashed; workers add to it every
	// checkInterval(kernel) nonces and when they stop.
	hashes *atomic.Uint64
	// visit, for tests only, sees every header hashed; nil in production.
	visit func(worker int, header *[chain.HeaderSize]byte)
}

// work runs worker w until it finds a block, its context ends (the error is
// the context's), the tip moves (errStaleTip) or its search space is
// exhausted (errExhausted).
func (s *search) work(ctx context.Context, w int) (*chain.Block, error) {
	sc, err := sha256d.New(s.kernel)
	if err != nil {
		return nil, err
	}
	step := uint64(s.workers)
	for en := uint64(w); s.extraNonces == 0 || en < s.extraNonces; en += step {
		hdr, err := s.tmpl.Header(en)
		if err != nil {
			return nil, err
		}
		var raw [chain.HeaderSize]byte
		hdr.AppendTo(raw[:0])
		if err := sc.Reset(&raw, &s.target); err != nil {
			return nil, err
		}
		batch := checkInterval(sc.Kernel())
		for lo := uint32(0); ; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if s.stale != nil && s.stale() {
				return nil, errStaleTip
			}
			hi := lo | (batch - 1)
			if hi > s.lastNonce {
				hi = s.lastNonce
			}
			nonce, found, err := sc.Scan(lo, hi)
			if err != nil {
				return nil, err
			}
			if s.visit != nil {
				s.visitRange(w, &raw, lo, nonce)
			}
			s.hashes.Add(uint64(nonce-lo) + 1)
			if found {
				return s.solved(en, nonce)
			}
			if hi == s.lastNonce {
				break // nonce space used up: next extra nonce
			}
			lo = hi + 1
		}
		if en > math.MaxUint64-step {
			break
		}
	}
	return nil, errExhausted
}

// solved builds the block a worker found and checks its proof of work the
// slow way, so a bug in the fast path cannot submit a bad block.
func (s *search) solved(extraNonce uint64, nonce uint32) (*chain.Block, error) {
	b, err := s.tmpl.Block(extraNonce, nonce)
	if err != nil {
		return nil, err
	}
	if err := chain.CheckProofOfWork(b.BlockHash(), b.Header.Bits, s.tmpl.params.PowLimit); err != nil {
		return nil, fmt.Errorf("miner: solution does not check: %w", chain.AssertError(err.Error()))
	}
	return b, nil
}

// visitRange shows the test hook the headers with the nonces lo..last, the
// ones a Scan call reported hashing.
func (s *search) visitRange(w int, raw *[chain.HeaderSize]byte, lo, last uint32) {
	h := *raw
	for n := lo; ; n++ {
		binary.LittleEndian.PutUint32(h[76:], n)
		s.visit(w, &h)
		if n == last {
			return
		}
	}
}
