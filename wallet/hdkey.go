package wallet

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

// HardenedOffset is added to a child index to derive a hardened child
// (written i' or iH): one that cannot be derived from the parent's public
// key.
const HardenedOffset = 0x80000000

// BIP32 errors.
var (
	// ErrInvalidChild is returned, with negligible probability, for an
	// index whose derived key is out of range; BIP32 says to skip it.
	ErrInvalidChild = errors.New("derived key is invalid, use the next index")
	// ErrHardenedFromPublic is returned when deriving a hardened child of a
	// public extended key.
	ErrHardenedFromPublic = errors.New("cannot derive a hardened child from a public key")
	// ErrBadPath is returned for a derivation path that does not parse.
	ErrBadPath = errors.New("invalid derivation path")
)

// ExtendedKey is a BIP32 extended key: a private or public key with the
// chain code that lets children be derived from it.
type ExtendedKey struct {
	key       [33]byte // private: 0x00 || 32-byte scalar; public: compressed point
	chainCode [32]byte
	depth     uint8
	parentFP  [4]byte
	childNum  uint32
	private   bool
}

// NewMasterKey derives the master key of a seed (16 to 64 bytes; a BIP39
// seed is 64): HMAC-SHA512 keyed with "Bitcoin seed".
func NewMasterKey(seed []byte) (*ExtendedKey, error) {
	if len(seed) < 16 || len(seed) > 64 {
		return nil, fmt.Errorf("seed of %d bytes, want 16 to 64", len(seed))
	}
	mac := hmac.New(sha512.New, []byte("Bitcoin seed"))
	mac.Write(seed)
	i := mac.Sum(nil)
	var k secp256k1.ModNScalar
	if overflow := k.SetByteSlice(i[:32]); overflow || k.IsZero() {
		return nil, ErrInvalidChild
	}
	x := &ExtendedKey{private: true}
	kb := k.Bytes()
	copy(x.key[1:], kb[:])
	copy(x.chainCode[:], i[32:])
	return x, nil
}

// IsPrivate reports whether the key holds a private key.
func (x *ExtendedKey) IsPrivate() bool { return x.private }

// Depth returns how many derivations separate the key from the master.
func (x *ExtendedKey) Depth() uint8 { return x.depth }

// PublicKey returns the 33-byte compressed public key.
func (x *ExtendedKey) PublicKey() []byte {
	if !x.private {
		return append([]byte(nil), x.key[:]...)
	}
	return secp256k1.PrivKeyFromBytes(x.key[1:]).PubKey().SerializeCompressed()
}

// PrivateKey returns the private key; an error for a public extended key.
func (x *ExtendedKey) PrivateKey() (*secp256k1.PrivateKey, error) {
	if !x.private {
		return nil, errors.New("extended key is public")
	}
	return secp256k1.PrivKeyFromBytes(x.key[1:]), nil
}

// Neuter returns the public extended key of x.
func (x *ExtendedKey) Neuter() *ExtendedKey {
	if !x.private {
		return x
	}
	n := *x
	n.private = false
	copy(n.key[:], x.PublicKey())
	return &n
}

// Child derives child number i (i >= HardenedOffset for a hardened child).
func (x *ExtendedKey) Child(i uint32) (*ExtendedKey, error) {
	hardened := i >= HardenedOffset
	if hardened && !x.private {
		return nil, ErrHardenedFromPublic
	}
	pub := x.PublicKey() // for the data and the fingerprint: derived once
	data := make([]byte, 0, 37)
	if hardened {
		data = append(data, x.key[:]...) // 0x00 || private key
	} else {
		data = append(data, pub...)
	}
	data = binary.BigEndian.AppendUint32(data, i)
	mac := hmac.New(sha512.New, x.chainCode[:])
	mac.Write(data)
	sum := mac.Sum(nil)
	var il secp256k1.ModNScalar
	if overflow := il.SetByteSlice(sum[:32]); overflow {
		return nil, ErrInvalidChild
	}
	child := &ExtendedKey{depth: x.depth + 1, childNum: i, private: x.private}
	copy(child.chainCode[:], sum[32:])
	fp := chain.Hash160(pub)
	copy(child.parentFP[:], fp[:4])
	if x.private {
		var k secp256k1.ModNScalar
		k.SetByteSlice(x.key[1:])
		k.Add(&il)
		if k.IsZero() {
			return nil, ErrInvalidChild
		}
		kb := k.Bytes()
		copy(child.key[1:], kb[:])
		return child, nil
	}
	parent, err := secp256k1.ParsePubKey(x.key[:])
	if err != nil {
		return nil, fmt.Errorf("parent public key: %w", err)
	}
	var ilPoint, parentPoint, sumPoint secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&il, &ilPoint)
	parent.AsJacobian(&parentPoint)
	secp256k1.AddNonConst(&ilPoint, &parentPoint, &sumPoint)
	if (sumPoint.X.IsZero() && sumPoint.Y.IsZero()) || sumPoint.Z.IsZero() {
		return nil, ErrInvalidChild
	}
	sumPoint.ToAffine()
	copy(child.key[:], secp256k1.NewPublicKey(&sumPoint.X, &sumPoint.Y).SerializeCompressed())
	return child, nil
}

// ParsePath parses a derivation path such as "m/44'/1'/0'/0/7"; hardened
// steps are marked with ', h or H.
func ParsePath(path string) ([]uint32, error) {
	parts := strings.Split(strings.TrimSpace(path), "/")
	if len(parts) == 0 || parts[0] != "m" {
		return nil, fmt.Errorf("%w %q: must start with m", ErrBadPath, path)
	}
	var out []uint32
	for _, p := range parts[1:] {
		off := uint32(0)
		if n := len(p); n > 0 && (p[n-1] == '\'' || p[n-1] == 'h' || p[n-1] == 'H') {
			off, p = HardenedOffset, p[:n-1]
		}
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil || v >= HardenedOffset {
			return nil, fmt.Errorf("%w %q: bad step %q", ErrBadPath, path, p)
		}
		out = append(out, uint32(v)+off)
	}
	return out, nil
}

// Derive follows a path of child numbers from x.
func (x *ExtendedKey) Derive(path []uint32) (*ExtendedKey, error) {
	k := x
	for _, i := range path {
		var err error
		if k, err = k.Child(i); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Serialize encodes the extended key in BIP32's 78-byte form with the given
// 4-byte version (0x0488ADE4 "xprv" and 0x0488B21E "xpub" on Bitcoin's
// mainnet), in Base58Check.
func (x *ExtendedKey) Serialize(version uint32) string {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 82), version)
	b = append(b, x.depth)
	b = append(b, x.parentFP[:]...)
	b = binary.BigEndian.AppendUint32(b, x.childNum)
	b = append(b, x.chainCode[:]...)
	b = append(b, x.key[:]...)
	return EncodeBase58(append(b, checksum(b)...))
}

// ParseExtendedKey decodes a serialized extended key (either kind) and
// returns it with its 4-byte version.
func ParseExtendedKey(s string) (*ExtendedKey, uint32, error) {
	b, err := DecodeBase58(s)
	if err != nil {
		return nil, 0, err
	}
	if len(b) != 82 {
		return nil, 0, fmt.Errorf("extended key of %d bytes, want 82", len(b))
	}
	body := b[:78]
	if string(checksum(body)) != string(b[78:]) {
		return nil, 0, ErrChecksum
	}
	x := &ExtendedKey{depth: body[4], childNum: binary.BigEndian.Uint32(body[9:13])}
	copy(x.parentFP[:], body[5:9])
	copy(x.chainCode[:], body[13:45])
	copy(x.key[:], body[45:78])
	switch x.key[0] {
	case 0x00:
		var k secp256k1.ModNScalar
		if overflow := k.SetByteSlice(x.key[1:]); overflow || k.IsZero() {
			return nil, 0, errors.New("extended private key out of range")
		}
		x.private = true
	case 0x02, 0x03:
		if _, err := secp256k1.ParsePubKey(x.key[:]); err != nil {
			return nil, 0, fmt.Errorf("extended public key: %w", err)
		}
	default:
		return nil, 0, errors.New("extended key holds neither a private nor a compressed public key")
	}
	return x, binary.BigEndian.Uint32(body[:4]), nil
}
