package miner

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"sync/atomic"

	"github.com/minichain/minichain/chain"
)

// checkInterval is how many nonces a worker hashes between two looks at its
// context and the chain tip. At a few million nonces per second per core it
// is a few milliseconds of work, well inside the 100 ms a stale template may
// live after it is cancelled.
const checkInterval = 1 << 16

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
	// checkInterval nonces and when they stop.
	hashes *atomic.Uint64
	// visit, for tests only, sees every header hashed; nil in production.
	visit func(worker int, header *[chain.HeaderSize]byte)
}

// work runs worker w until it finds a block, its context ends (the error is
// the context's), the tip moves (errStaleTip) or its search space is
// exhausted (errExhausted).
func (s *search) work(ctx context.Context, w int) (*chain.Block, error) {
	hs, err := newHasher()
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
		if err := hs.setHeader(&raw); err != nil {
			return nil, err
		}
		var visit func(*[chain.HeaderSize]byte)
		if s.visit != nil {
			visit = func(h *[chain.HeaderSize]byte) { s.visit(w, h) }
		}
		for lo := uint32(0); ; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if s.stale != nil && s.stale() {
				return nil, errStaleTip
			}
			hi := lo | (checkInterval - 1)
			if hi > s.lastNonce {
				hi = s.lastNonce
			}
			nonce, found, err := hs.scan(lo, hi, &s.target, visit)
			if err != nil {
				return nil, err
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

// hasher is one worker's SHA-256d state for a header. The first 64 bytes
// (version, previous block, most of the Merkle root) do not change with the
// nonce, so they are hashed once and the digest's state is kept (the
// midstate); each nonce then costs two compressions: the last 16 header
// bytes with their padding, and the 32-byte first hash with its padding.
//
// Two ways to run those compressions through crypto/sha256, with the same
// buffers:
//
//   - the padded path (used when its self-test passes): the hasher pads
//     both messages itself, once, so each Write is exactly one 64-byte block
//     that the digest compresses in place, and reads the result from the
//     digest's saved state (AppendBinary) instead of calling Sum, which
//     copies the digest and pads again. This depends on the layout of the
//     saved state, which crypto/sha256 does not document: newHasher checks
//     it against sha256.Sum256 and falls back when it differs.
//   - the Sum path: restore the midstate, Write the 16 bytes, Sum, then
//     sha256.Sum256 of the first hash.
type hasher struct {
	d      hash.Hash
	u      encoding.BinaryUnmarshaler
	m      encoding.BinaryMarshaler
	a      encoding.BinaryAppender // nil when the digest has no AppendBinary
	padded bool                    // use the padded path
	state  []byte                  // the marshalled midstate
	out    []byte                  // AppendBinary's buffer, reused
	head   [64]byte                // header bytes 0..63 (for visit)
	// block1 is header bytes 64..79 (the nonce is 76..79, block1[12:16])
	// then SHA-256 padding for an 80-byte message; the Sum path writes
	// block1[:16] only.
	block1 [64]byte
	// block2 is the first hash then SHA-256 padding for a 32-byte
	// message; the Sum path uses block2[:32] only.
	block2 [64]byte
}

// savedStateHash is where the chaining value h0..h7 (big-endian) sits in
// the saved state of a crypto/sha256 digest: after a 4-byte magic. After
// a whole number of blocks it is the hash of the padded message.
const savedStateHash = 4

// newHasher returns a hasher over crypto/sha256, whose digest must be able
// to save and restore its state. It picks the padded path if it computes
// the same hashes as sha256.Sum256 on this build.
func newHasher() (*hasher, error) {
	d := sha256.New()
	u, ok1 := d.(encoding.BinaryUnmarshaler)
	m, ok2 := d.(encoding.BinaryMarshaler)
	if !ok1 || !ok2 {
		return nil, errors.New("miner: this SHA-256 implementation cannot save its state")
	}
	h := &hasher{d: d, u: u, m: m, out: make([]byte, 0, 128)}
	h.a, _ = d.(encoding.BinaryAppender)
	// Padding: a 1 bit, zeros, then the message length in bits.
	h.block1[16] = 0x80
	binary.BigEndian.PutUint64(h.block1[56:], chain.HeaderSize*8)
	h.block2[sha256.Size] = 0x80
	binary.BigEndian.PutUint64(h.block2[56:], sha256.Size*8)
	h.padded = h.a != nil && h.selfTest()
	return h, nil
}

// selfTest checks the padded path against chain.DoubleSHA256 on a few
// headers and nonces: scan must meet a target equal to the true hash, and
// not one below it.
func (h *hasher) selfTest() bool {
	h.padded = true
	defer func() { h.padded = false }()
	for i := range 3 {
		var raw [chain.HeaderSize]byte
		for j := range raw {
			raw[j] = byte(31*i + 7*j)
		}
		if h.setHeader(&raw) != nil {
			return false
		}
		nonce := uint32(0x9e3779b9 * (i + 1))
		binary.LittleEndian.PutUint32(raw[76:], nonce)
		want := [chain.HashSize]byte(chain.DoubleSHA256(raw[:]))
		if _, ok, err := h.scan(nonce, nonce, &want, nil); !ok || err != nil {
			return false
		}
		below, borrow := want, true
		for j := 0; borrow && j < len(below); j++ {
			below[j]--
			borrow = below[j] == 0xff
		}
		if borrow { // the hash is zero: nothing is below it
			continue
		}
		if _, ok, err := h.scan(nonce, nonce, &below, nil); ok || err != nil {
			return false
		}
	}
	return true
}

// setHeader takes a new header: it hashes the first 64 bytes and saves the
// midstate.
func (h *hasher) setHeader(raw *[chain.HeaderSize]byte) error {
	copy(h.head[:], raw[:64])
	copy(h.block1[:16], raw[64:])
	h.d.Reset()
	h.d.Write(h.head[:])
	st, err := h.m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("miner: save SHA-256 midstate: %w", err)
	}
	h.state = st
	return nil
}

// scan hashes the header with every nonce from lo to hi and stops at the
// first whose hash meets target. It returns the last nonce hashed and
// whether it meets the target. It allocates nothing (visit aside).
func (h *hasher) scan(lo, hi uint32, target *[chain.HashSize]byte, visit func(*[chain.HeaderSize]byte)) (uint32, bool, error) {
	if h.padded {
		return h.scanPadded(lo, hi, target, visit)
	}
	return h.scanSum(lo, hi, target, visit)
}

// visitHeader shows the header with the current nonce to a test hook.
func (h *hasher) visitHeader(visit func(*[chain.HeaderSize]byte)) {
	var full [chain.HeaderSize]byte
	copy(full[:64], h.head[:])
	copy(full[64:], h.block1[:16])
	visit(&full)
}

// scanPadded is scan on the padded path.
func (h *hasher) scanPadded(lo, hi uint32, target *[chain.HashSize]byte, visit func(*[chain.HeaderSize]byte)) (uint32, bool, error) {
	const end = savedStateHash + sha256.Size
	for n := lo; ; n++ {
		binary.LittleEndian.PutUint32(h.block1[12:], n)
		if visit != nil {
			h.visitHeader(visit)
		}
		if err := h.u.UnmarshalBinary(h.state); err != nil {
			return n, false, fmt.Errorf("miner: restore SHA-256 midstate: %w", err)
		}
		h.d.Write(h.block1[:]) // one block, compressed in place
		st, err := h.a.AppendBinary(h.out[:0])
		if err != nil || len(st) < end {
			return n, false, fmt.Errorf("miner: read SHA-256 state: %d bytes, %v", len(st), err)
		}
		copy(h.block2[:sha256.Size], st[savedStateHash:end])
		h.d.Reset()
		h.d.Write(h.block2[:])
		st, err = h.a.AppendBinary(h.out[:0])
		if err != nil || len(st) < end {
			return n, false, fmt.Errorf("miner: read SHA-256 state: %d bytes, %v", len(st), err)
		}
		sum := (*[chain.HashSize]byte)(st[savedStateHash:end])
		// Fast reject on the most significant byte, which is all a
		// hash needs to fail nearly every time.
		if sum[chain.HashSize-1] <= target[chain.HashSize-1] && meetsTarget(sum, target) {
			return n, true, nil
		}
		if n == hi {
			return n, false, nil
		}
	}
}

// scanSum is scan on the Sum path.
func (h *hasher) scanSum(lo, hi uint32, target *[chain.HashSize]byte, visit func(*[chain.HeaderSize]byte)) (uint32, bool, error) {
	for n := lo; ; n++ {
		binary.LittleEndian.PutUint32(h.block1[12:], n)
		if visit != nil {
			h.visitHeader(visit)
		}
		if err := h.u.UnmarshalBinary(h.state); err != nil {
			return n, false, fmt.Errorf("miner: restore SHA-256 midstate: %w", err)
		}
		h.d.Write(h.block1[:16])
		h.d.Sum(h.block2[:0]) // the first hash, into block2[:32]
		sum := sha256.Sum256(h.block2[:sha256.Size])
		if sum[chain.HashSize-1] <= target[chain.HashSize-1] && meetsTarget(&sum, target) {
			return n, true, nil
		}
		if n == hi {
			return n, false, nil
		}
	}
}

// meetsTarget reports whether hash <= target, both 256-bit little-endian
// numbers, comparing from the most significant byte.
func meetsTarget(hash, target *[chain.HashSize]byte) bool {
	for i := chain.HashSize - 1; i >= 0; i-- {
		if hash[i] != target[i] {
			return hash[i] < target[i]
		}
	}
	return true
}
