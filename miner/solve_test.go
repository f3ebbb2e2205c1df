package miner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/miner/sha256d"
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
// nonces, nonces 0..999) with a target no hash meets and checks, on each
// kernel, that every header was hashed exactly once, by the worker that
// owns its extra nonce.
func TestSearchDisjoint(t *testing.T) {
	for _, k := range kernels(t) {
		t.Run(k.String(), func(t *testing.T) { testSearchDisjoint(t, k) })
	}
}

func testSearchDisjoint(t *testing.T, k sha256d.Kernel) {
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
		tmpl: tmpl, kernel: k, target: *impossible, workers: workers, lastNonce: nonces - 1,
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

// kernels returns every kernel this CPU supports, for tests of each.
func kernels(t testing.TB) []sha256d.Kernel {
	var ks []sha256d.Kernel
	for _, k := range sha256d.Kernels() {
		if k.Supported() {
			ks = append(ks, k)
		} else {
			t.Logf("kernel %v not supported by this CPU: not tested", k)
		}
	}
	return ks
}

// TestScanMatchesBlockHash checks each kernel's midstate hashing and target
// comparison against chain.Header.BlockHash: with the target set to the
// smallest hash among nonces 0..199, Scan must stop exactly there, and with
// a target one below it, never.
func TestScanMatchesBlockHash(t *testing.T) {
	tmpl := regtestTemplate(t)
	for _, k := range kernels(t) {
		sc, err := sha256d.New(k)
		if err != nil {
			t.Fatal(err)
		}
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
			target := [chain.HashSize]byte(best)
			if err := sc.Reset(&raw, &target); err != nil {
				t.Fatal(err)
			}
			n, found, err := sc.Scan(0, 199)
			if err != nil || !found || n != bestNonce {
				t.Errorf("%v, extra nonce %d: scan = %d, %v, %v; want nonce %d", k, en, n, found, err, bestNonce)
			}
			for i := range target { // target - 1
				if target[i] > 0 {
					target[i]--
					break
				}
				target[i] = 0xff
			}
			if err := sc.Reset(&raw, &target); err != nil {
				t.Fatal(err)
			}
			if n, found, err := sc.Scan(0, 199); found || n != 199 || err != nil {
				t.Errorf("%v, extra nonce %d: below the best hash, scan = %d, %v, %v; want 199, false", k, en, n, found, err)
			}
		}
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
