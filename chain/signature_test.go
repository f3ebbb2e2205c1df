package chain

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

type wycheproofFile struct {
	Standard []wycheproofCase `json:"standard"`
	Bitcoin  []wycheproofCase `json:"bitcoin"`
}

type wycheproofCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
	PubKey  string   `json:"public_key_uncompressed"`
	Msg     string   `json:"msg"`
	Sig     string   `json:"sig"`
}

// TestWycheproofBitcoin runs Wycheproof's Bitcoin variant (strict DER, low-S
// required): our verdict must equal theirs on every case.
func TestWycheproofBitcoin(t *testing.T) {
	var f wycheproofFile
	loadJSON(t, "ecdsa_secp256k1.json", &f)
	for _, tc := range f.Bitcoin {
		t.Run(fmt.Sprint(tc.TcID), func(t *testing.T) {
			err := verifyWycheproof(t, tc)
			if (err == nil) != (tc.Result == "valid") {
				t.Fatalf("%s %v: err %v, want %s", tc.Comment, tc.Flags, err, tc.Result)
			}
		})
	}
}

// TestWycheproofStandard runs plain ECDSA vectors, which accept high-S
// signatures. We reject high S, so a "valid" high-S case must fail with
// ErrSigHighS (and verify once S is normalised); every "invalid" case must
// fail.
func TestWycheproofStandard(t *testing.T) {
	var f wycheproofFile
	loadJSON(t, "ecdsa_secp256k1.json", &f)
	highS := 0
	for _, tc := range f.Standard {
		err := verifyWycheproof(t, tc)
		switch {
		case tc.Result == "invalid" && err == nil:
			t.Errorf("tc %d (%s): invalid signature accepted", tc.TcID, tc.Comment)
		case tc.Result == "valid" && errors.Is(err, ErrSigHighS):
			highS++
		case tc.Result == "valid" && err != nil:
			t.Errorf("tc %d (%s): valid signature rejected: %v", tc.TcID, tc.Comment, err)
		}
	}
	if highS == 0 {
		t.Fatal("expected some valid high-S cases in the standard set")
	}
}

func verifyWycheproof(t *testing.T, tc wycheproofCase) error {
	pub, err := secp256k1.ParsePubKey(mustHex(t, tc.PubKey))
	if err != nil {
		return err
	}
	digest := sha256.Sum256(mustHex(t, tc.Msg))
	return VerifySignature(pub, digest[:], mustHex(t, tc.Sig))
}

func TestDEREncodingRules(t *testing.T) {
	valid := mustHex(t, "3044022040f6c2e5ba9c2a4a8b4b8d5f4a1e2d5cb3b2e7d6a9b1c0d2e3f4a5b6c7d8e9f0022010f6c2e5ba9c2a4a8b4b8d5f4a1e2d5cb3b2e7d6a9b1c0d2e3f4a5b6c7d8e9f0")
	if err := checkDEREncoding(valid); err != nil {
		t.Fatalf("valid DER rejected: %v", err)
	}
	mutate := func(f func([]byte) []byte) []byte {
		return f(append([]byte(nil), valid...))
	}
	cases := map[string][]byte{
		"empty":           {},
		"wrong tag":       mutate(func(b []byte) []byte { b[0] = 0x31; return b }),
		"length mismatch": mutate(func(b []byte) []byte { b[1]++; return b }),
		"trailing":        append(append([]byte(nil), valid...), 0),
		"R not integer":   mutate(func(b []byte) []byte { b[2] = 0x03; return b }),
		"R negative":      mutate(func(b []byte) []byte { b[4] |= 0x80; return b }),
		"R padded": func() []byte {
			// 0x00 0x40...: padding where the next byte has no high bit.
			b := []byte{0x30, 0x45, 0x02, 0x21, 0x00}
			b = append(b, valid[4:]...)
			return b
		}(),
	}
	for name, sig := range cases {
		if err := checkDEREncoding(sig); !errors.Is(err, ErrSigDER) {
			t.Errorf("%s: err %v, want ErrSigDER", name, err)
		}
	}
}

func TestParsePubKeyForms(t *testing.T) {
	priv := secp256k1.PrivKeyFromBytes([]byte{1, 2, 3})
	comp := priv.PubKey().SerializeCompressed()
	if _, err := ParsePubKey(comp); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"uncompressed": priv.PubKey().SerializeUncompressed(),
		"hybrid":       append([]byte{0x06}, priv.PubKey().SerializeUncompressed()[1:]...),
		"short":        comp[:32],
		"bad prefix":   append([]byte{0x05}, comp[1:]...),
		"off curve":    append([]byte{0x02}, make([]byte, 32)...),
	} {
		if _, err := ParsePubKey(b); !errors.Is(err, ErrPubKeyFormat) {
			t.Errorf("%s: err %v, want ErrPubKeyFormat", name, err)
		}
	}
}
