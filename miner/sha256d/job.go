package sha256d

import (
	"encoding/binary"
	"math/bits"
)

// This file is SHA-256 in plain Go, for what the multi-lane kernels leave
// to Go: the midstate, the values they read precomputed from the job, and
// the full check of a candidate.

// HeaderSize is the size of a block header; the nonce is its last 4 bytes,
// little-endian.
const HeaderSize = 80

// iv is SHA-256's initial hash value.
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// k are SHA-256's round constants.
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}
func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}
func sigma0(x uint32) uint32    { return bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ x>>3 }
func sigma1(x uint32) uint32    { return bits.RotateLeft32(x, -17) ^ bits.RotateLeft32(x, -19) ^ x>>10 }
func ch(e, f, g uint32) uint32  { return (e & f) ^ (^e & g) }
func maj(a, b, c uint32) uint32 { return (a & b) ^ (a & c) ^ (b & c) }

// round runs one SHA-256 round on s with kw = K[t] + W[t].
func round(s *[8]uint32, kw uint32) {
	t1 := s[7] + bigSigma1(s[4]) + ch(s[4], s[5], s[6]) + kw
	t2 := bigSigma0(s[0]) + maj(s[0], s[1], s[2])
	s[7], s[6], s[5], s[4] = s[6], s[5], s[4], s[3]+t1
	s[3], s[2], s[1], s[0] = s[2], s[1], s[0], t1+t2
}

// compress adds the compression of block w (16 words) to the hash state h.
func compress(h *[8]uint32, block *[16]uint32) {
	var w [64]uint32
	copy(w[:], block[:])
	for t := 16; t < 64; t++ {
		w[t] = sigma1(w[t-2]) + w[t-7] + sigma0(w[t-15]) + w[t-16]
	}
	s := *h
	for t := range 64 {
		round(&s, k[t]+w[t])
	}
	for i := range h {
		h[i] += s[i]
	}
}

// vecWord reports whether message word t of block b (1: header bytes
// 64..79 and padding; 2: the first hash and padding) depends on the nonce.
// _asm/gen.go has the same rule.
func vecWord(b, t int) bool {
	if t < 16 {
		if b == 1 {
			return t == 3
		}
		return t < 8
	}
	return vecWord(b, t-2) || vecWord(b, t-7) || vecWord(b, t-15) || vecWord(b, t-16)
}

// constParts completes the schedule w of block b where it does not depend
// on the nonce, and fills kw[t] = K[t]+W[t] for the constant words and
// c[t] = the sum of the constant terms of the others (t >= 16).
func constParts(b int, w *[64]uint32, kw, c []uint32) {
	for t := 16; t < 64; t++ {
		terms := [4]struct {
			i int
			f func(uint32) uint32
		}{{t - 2, sigma1}, {t - 7, nil}, {t - 15, sigma0}, {t - 16, nil}}
		var sum uint32
		for _, term := range terms {
			if vecWord(b, term.i) {
				continue
			}
			if term.f != nil {
				sum += term.f(w[term.i])
			} else {
				sum += w[term.i]
			}
		}
		if vecWord(b, t) {
			c[t] = sum
		} else {
			w[t] = sum
		}
	}
	for t := range 64 {
		if !vecWord(b, t) {
			kw[t] = k[t] + w[t]
		}
	}
}

// firstRound precomputes round t on s where W[t] is the only input that
// depends on the nonce: it returns the state after round t less W[t] in a
// and e (the kernel adds it).
func firstRound(s [8]uint32, t int) [8]uint32 {
	pre := s[7] + bigSigma1(s[4]) + ch(s[4], s[5], s[6]) + k[t]
	t2 := bigSigma0(s[0]) + maj(s[0], s[1], s[2])
	return [8]uint32{pre + t2, s[0], s[1], s[2], s[3] + pre, s[4], s[5], s[6]}
}

// job is what a multi-lane kernel reads for one header and target: see
// the layout in zlayout.go.
type job [jobWords]uint32

// set prepares the job for header (its nonce is ignored) and target.
func (j *job) set(mid *[8]uint32, header *[HeaderSize]byte, target *[32]byte) {
	*j = job{}
	copy(j[jMid:], mid[:])
	copy(j[jK:], k[:])

	var w1 [64]uint32
	for i := range 3 {
		w1[i] = binary.BigEndian.Uint32(header[64+4*i:])
	}
	w1[4], w1[15] = 0x80000000, HeaderSize*8
	constParts(1, &w1, j[jKW1:jKW1+64], j[jC1:jC1+64])
	s := *mid
	for t := range 3 {
		round(&s, k[t]+w1[t])
	}
	s4 := firstRound(s, 3)
	copy(j[jS4:], s4[:])

	var w2 [64]uint32
	w2[8], w2[15] = 0x80000000, 32*8
	constParts(2, &w2, j[jKW2:jKW2+64], j[jC2:jC2+64])
	s1 := firstRound(iv, 0)
	copy(j[jS1B2:], s1[:])

	j[jTgt] = binary.LittleEndian.Uint32(target[28:])
	j[jIV7] = iv[7]
	j[jMask] = 0x00ff00ff
	for i := range 16 {
		j[jLane+i] = uint32(i)
	}
	for i := range 8 { // reverse the bytes of each word, in each 128-bit half
		b := uint32(4 * (i % 4))
		j[jShuf+i] = (b + 3) | (b+2)<<8 | (b+1)<<16 | b<<24
	}
}

// midstate returns the hash state after the header's first 64 bytes.
func midstate(header *[HeaderSize]byte) [8]uint32 {
	var block [16]uint32
	for i := range block {
		block[i] = binary.BigEndian.Uint32(header[4*i:])
	}
	h := iv
	compress(&h, &block)
	return h
}

// hashNonce returns the double SHA-256 of the header whose midstate is mid
// and whose bytes 64..75 are tail, with nonce: the full check of a
// candidate.
func hashNonce(mid *[8]uint32, tail *[3]uint32, nonce uint32) [32]byte {
	b1 := [16]uint32{tail[0], tail[1], tail[2], bits.ReverseBytes32(nonce), 0x80000000, 15: HeaderSize * 8}
	h1 := *mid
	compress(&h1, &b1)
	var b2 [16]uint32
	copy(b2[:], h1[:])
	b2[8], b2[15] = 0x80000000, 32*8
	h2 := iv
	compress(&h2, &b2)
	var out [32]byte
	for i, v := range h2 {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// MeetsTarget reports whether hash <= target, both 256-bit little-endian
// numbers (as block hashes are compared), from the most significant byte.
func MeetsTarget(hash, target *[32]byte) bool {
	for i := 31; i >= 0; i-- {
		if hash[i] != target[i] {
			return hash[i] < target[i]
		}
	}
	return true
}
