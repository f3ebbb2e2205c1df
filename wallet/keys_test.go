package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

type base58File struct {
	Hex []struct {
		Hex    string `json:"hex"`
		Base58 string `json:"base58"`
	} `json:"base58_hex"`
	Invalid   []string `json:"base58_invalid_strings"`
	Versioned []struct {
		Version    byte   `json:"version"`
		PayloadHex string `json:"payload_hex"`
		Encoded    string `json:"encoded"`
	} `json:"base58check_versioned"`
	Bad []struct {
		String string `json:"string"`
		Error  string `json:"error"`
	} `json:"base58check_bad"`
	P2PKH []struct {
		Address string `json:"address"`
		Hash160 string `json:"hash160"`
		Version string `json:"version_byte"`
	} `json:"p2pkh"`
	PubKeys []struct {
		PubKey  string `json:"pubkey_hex"`
		Address string `json:"p2pkh_address"`
		Version string `json:"version_byte"`
	} `json:"pubkey_to_p2pkh"`
	InvalidKeys []string `json:"invalid_base58_keys"`
}

func TestBase58Vectors(t *testing.T) {
	var f base58File
	loadJSON(t, "base58check.json", &f)
	for _, v := range f.Hex {
		raw, _ := hex.DecodeString(v.Hex)
		if got := EncodeBase58(raw); got != v.Base58 {
			t.Errorf("encode %s = %s, want %s", v.Hex, got, v.Base58)
		}
		back, err := DecodeBase58(v.Base58)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("decode %s = %x %v", v.Base58, back, err)
		}
	}
	for _, s := range f.Invalid {
		if s == "" {
			continue
		}
		if _, err := DecodeBase58(s); !errors.Is(err, ErrBase58) {
			t.Errorf("%q: err %v", s, err)
		}
	}
	for _, v := range f.Versioned {
		payload, _ := hex.DecodeString(v.PayloadHex)
		if got := EncodeBase58Check(v.Version, payload); got != v.Encoded {
			t.Errorf("check-encode %d %s = %s, want %s", v.Version, v.PayloadHex, got, v.Encoded)
		}
		ver, back, err := DecodeBase58Check(v.Encoded)
		if err != nil || ver != v.Version || !bytes.Equal(back, payload) {
			t.Errorf("check-decode %s: %d %x %v", v.Encoded, ver, back, err)
		}
	}
	for _, v := range f.Bad {
		if _, _, err := DecodeBase58Check(v.String); err == nil {
			t.Errorf("%q accepted", v.String)
		}
	}
}

// bitcoinMain has Bitcoin mainnet's address version, for the vectors.
var bitcoinMain = &chain.Params{Name: "bitcoin", AddressVersion: 0x00, WIFVersion: 0x80}

func TestAddressVectors(t *testing.T) {
	var f base58File
	loadJSON(t, "base58check.json", &f)
	params := map[string]*chain.Params{"00": bitcoinMain, "6f": chain.RegtestParams}
	for _, v := range f.P2PKH {
		p := params[v.Version]
		a, err := DecodeAddress(v.Address, p)
		if err != nil {
			t.Errorf("%s: %v", v.Address, err)
			continue
		}
		if hex.EncodeToString(a.PKH[:]) != v.Hash160 || a.String() != v.Address {
			t.Errorf("%s: hash %x, string %s", v.Address, a.PKH, a)
		}
	}
	for _, v := range f.PubKeys {
		pub, _ := hex.DecodeString(v.PubKey)
		if len(pub) != 33 {
			continue // uncompressed keys are not used by this chain
		}
		if got := AddressFromPubKey(pub, params[v.Version]).String(); got != v.Address {
			t.Errorf("pubkey %s: %s, want %s", v.PubKey, got, v.Address)
		}
	}
	for _, s := range f.InvalidKeys {
		for _, p := range []*chain.Params{bitcoinMain, chain.RegtestParams, chain.DevnetParams} {
			if a, err := DecodeAddress(s, p); err == nil {
				t.Errorf("invalid %q decoded as %s on %s", s, a, p.Name)
			}
		}
	}
}

func TestAddressWrongNetwork(t *testing.T) {
	pkh := [20]byte{1, 2, 3}
	dev := NewAddress(pkh, chain.DevnetParams)
	if !strings.HasPrefix(dev.String(), "D") {
		t.Fatalf("devnet address %s does not start with D", dev)
	}
	_, err := DecodeAddress(dev.String(), chain.RegtestParams)
	if !errors.Is(err, ErrWrongNetwork) || !strings.Contains(err.Error(), "devnet address") {
		t.Fatalf("devnet address on regtest: %v", err)
	}
	reg := NewAddress(pkh, chain.RegtestParams)
	if _, err := DecodeAddress(reg.String(), chain.DevnetParams); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("regtest address on devnet: %v", err)
	}
	a, err := DecodeAddress(dev.String(), chain.DevnetParams)
	if err != nil || a.PKH != pkh || !bytes.Equal(a.Script(), chain.PayToPubKeyHashScript(pkh)) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := DecodeAddress(dev.String()[:10], chain.DevnetParams); !errors.Is(err, ErrAddressFormat) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestWIF(t *testing.T) {
	// Bitcoin Core's key_io vector: a compressed mainnet key.
	k, err := DecodeWIF("KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn", bitcoinMain)
	if err != nil {
		t.Fatal(err)
	}
	kb := k.Key.Bytes()
	if got := hex.EncodeToString(kb[:]); got != "0000000000000000000000000000000000000000000000000000000000000001" {
		t.Fatalf("key %s", got)
	}
	priv := secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	for _, p := range []*chain.Params{chain.DevnetParams, chain.RegtestParams} {
		s := EncodeWIF(priv, p)
		back, err := DecodeWIF(s, p)
		if err != nil || !back.Key.Equals(&priv.Key) {
			t.Fatalf("%s round trip: %v", p.Name, err)
		}
	}
	_, err = DecodeWIF(EncodeWIF(priv, chain.DevnetParams), chain.RegtestParams)
	if !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("devnet key on regtest: %v", err)
	}
	// Errors never carry the key.
	bad := EncodeWIF(priv, chain.RegtestParams)
	bad = bad[:len(bad)-1] + "z"
	_, err = DecodeWIF(bad, chain.RegtestParams)
	if err == nil || strings.Contains(err.Error(), bad) {
		t.Fatalf("bad checksum: %v", err)
	}
	// An uncompressed-key WIF (no 01 suffix) is refused.
	b := priv.Key.Bytes()
	if _, err := DecodeWIF(EncodeBase58Check(chain.RegtestParams.WIFVersion, b[:]), chain.RegtestParams); !errors.Is(err, ErrWIF) {
		t.Fatalf("uncompressed WIF: %v", err)
	}
}

func TestParseAmount(t *testing.T) {
	good := map[string]uint64{
		"1": 100_000_000, "1.5": 150_000_000, "0.00000001": 1, ".5": 50_000_000, "21000000": chain.MaxMoney,
		" 2.25 ": 225_000_000, "0": 0, "1.": 100_000_000,
	}
	for s, want := range good {
		if got, err := ParseAmount(s); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", "1.123456789", "-1", "1e8", "abc", "21000000.00000001", "1.2.3", "999999999", "0x10", "1,5"} {
		if _, err := ParseAmount(s); !errors.Is(err, ErrAmount) {
			t.Errorf("ParseAmount(%q) accepted: %v", s, err)
		}
	}
	if FormatAmount(150_000_001) != "1.50000001" || FormatAmount(0) != "0.00000000" {
		t.Fatal("FormatAmount")
	}
}
