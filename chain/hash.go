package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// HashSize is the size in bytes of a Hash.
const HashSize = 32

// Hash is a SHA-256d digest in internal byte order, the order in which it is
// hashed and serialized. It is shown, like Bitcoin shows it, byte-reversed:
// a block hash that meets a target therefore prints with leading zeros.
type Hash [HashSize]byte

// ZeroHash is the all-zero hash (the previous-block hash of a genesis block and
// the previous txid of a coinbase input).
var ZeroHash Hash

// ErrHashFormat is returned when a hash string is not 64 hex digits.
var ErrHashFormat = errors.New("hash must be 64 hex digits")

// DoubleSHA256 returns SHA-256(SHA-256(b)).
func DoubleSHA256(b []byte) Hash {
	first := sha256.Sum256(b)
	return Hash(sha256.Sum256(first[:]))
}

// String returns the hash as byte-reversed hex (display order).
func (h Hash) String() string {
	var r [HashSize]byte
	for i := 0; i < HashSize; i++ {
		r[i] = h[HashSize-1-i]
	}
	return hex.EncodeToString(r[:])
}

// IsZero reports whether h is the all-zero hash.
func (h Hash) IsZero() bool { return h == ZeroHash }

// ParseHash parses a hash in display order (byte-reversed hex, as String
// prints it).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("%w: got %d characters", ErrHashFormat, len(s))
	}
	var r [HashSize]byte
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: %v", ErrHashFormat, err)
	}
	for i := 0; i < HashSize; i++ {
		h[i] = r[HashSize-1-i]
	}
	return h, nil
}

// MustParseHash is ParseHash for constants known to be valid; it panics on a
// malformed string and must only be used for compiled-in values.
func MustParseHash(s string) Hash {
	h, err := ParseHash(s)
	if err != nil {
		panic(err)
	}
	return h
}

// MarshalText encodes the hash in display order; JSON uses it.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hash in display order.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Bytes returns the hash in internal byte order.
func (h Hash) Bytes() []byte { return h[:] }
