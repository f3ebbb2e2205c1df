package chain

import (
	"fmt"
	"math/big"
	"testing"
	"time"
)

// bitcoinParams are Bitcoin mainnet's difficulty parameters: the rule must
// reproduce Bitcoin's bits bit for bit with them.
func bitcoinParams() *Params {
	p := &Params{Name: "bitcoin", PowLimitBits: 0x1d00ffff, RetargetInterval: 2016,
		TargetTimespan: 1209600 * time.Second, TargetSpacing: 600 * time.Second, RetargetAdjustmentFactor: 4}
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 224), big.NewInt(1))
	return p
}

// sparseCtx is a HeaderCtx over the real headers we have: only the heights
// present in the map exist.
type sparseCtx struct {
	height int32
	h      Header
	all    map[int32]Header
}

func (s *sparseCtx) Height() int32    { return s.height }
func (s *sparseCtx) Bits() uint32     { return s.h.Bits }
func (s *sparseCtx) Timestamp() int64 { return int64(s.h.Timestamp) }
func (s *sparseCtx) Parent() HeaderCtx {
	return s.RelativeAncestor(1)
}
func (s *sparseCtx) RelativeAncestor(d int32) HeaderCtx {
	h, ok := s.all[s.height-d]
	if !ok {
		return nil
	}
	return &sparseCtx{height: s.height - d, h: h, all: s.all}
}

type headersFile struct {
	CorePowTests []struct {
		Name             string `json:"name"`
		FirstBlockHeight *int32 `json:"first_block_height"`
		FirstBlockTime   int64  `json:"first_block_time"`
		LastBlockHeight  int32  `json:"last_block_height"`
		LastBlockTime    int64  `json:"last_block_time"`
		LastBits         string `json:"last_bits"`
		ExpectedNextBits string `json:"expected_next_bits"`
	} `json:"core_pow_tests"`
	Run30240 []struct {
		Height    int32  `json:"height"`
		HeaderHex string `json:"header_hex"`
	} `json:"run_30240_to_32256"`
	Run0 []struct {
		Height    int32  `json:"height"`
		HeaderHex string `json:"header_hex"`
	} `json:"run_0_to_2016"`
	Boundaries []struct {
		Start      int32  `json:"period_start_height"`
		FirstHex   string `json:"first_header_hex"`
		WorkFirst  string `json:"chainwork_at_first"`
		LastHeight int32  `json:"last_height"`
		LastHex    string `json:"last_header_hex"`
		WorkLast   string `json:"chainwork_at_last"`
	} `json:"retarget_boundaries"`
}

// TestRetargetBitcoinBoundaries reproduces the bits of every one of Bitcoin's
// 413 retargets from the first and last header of the period before it, and
// checks the chainwork sums.
func TestRetargetBitcoinBoundaries(t *testing.T) {
	var f headersFile
	loadJSON(t, "headers.json", &f)
	p := bitcoinParams()
	checked := 0
	for i := 0; i+1 < len(f.Boundaries); i++ {
		b, next := f.Boundaries[i], f.Boundaries[i+1]
		first, err := DecodeHeader(mustHex(t, b.FirstHex))
		if err != nil {
			t.Fatal(err)
		}
		last, err := DecodeHeader(mustHex(t, b.LastHex))
		if err != nil {
			t.Fatal(err)
		}
		nextFirst, _ := DecodeHeader(mustHex(t, next.FirstHex))
		all := map[int32]Header{b.Start: first, b.LastHeight: last}
		parent := &sparseCtx{height: b.LastHeight, h: last, all: all}
		if got := CalcNextRequiredBits(p, parent); got != nextFirst.Bits {
			t.Errorf("retarget at %d: bits %08x, Bitcoin has %08x", next.Start, got, nextFirst.Bits)
		}
		// Inside a period the bits do not change.
		if got := CalcNextRequiredBits(p, &sparseCtx{height: b.Start, h: first, all: all}); got != first.Bits {
			t.Errorf("height %d: bits changed mid-period", b.Start+1)
		}
		// Chainwork from first to last adds one block's work per block.
		w := new(big.Int).Mul(CalcWork(first.Bits), big.NewInt(int64(b.LastHeight-b.Start)))
		w.Add(w, parseBig(t, b.WorkFirst))
		if w.Cmp(parseBig(t, b.WorkLast)) != 0 {
			t.Errorf("period %d: chainwork %x, want %s", b.Start, w, b.WorkLast)
		}
		checked++
	}
	if checked != 413 {
		t.Fatalf("checked %d boundaries, want 413", checked)
	}
}

func TestRetargetCorePowTests(t *testing.T) {
	var f headersFile
	loadJSON(t, "headers.json", &f)
	p := bitcoinParams()
	for _, tc := range f.CorePowTests {
		t.Run(tc.Name, func(t *testing.T) {
			firstHeight := tc.LastBlockHeight - 2015
			all := map[int32]Header{
				firstHeight:        {Timestamp: uint32(tc.FirstBlockTime), Bits: parseBits(t, tc.LastBits)},
				tc.LastBlockHeight: {Timestamp: uint32(tc.LastBlockTime), Bits: parseBits(t, tc.LastBits)},
			}
			parent := &sparseCtx{height: tc.LastBlockHeight, h: all[tc.LastBlockHeight], all: all}
			if got := fmt.Sprintf("%08x", CalcNextRequiredBits(p, parent)); got != tc.ExpectedNextBits {
				t.Fatalf("bits %s, want %s", got, tc.ExpectedNextBits)
			}
		})
	}
}

// TestRetargetFullPeriods walks every header of complete retarget periods
// (Bitcoin's 30240..32256, 0..2016, and the recent 822528..830592): each links
// to its parent, meets its target, is later than its parent's median time
// past, and carries exactly the bits the rule requires.
func TestRetargetFullPeriods(t *testing.T) {
	var f headersFile
	loadJSON(t, "headers.json", &f)
	var recent struct {
		Start   int32    `json:"start_height"`
		Headers []string `json:"headers"`
	}
	loadJSON(t, "headers_822528_830592.json", &recent)
	runs := map[string]map[int32]Header{}
	load := func(name string, start int32, hexes []string) {
		m := map[int32]Header{}
		for i, hx := range hexes {
			h, err := DecodeHeader(mustHex(t, hx))
			if err != nil {
				t.Fatal(err)
			}
			m[start+int32(i)] = h
		}
		runs[name] = m
	}
	var h30240, h0 []string
	for _, r := range f.Run30240 {
		h30240 = append(h30240, r.HeaderHex)
	}
	for _, r := range f.Run0 {
		h0 = append(h0, r.HeaderHex)
	}
	load("30240", f.Run30240[0].Height, h30240)
	load("0", 0, h0)
	load("822528", recent.Start, recent.Headers)
	p := bitcoinParams()
	for name, all := range runs {
		t.Run(name, func(t *testing.T) {
			start := int32(1 << 30)
			for h := range all {
				if h < start {
					start = h
				}
			}
			retargets := 0
			for h := start + 1; ; h++ {
				hdr, ok := all[h]
				if !ok {
					break
				}
				parent := &sparseCtx{height: h - 1, h: all[h-1], all: all}
				if hdr.PrevBlock != parent.h.BlockHash() {
					t.Fatalf("height %d does not link to %d", h, h-1)
				}
				if err := CheckProofOfWork(hdr.BlockHash(), hdr.Bits, p.PowLimit); err != nil {
					t.Fatalf("height %d: %v", h, err)
				}
				if h-start >= MedianTimeBlocks && int64(hdr.Timestamp) <= CalcPastMedianTime(parent) {
					t.Fatalf("height %d: time not after median time past", h)
				}
				if h%p.RetargetInterval == 0 && parent.RelativeAncestor(p.RetargetInterval-1) == nil {
					continue // the period start is not in this run
				}
				if got := CalcNextRequiredBits(p, parent); got != hdr.Bits {
					t.Fatalf("height %d: bits %08x, Bitcoin has %08x", h, got, hdr.Bits)
				}
				if h%p.RetargetInterval == 0 {
					retargets++
				}
			}
			if name == "822528" && retargets != 4 {
				t.Fatalf("%d retargets checked, want 4", retargets)
			}
		})
	}
}

func TestNoRetargetAndGenesis(t *testing.T) {
	p := RegtestParams
	if got := CalcNextRequiredBits(p, nil); got != p.PowLimitBits {
		t.Fatalf("genesis bits %08x", got)
	}
	all := map[int32]Header{2015: {Bits: 0x207fffff, Timestamp: 5}, 0: {Bits: 0x207fffff}}
	if got := CalcNextRequiredBits(p, &sparseCtx{height: 2015, h: all[2015], all: all}); got != 0x207fffff {
		t.Fatalf("regtest retargeted to %08x", got)
	}
}

func TestMedianTimePast(t *testing.T) {
	all := map[int32]Header{}
	times := []uint32{10, 2, 30, 4, 50, 6, 70, 8, 90, 1, 11, 12, 13}
	for i, ts := range times {
		all[int32(i)] = Header{Timestamp: ts}
	}
	tests := []struct {
		height int32
		want   int64
	}{
		{0, 10},  // one block
		{1, 10},  // [10 2] -> median of 2 is the upper
		{2, 10},  // [2 10 30]
		{10, 10}, // 11 blocks 0..10
		{12, 12}, // blocks 2..12: 1 4 6 8 11 [12] 13 30 50 70 90
	}
	for _, tc := range tests {
		c := &sparseCtx{height: tc.height, h: all[tc.height], all: all}
		if got := CalcPastMedianTime(c); got != tc.want {
			t.Errorf("MTP at %d = %d, want %d", tc.height, got, tc.want)
		}
	}
}
