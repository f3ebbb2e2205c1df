package chain

import "math/big"

// This file holds the proof-of-work arithmetic: the compact "bits" encoding of
// a target, the work a target represents and the hash-versus-target check.
// The compact rules follow Bitcoin Core's arith_uint256 SetCompact/GetCompact
// exactly, including the sign bit and the overflow cases.

var (
	bigOne    = big.NewInt(1)
	oneLsh256 = new(big.Int).Lsh(bigOne, 256)
)

// CompactToBig decodes a compact target. It returns the target and whether
// the encoding is negative or overflows 256 bits; a target that is negative
// or overflows is never valid for proof of work.
//
// The compact form is one exponent byte E and a 23-bit mantissa M with a sign
// bit (0x00800000): target = M * 256^(E-3).
func CompactToBig(compact uint32) (target *big.Int, negative, overflow bool) {
	size := compact >> 24
	word := compact & 0x007fffff
	target = new(big.Int)
	if size <= 3 {
		word >>= 8 * (3 - size)
		target.SetUint64(uint64(word))
	} else {
		target.SetUint64(uint64(word))
		target.Lsh(target, uint(8*(size-3)))
	}
	negative = word != 0 && compact&0x00800000 != 0
	overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))
	if negative {
		target.Neg(target)
	}
	return target, negative, overflow
}

// BigToCompact encodes a target in compact form, the inverse of
// CompactToBig for every value it produces. Negative values set the sign bit.
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() == 0 {
		return 0
	}
	abs := new(big.Int).Abs(n)
	size := uint32((abs.BitLen() + 7) / 8)
	var compact uint32
	if size <= 3 {
		compact = uint32(abs.Uint64() << (8 * (3 - size)))
	} else {
		compact = uint32(new(big.Int).Rsh(abs, uint(8*(size-3))).Uint64())
	}
	// The mantissa's high bit is the sign bit: if it is set, shift one byte
	// and bump the exponent.
	if compact&0x00800000 != 0 {
		compact >>= 8
		size++
	}
	compact |= size << 24
	if n.Sign() < 0 && compact&0x007fffff != 0 {
		compact |= 0x00800000
	}
	return compact
}

// HashToBig interprets a hash (internal byte order, i.e. little-endian) as a
// 256-bit unsigned integer, the number proof of work compares to the target.
func HashToBig(h Hash) *big.Int {
	var be [HashSize]byte
	for i := 0; i < HashSize; i++ {
		be[i] = h[HashSize-1-i]
	}
	return new(big.Int).SetBytes(be[:])
}

// CalcWork returns the work a block with the given bits represents:
// 2^256 / (target + 1), the expected number of hashes to find it. Bits that
// decode to a non-positive or overflowing target have no work.
func CalcWork(bits uint32) *big.Int {
	target, negative, overflow := CompactToBig(bits)
	if negative || overflow || target.Sign() <= 0 {
		return new(big.Int)
	}
	denom := new(big.Int).Add(target, bigOne)
	return denom.Div(oneLsh256, denom)
}

// CheckTargetRange checks that bits decode to a target in (0, powLimit].
func CheckTargetRange(bits uint32, powLimit *big.Int) error {
	target, negative, overflow := CompactToBig(bits)
	switch {
	case negative:
		return ruleError(ErrBadTargetRange, "target of bits %08x is negative", bits)
	case overflow:
		return ruleError(ErrBadTargetRange, "target of bits %08x overflows 256 bits", bits)
	case target.Sign() <= 0:
		return ruleError(ErrBadTargetRange, "target of bits %08x is zero", bits)
	case target.Cmp(powLimit) > 0:
		return ruleError(ErrBadTargetRange, "target of bits %08x is above the proof-of-work limit", bits)
	}
	return nil
}

// CheckProofOfWork checks that bits are in range and that the block hash is
// at or below the target they encode.
func CheckProofOfWork(hash Hash, bits uint32, powLimit *big.Int) error {
	if err := CheckTargetRange(bits, powLimit); err != nil {
		return err
	}
	target, _, _ := CompactToBig(bits)
	if HashToBig(hash).Cmp(target) > 0 {
		return ruleError(ErrHighHash, "block hash %s is above the target of bits %08x", hash, bits)
	}
	return nil
}
