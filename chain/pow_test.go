package chain

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

type bitsFile struct {
	CoreSetCompact []struct {
		Compact    string `json:"compact"`
		TargetHex  string `json:"target_hex"`
		GetCompact string `json:"get_compact"`
		Negative   bool   `json:"negative"`
		Overflow   bool   `json:"overflow"`
	} `json:"core_set_compact"`
	CoreGetCompact []struct {
		TargetHex string `json:"target_hex"`
		Compact   string `json:"compact"`
	} `json:"core_get_compact"`
	DcrdBigToCompact []struct {
		Name, Input, Compact string
	} `json:"dcrd_big_to_compact"`
	DcrdCompactToBig []struct {
		Name, Compact, Output string
	} `json:"dcrd_compact_to_big"`
	DcrdCalcWork []struct {
		Name, Compact, Work string
	} `json:"dcrd_calc_work"`
	DcrdPowRange struct {
		PowLimit string `json:"pow_limit"`
		Cases    []struct {
			Name    string `json:"name"`
			Compact string `json:"compact"`
			Valid   bool   `json:"valid"`
		} `json:"cases"`
	} `json:"dcrd_check_proof_of_work_range"`
	DcrdPowHash []struct {
		Name    string `json:"name"`
		Hash    string `json:"hash"`
		Compact string `json:"compact"`
		Valid   bool   `json:"valid"`
		Error   string `json:"error"`
	} `json:"dcrd_check_proof_of_work_hash"`
	BtcdWorkmath struct {
		CalcWork []struct {
			Compact uint32 `json:"compact"`
			Work    int64  `json:"work"`
		} `json:"calc_work"`
	} `json:"btcd_workmath"`
}

func parseBits(t *testing.T, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

// parseBig parses a number as the vectors write it: 0x-prefixed hex, bare
// 64-digit hex, or decimal (with an optional minus sign).
func parseBig(t *testing.T, s string) *big.Int {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	base := 10
	if strings.HasPrefix(s, "0x") || len(s) == 64 {
		s, base = strings.TrimPrefix(s, "0x"), 16
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	if neg {
		n.Neg(n)
	}
	return n
}

func TestCompactVectors(t *testing.T) {
	var f bitsFile
	loadJSON(t, "bits.json", &f)
	for _, v := range f.CoreSetCompact {
		t.Run("core/"+v.Compact, func(t *testing.T) {
			target, neg, over := CompactToBig(parseBits(t, v.Compact))
			if neg != v.Negative || over != v.Overflow {
				t.Fatalf("negative %v overflow %v, want %v %v", neg, over, v.Negative, v.Overflow)
			}
			if over {
				return // Core's value is meaningless on overflow
			}
			want := parseBig(t, v.TargetHex)
			if neg {
				want.Neg(want)
			}
			if target.Cmp(want) != 0 {
				t.Fatalf("target %x, want %x", target, want)
			}
			if got := fmt.Sprintf("%08x", BigToCompact(target)); got != v.GetCompact {
				t.Fatalf("re-encoded %s, want %s", got, v.GetCompact)
			}
		})
	}
	for _, v := range f.CoreGetCompact {
		if got := fmt.Sprintf("%08x", BigToCompact(parseBig(t, v.TargetHex))); got != v.Compact {
			t.Errorf("GetCompact(%s) = %s, want %s", v.TargetHex, got, v.Compact)
		}
	}
	for _, v := range f.DcrdBigToCompact {
		if got := fmt.Sprintf("%08x", BigToCompact(parseBig(t, v.Input))); got != v.Compact {
			t.Errorf("%s: BigToCompact = %s, want %s", v.Name, got, v.Compact)
		}
	}
	for _, v := range f.DcrdCompactToBig {
		got, _, _ := CompactToBig(parseBits(t, v.Compact))
		if got.Cmp(parseBig(t, v.Output)) != 0 {
			t.Errorf("%s: CompactToBig = %x, want %s", v.Name, got, v.Output)
		}
	}
}

func TestCalcWorkVectors(t *testing.T) {
	var f bitsFile
	loadJSON(t, "bits.json", &f)
	for _, v := range f.DcrdCalcWork {
		if got := CalcWork(parseBits(t, v.Compact)); got.Cmp(parseBig(t, v.Work)) != 0 {
			t.Errorf("%s: work %x, want %s", v.Name, got, v.Work)
		}
	}
	for _, v := range f.BtcdWorkmath.CalcWork {
		if got := CalcWork(v.Compact); got.Cmp(big.NewInt(v.Work)) != 0 {
			t.Errorf("work(%08x) = %v, want %d", v.Compact, got, v.Work)
		}
	}
}

func TestProofOfWorkVectors(t *testing.T) {
	var f bitsFile
	loadJSON(t, "bits.json", &f)
	limit := parseBig(t, f.DcrdPowRange.PowLimit)
	for _, v := range f.DcrdPowRange.Cases {
		err := CheckTargetRange(parseBits(t, v.Compact), limit)
		if (err == nil) != v.Valid {
			t.Errorf("%s: range err %v, want valid=%v", v.Name, err, v.Valid)
		}
		if err != nil && !errors.Is(err, ErrBadTargetRange) {
			t.Errorf("%s: err kind %v", v.Name, err)
		}
	}
	for _, v := range f.DcrdPowHash {
		err := CheckProofOfWork(MustParseHash(v.Hash), parseBits(t, v.Compact), limit)
		if (err == nil) != v.Valid {
			t.Errorf("%s: err %v, want valid=%v", v.Name, err, v.Valid)
		}
		if v.Error == "ErrHighHash" && !errors.Is(err, ErrHighHash) {
			t.Errorf("%s: err %v, want ErrHighHash", v.Name, err)
		}
	}
}

func TestGenesisProofOfWork(t *testing.T) {
	var g genesisFile
	loadJSON(t, "genesis.json", &g)
	limit, _, _ := CompactToBig(0x1d00ffff)
	for _, v := range append([]headerVector{g.MainnetGenesis}, g.Headers...) {
		h, _ := DecodeHeader(mustHex(t, v.HeaderHex))
		if err := CheckProofOfWork(h.BlockHash(), h.Bits, limit); err != nil {
			t.Errorf("height %d: %v", v.Height, err)
		}
	}
	for _, p := range []*Params{DevnetParams, RegtestParams} {
		if err := CheckProofOfWork(p.GenesisHash, p.GenesisBlock.Header.Bits, p.PowLimit); err != nil {
			t.Errorf("%s genesis: %v", p.Name, err)
		}
	}
}
