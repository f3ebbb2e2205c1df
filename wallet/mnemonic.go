package wallet

import (
	"errors"
	"fmt"
	"strings"

	bip39 "github.com/cosmos/go-bip39"
)

// ErrMnemonic is returned for a mnemonic that is not a valid BIP39 phrase
// (unknown word, wrong length or bad checksum). The error never repeats the
// phrase.
var ErrMnemonic = errors.New("invalid mnemonic")

// NewMnemonic returns a fresh BIP39 mnemonic of 12 (128 bits of entropy) or
// 24 words (256 bits).
func NewMnemonic(words int) (string, error) {
	var bits int
	switch words {
	case 12:
		bits = 128
	case 24:
		bits = 256
	default:
		return "", fmt.Errorf("mnemonics have 12 or 24 words, not %d", words)
	}
	entropy, err := bip39.NewEntropy(bits)
	if err != nil {
		return "", err
	}
	return bip39.NewMnemonic(entropy)
}

// MnemonicFromEntropy returns the BIP39 phrase of the given entropy.
func MnemonicFromEntropy(entropy []byte) (string, error) { return bip39.NewMnemonic(entropy) }

// NormalizeMnemonic lowercases a phrase and collapses its whitespace, so a
// phrase typed with extra spaces or capitals restores the same wallet.
func NormalizeMnemonic(m string) string { return strings.Join(strings.Fields(strings.ToLower(m)), " ") }

// SeedFromMnemonic checks a BIP39 phrase and derives its 64-byte seed with
// the optional BIP39 passphrase (PBKDF2-HMAC-SHA512, 2048 rounds).
func SeedFromMnemonic(mnemonic, passphrase string) ([]byte, error) {
	m := NormalizeMnemonic(mnemonic)
	if n := len(strings.Fields(m)); n != 12 && n != 15 && n != 18 && n != 21 && n != 24 {
		return nil, fmt.Errorf("%w: %d words, want 12, 15, 18, 21 or 24", ErrMnemonic, n)
	}
	seed, err := bip39.NewSeedWithErrorChecking(m, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: unknown word or bad checksum", ErrMnemonic)
	}
	return seed, nil
}
