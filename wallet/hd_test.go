package wallet

import (
	"encoding/hex"
	"errors"
	"testing"
)

const (
	xprvVersion = 0x0488ADE4
	xpubVersion = 0x0488B21E
)

// TestBIP32Vectors derives every chain of the official BIP32 test vectors
// 1-3 and compares both extended keys.
func TestBIP32Vectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			Seed   string `json:"seed"`
			Chains []struct {
				Path   string `json:"path"`
				ExtPub string `json:"ext_pub"`
				ExtPrv string `json:"ext_prv"`
			} `json:"chains"`
		} `json:"vectors"`
	}
	loadJSON(t, "bip32_vectors.json", &f)
	n := 0
	for _, v := range f.Vectors {
		seed, _ := hex.DecodeString(v.Seed)
		master, err := NewMasterKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.Chains {
			path, err := ParsePath(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			k, err := master.Derive(path)
			if err != nil {
				t.Fatalf("%s: %v", c.Path, err)
			}
			if got := k.Serialize(xprvVersion); got != c.ExtPrv {
				t.Errorf("%s %s prv:\n got %s\nwant %s", v.Seed[:8], c.Path, got, c.ExtPrv)
			}
			if got := k.Neuter().Serialize(xpubVersion); got != c.ExtPub {
				t.Errorf("%s %s pub:\n got %s\nwant %s", v.Seed[:8], c.Path, got, c.ExtPub)
			}
			n++
		}
	}
	if n != 14 {
		t.Fatalf("checked %d chains", n)
	}
}

// TestPublicDerivationMatchesPrivate: a non-hardened child of the public key
// equals the public key of the private child.
func TestPublicDerivationMatchesPrivate(t *testing.T) {
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	m, _ := NewMasterKey(seed)
	acct, _ := m.Derive([]uint32{44 + HardenedOffset, 1 + HardenedOffset, HardenedOffset})
	for i := uint32(0); i < 5; i++ {
		priv, err := acct.Child(i)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := acct.Neuter().Child(i)
		if err != nil {
			t.Fatal(err)
		}
		if pub.Serialize(xpubVersion) != priv.Neuter().Serialize(xpubVersion) {
			t.Fatalf("child %d differs", i)
		}
	}
	if _, err := acct.Neuter().Child(HardenedOffset); !errors.Is(err, ErrHardenedFromPublic) {
		t.Fatal("hardened child of a public key")
	}
}

func TestParsePath(t *testing.T) {
	p, err := ParsePath("m/44'/1h/0H/1/7")
	if err != nil || len(p) != 5 || p[0] != 44+HardenedOffset || p[2] != HardenedOffset || p[4] != 7 {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{"", "44/1", "m/x", "m/2147483648", "m//1", "m/-1"} {
		if _, err := ParsePath(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestBIP39Vectors checks the official BIP39 vectors: entropy to phrase,
// phrase to seed with the passphrase TREZOR, and seed to BIP32 master key.
func TestBIP39Vectors(t *testing.T) {
	var f struct {
		Passphrase string      `json:"passphrase"`
		English    [][4]string `json:"english"`
	}
	loadJSON(t, "bip39_vectors.json", &f)
	for _, v := range f.English {
		entropy, _ := hex.DecodeString(v[0])
		m, err := MnemonicFromEntropy(entropy)
		if err != nil || m != v[1] {
			t.Errorf("entropy %s: mnemonic %q, %v", v[0], m, err)
		}
		seed, err := SeedFromMnemonic(v[1], f.Passphrase)
		if err != nil || hex.EncodeToString(seed) != v[2] {
			t.Errorf("%q: seed %x, %v", v[1], seed, err)
			continue
		}
		master, err := NewMasterKey(seed)
		if err != nil || master.Serialize(xprvVersion) != v[3] {
			t.Errorf("%q: master %s, %v", v[1], master.Serialize(xprvVersion), err)
		}
	}
	if len(f.English) != 24 {
		t.Fatalf("%d vectors", len(f.English))
	}
}

func TestMnemonicErrors(t *testing.T) {
	good := "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	if _, err := SeedFromMnemonic("  ABANDON "+good[8:]+"  ", ""); err != nil {
		t.Fatalf("normalised phrase rejected: %v", err)
	}
	for _, bad := range []string{
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon", // checksum
		"abandon abandon abandon",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon zzzz",
	} {
		_, err := SeedFromMnemonic(bad, "")
		if !errors.Is(err, ErrMnemonic) {
			t.Errorf("%q: %v", bad, err)
		}
		if err != nil && len(err.Error()) > 80 {
			t.Errorf("error repeats the phrase: %v", err)
		}
	}
	for _, words := range []int{12, 24} {
		m, err := NewMnemonic(words)
		if err != nil || len(splitWords(m)) != words {
			t.Fatalf("NewMnemonic(%d): %v", words, err)
		}
		if _, err := SeedFromMnemonic(m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewMnemonic(13); err == nil {
		t.Fatal("13 words")
	}
}

func splitWords(s string) []string {
	var out []string
	word := ""
	for _, c := range s + " " {
		if c == ' ' {
			if word != "" {
				out = append(out, word)
			}
			word = ""
			continue
		}
		word += string(c)
	}
	return out
}
