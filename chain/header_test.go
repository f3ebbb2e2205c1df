package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestHashStringRoundTrip(t *testing.T) {
	const s = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h[0] != 0x6f || h[31] != 0x00 {
		t.Fatalf("internal order wrong: %x", h[:])
	}
	if h.String() != s {
		t.Fatalf("String() = %s", h)
	}
	js, _ := json.Marshal(h)
	if string(js) != `"`+s+`"` {
		t.Fatalf("JSON = %s", js)
	}
	var back Hash
	if err := json.Unmarshal(js, &back); err != nil || back != h {
		t.Fatalf("JSON round trip: %v %s", err, back)
	}
	for _, bad := range []string{"", "00", s + "00", "zz" + s[2:]} {
		if _, err := ParseHash(bad); !errors.Is(err, ErrHashFormat) {
			t.Errorf("ParseHash(%q) = %v, want ErrHashFormat", bad, err)
		}
	}
}

// TestHeaderVectors decodes real mainnet headers, checks each field and the
// hash, and re-encodes them byte for byte.
func TestHeaderVectors(t *testing.T) {
	var g genesisFile
	loadJSON(t, "genesis.json", &g)
	vectors := append([]headerVector{g.MainnetGenesis, g.Block1, g.Block2}, g.Headers...)
	for _, v := range vectors {
		t.Run(fmt.Sprint(v.Height), func(t *testing.T) {
			raw := mustHex(t, v.HeaderHex)
			h, err := DecodeHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h.Serialize(), raw) {
				t.Fatal("re-encoding differs")
			}
			if v.Hash != "" && h.BlockHash().String() != v.Hash {
				t.Fatalf("hash %s, want %s", h.BlockHash(), v.Hash)
			}
			if v.PrevBlock != "" && h.PrevBlock.String() != v.PrevBlock {
				t.Fatalf("prev %s, want %s", h.PrevBlock, v.PrevBlock)
			}
			if v.MerkleRoot != "" && h.MerkleRoot.String() != v.MerkleRoot {
				t.Fatalf("merkle %s, want %s", h.MerkleRoot, v.MerkleRoot)
			}
			if v.Time != 0 && (h.Timestamp != v.Time || h.Nonce != v.Nonce || h.Version != v.Version) {
				t.Fatalf("fields %+v, want time %d nonce %d version %d", h, v.Time, v.Nonce, v.Version)
			}
			if v.Bits != "" && fmt.Sprintf("%08x", h.Bits) != v.Bits {
				t.Fatalf("bits %08x, want %s", h.Bits, v.Bits)
			}
		})
	}
	// The hash of block k is the prev field of block k+1.
	for _, v := range g.Headers {
		h, _ := DecodeHeader(mustHex(t, v.HeaderHex))
		if want := g.Hashes[fmt.Sprint(v.Height-1)]; want != "" && h.PrevBlock.String() != want {
			t.Errorf("height %d prev %s, want %s", v.Height, h.PrevBlock, want)
		}
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	for _, n := range []int{0, 1, 79, 81, 160} {
		if _, err := DecodeHeader(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d bytes: err %v, want ErrMalformed", n, err)
		}
	}
}
