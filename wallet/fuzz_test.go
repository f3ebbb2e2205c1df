package wallet

import (
	"testing"

	"github.com/minichain/minichain/chain"
)

// FuzzDecodeAddress feeds arbitrary strings to the address decoder: it must
// return an error or an address that encodes back to the same string.
func FuzzDecodeAddress(f *testing.F) {
	var v base58File
	loadJSON(&testing.T{}, "base58check.json", &v)
	for _, a := range v.P2PKH {
		f.Add(a.Address)
	}
	for _, s := range v.InvalidKeys {
		f.Add(s)
	}
	f.Add(NewAddress([20]byte{1}, chain.DevnetParams).String())
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []*chain.Params{chain.DevnetParams, chain.RegtestParams} {
			a, err := DecodeAddress(s, p)
			if err == nil && a.String() != s {
				t.Fatalf("%q decodes to %s", s, a)
			}
		}
		_, _ = DecodeWIF(s, chain.RegtestParams)
		_, _, _ = ParseExtendedKey(s)
	})
}

// FuzzParseAmount: an amount that parses formats back to the same value.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "1.5", "0.00000001", "21000000", ".5", "1.", "abc", "1e5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		if back, err := ParseAmount(FormatAmount(v)); err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, FormatAmount(v), back, err)
		}
	})
}
