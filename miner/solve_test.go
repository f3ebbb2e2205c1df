package miner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
)

func regtestTemplate(t testing.TB) *Template {
	t.Helper()
	c, _ := newChain(t, chain.RegtestParams)
	tmpl, err := NewTemplate(chain.RegtestParams, c, nil, minerKey.Script, time.Now())
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	return tmpl
}

// TestSearchDisjoint runs 4 workers over a small search space (8 extra
// nonces, nonces 0..999) with a target no hash meets and checks that every
// header was hashed exactly once, by the worker that owns its extra nonce.
func TestSearchDisjoint(t *testing.T) {
	const workers, extraNonces, nonces = 4, 8, 1000
	tmpl := regtestTemplate(t)
	owner := map[chain.Hash]uint64{} // Merkle root -> extra nonce
	for en := uint64(0); en < extraNonces; en++ {
		h, err := tmpl.Header(en)
		if err != nil {
			t.Fatal(err)
		}
		owner[h.MerkleRoot] = en
	}

	var (
		mu     sync.Mutex
		seen   = map[[chain.HeaderSize]byte]int{} // header -> worker
		hashes atomic.Uint64
	)
	s := &search{
		tmpl: tmpl, target: *impossible, workers: workers, lastNonce: nonces - 1,
		extraNonces: extraNonces, hashes: &hashes,
		visit: func(w int, h *[chain.HeaderSize]byte) {
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := seen[*h]; dup {
				t.Errorf("workers %d and %d both hashed header %x", prev, w, h[:])
			}
			seen[*h] = w
		},
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			b, err := s.work(context.Background(), w)
			if b != nil || !errors.Is(err, errExhausted) {
				t.Errorf("worker %d: block %v, error %v; want errExhausted", w, b, err)
			}
		})
	}
	wg.Wait()

	if want := extraNonces * nonces; len(seen) != want || hashes.Load() != uint64(want) {
		t.Fatalf("%d distinct headers, %d counted; want %d", len(seen), hashes.Load(), want)
	}
	perExtra := map[uint64]map[uint32]bool{}
	for raw, w := range seen {
		h, err := chain.DecodeHeader(raw[:])
		if err != nil {
			t.Fatal(err)
		}
		en, ok := owner[h.MerkleRoot]
		if !ok {
			t.Fatalf("header with an unknown Merkle root %s", h.MerkleRoot)
		}
		if int(en%workers) != w {
			t.Errorf("worker %d hashed extra nonce %d, which belongs to worker %d", w, en, en%workers)
		}
		if h.PrevBlock != tmpl.PrevBlock() || h.Bits != tmpl.Bits() || h.Timestamp != tmpl.Timestamp() {
			t.Errorf("header %+v does not match the template", h)
		}
		if perExtra[en] == nil {
			perExtra[en] = map[uint32]bool{}
		}
		perExtra[en][h.Nonce] = true
	}
	for en := uint64(0); en < extraNonces; en++ {
		got := perExtra[en]
		for n := uint32(0); n < nonces; n++ {
			if !got[n] {
				t.Fatalf("extra nonce %d: nonce %d never hashed", en, n)
			}
		}
	}
}

// hasherPaths returns a hasher on each path, for tests of both.
func hasherPaths(t testing.TB) map[string]*hasher {
	t.Helper()
	padded, err := newHasher()
	if err != nil {
		t.Fatal(err)
	}
	if !padded.padded {
		t.Errorf("the padded path's self-test failed with this Go version: mining falls back to the slower Sum path")
	}
	sum, err := newHasher()
	if err != nil {
		t.Fatal(err)
	}
	sum.padded = false
	return map[string]*hasher{"padded": padded, "sum": sum}
}

// TestScanMatchesBlockHash checks the midstate hashing and the target
// comparison of both paths against chain.Header.BlockHash: with the target
// set to the smallest hash among nonces 0..199, scan must stop exactly
// there, and with a target one below it, never.
func TestScanMatchesBlockHash(t *testing.T) {
	tmpl := regtestTemplate(t)
	for name, hs := range hasherPaths(t) {
		for _, en := range []uint64{0, 5, 1 << 33} {
			hdr, err := tmpl.Header(en)
			if err != nil {
				t.Fatal(err)
			}
			var best chain.Hash
			var bestNonce uint32
			for n := uint32(0); n < 200; n++ {
				hdr.Nonce = n
				h := hdr.BlockHash()
				if n == 0 || chain.HashToBig(h).Cmp(chain.HashToBig(best)) < 0 {
					best, bestNonce = h, n
				}
			}
			hdr.Nonce = 0
			var raw [chain.HeaderSize]byte
			hdr.AppendTo(raw[:0])
			if err := hs.setHeader(&raw); err != nil {
				t.Fatal(err)
			}
			target := [chain.HashSize]byte(best)
			n, found, err := hs.scan(0, 199, &target, nil)
			if err != nil || !found || n != bestNonce {
				t.Errorf("%s, extra nonce %d: scan = %d, %v, %v; want nonce %d", name, en, n, found, err, bestNonce)
			}
			for i := range target { // target - 1
				if target[i] > 0 {
					target[i]--
					break
				}
				target[i] = 0xff
			}
			if n, found, err := hs.scan(0, 199, &target, nil); found || n != 199 || err != nil {
				t.Errorf("%s, extra nonce %d: below the best hash, scan = %d, %v, %v; want 199, false", name, en, n, found, err)
			}
		}
	}
}

func TestScanAllocatesNothing(t *testing.T) {
	tmpl := regtestTemplate(t)
	hdr, _ := tmpl.Header(0)
	var raw [chain.HeaderSize]byte
	hdr.AppendTo(raw[:0])
	for name, hs := range hasherPaths(t) {
		if err := hs.setHeader(&raw); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, found, _ := hs.scan(0, 999, impossible, nil); found {
				t.Error("found a hash of zero")
			}
		})
		switch {
		case allocs != 0 && raceEnabled && name == "padded":
			// The race detector's instrumentation turns off the
			// compiler's no-allocation append(b, make(...)...) in
			// AppendBinary.
			t.Logf("%s: %v allocations per 1000 nonces under the race detector", name, allocs)
		case allocs != 0:
			t.Errorf("%s: %v allocations per 1000 nonces, want 0", name, allocs)
		}
	}
}

func TestMeetsTarget(t *testing.T) {
	le := func(hi, lo byte) *[chain.HashSize]byte { // most and least significant bytes
		var h [chain.HashSize]byte
		h[chain.HashSize-1], h[0] = hi, lo
		return &h
	}
	tests := []struct {
		name         string
		hash, target *[chain.HashSize]byte
		want         bool
	}{
		{"equal", le(1, 1), le(1, 1), true},
		{"below in the low byte", le(1, 0), le(1, 1), true},
		{"above in the low byte", le(1, 2), le(1, 1), false},
		{"above in the high byte, below in the low", le(2, 0), le(1, 9), false},
		{"below in the high byte, above in the low", le(0, 9), le(1, 0), true},
		{"zero target", le(0, 1), le(0, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := meetsTarget(tc.hash, tc.target); got != tc.want {
				t.Fatalf("meetsTarget = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSearchStale checks that a worker gives up on a stale tip at its first
// check, and on a cancelled context.
func TestSearchStale(t *testing.T) {
	tmpl := regtestTemplate(t)
	var hashes atomic.Uint64
	s := &search{tmpl: tmpl, target: *impossible, workers: 1, lastNonce: ^uint32(0),
		hashes: &hashes, stale: func() bool { return true }}
	if _, err := s.work(context.Background(), 0); !errors.Is(err, errStaleTip) {
		t.Fatalf("stale tip: %v, want errStaleTip", err)
	}
	s.stale = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.work(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
}
