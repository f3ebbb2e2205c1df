package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/minichain/minichain/chain"
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var idx [256]int8
	for i := range idx {
		idx[i] = -1
	}
	for i, c := range base58Alphabet {
		idx[c] = int8(i)
	}
	return idx
}()

// Base58 errors.
var (
	// ErrBase58 is returned for a string with a character outside the
	// Base58 alphabet.
	ErrBase58 = errors.New("invalid Base58 string")
	// ErrChecksum is returned when a Base58Check checksum does not match.
	ErrChecksum = errors.New("Base58Check checksum mismatch")
	// ErrShort is returned for a Base58Check string too short to hold a
	// version byte and a checksum.
	ErrShort = errors.New("Base58Check string too short")
)

// maxBase58Len bounds what DecodeBase58 accepts; every string we decode is
// far shorter (an address is 34 characters, an extended key 111); the
// bound only keeps a hostile string from costing quadratic time.
const maxBase58Len = 512

// EncodeBase58 encodes b in Base58, keeping leading zero bytes as '1's.
func EncodeBase58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	radix := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// DecodeBase58 decodes a Base58 string.
func DecodeBase58(s string) ([]byte, error) {
	if len(s) > maxBase58Len {
		return nil, fmt.Errorf("%w: %d characters is too long", ErrBase58, len(s))
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, fmt.Errorf("%w: character %q at position %d", ErrBase58, s[i], i)
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

func checksum(b []byte) []byte {
	h := chain.DoubleSHA256(b)
	return h[:4]
}

// EncodeBase58Check encodes version || payload || checksum, where the
// checksum is the first 4 bytes of SHA-256d(version || payload).
func EncodeBase58Check(version byte, payload []byte) string {
	b := append([]byte{version}, payload...)
	return EncodeBase58(append(b, checksum(b)...))
}

// DecodeBase58Check decodes a Base58Check string into its version byte and
// payload, verifying the checksum.
func DecodeBase58Check(s string) (version byte, payload []byte, err error) {
	b, err := DecodeBase58(s)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 5 {
		return 0, nil, ErrShort
	}
	body, sum := b[:len(b)-4], b[len(b)-4:]
	if !bytes.Equal(checksum(body), sum) {
		return 0, nil, ErrChecksum
	}
	return body[0], body[1:], nil
}
