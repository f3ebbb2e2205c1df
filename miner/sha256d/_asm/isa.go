package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// avx512 keeps 16 lanes in a ZMM register and every live message word in a
// register (32 of them: 8 state, at most 16 words, temporaries). Rotations
// are one instruction (VPRORD) and every three-input Boolean function one
// more (VPTERNLOGD); only AVX512F instructions are used.
type avx512 struct{ j GPVirtual }

func (*avx512) lanes() int                 { return 16 }
func (*avx512) vec() VecVirtual            { return ZMM() }
func (a *avx512) job(i int) Mem            { return Mem{Base: a.j, Disp: 4 * i} }
func (a *avx512) add(d Register, s Op)     { VPADDD(s, d, d) }
func (a *avx512) addJob(d Register, i int) { VPADDD_BCST(a.job(i), d, d) }

func (a *avx512) sigma(x Op, r1, r2, r3 int, shr bool) Register {
	t0, t1, t2 := ZMM(), ZMM(), ZMM()
	VPRORD(U8(r1), x, t0)
	VPRORD(U8(r2), x, t1)
	if shr {
		VPSRLD(U8(r3), x, t2)
	} else {
		VPRORD(U8(r3), x, t2)
	}
	VPTERNLOGD(U8(0x96), t2, t1, t0) // t0 ^ t1 ^ t2
	return t0
}

func (a *avx512) ch(e, f, g Register) Register {
	t := ZMM()
	VMOVDQA64(e, t)
	VPTERNLOGD(U8(0xca), g, f, t) // t ? f : g
	return t
}

func (a *avx512) maj(x, y, z Register) Register {
	t := ZMM()
	VMOVDQA64(x, t)
	VPTERNLOGD(U8(0xe8), z, y, t) // majority
	return t
}

func (a *avx512) load(s Op) Register {
	t := ZMM()
	VMOVDQA64(s, t)
	return t
}

func (a *avx512) loadJob(i int) Register {
	t := ZMM()
	VPBROADCASTD(a.job(i), t)
	return t
}

func (a *avx512) keep(_ int, v Register) Op { return v }

// bswap reverses the bytes of each lane of x in place: (ror8 & 0xff00ff00)
// | (rol8 & 0x00ff00ff).
func (a *avx512) bswap(x Register) {
	t := ZMM()
	VPROLD(U8(8), x, t)
	VPRORD(U8(8), x, x)
	VPTERNLOGD_BCST(U8(0xd8), a.job(jMask), t, x) // mask ? t : x
}

func (a *avx512) nonceWords(lo GPVirtual) Register {
	v := ZMM()
	VPBROADCASTD(lo, v)
	VPADDD(a.job(jLane), v, v)
	a.bswap(v)
	return v
}

func (a *avx512) candidates(h7 Register) GPVirtual {
	a.bswap(h7)
	k := K()
	VPCMPUD_BCST(U8(2), a.job(jTgt), h7, k) // h7 <= target top word
	m := GP32()
	KMOVW(k, m)
	return m
}

// avx2 keeps 8 lanes in a YMM register. With 16 registers the state and
// the temporaries fill them, so message words live on the stack, in a ring
// of 16 slots (word t-16 is read before word t is written over it).
// Rotations are two shifts and an OR; Σ and σ XOR six (five) shifts.
type avx2 struct {
	j     GPVirtual
	slots Mem // message words t and t+16 share slot t%16 (32 bytes)
}

func (*avx2) lanes() int                 { return 8 }
func (*avx2) vec() VecVirtual            { return YMM() }
func (a *avx2) job(i int) Mem            { return Mem{Base: a.j, Disp: 4 * i} }
func (a *avx2) add(d Register, s Op)     { VPADDD(s, d, d) }
func (a *avx2) addJob(d Register, i int) { VPADDD(a.loadJob(i), d, d) }

func (a *avx2) sigma(x Op, r1, r2, r3 int, shr bool) Register {
	if _, ok := x.(Mem); ok {
		x = a.load(x)
	}
	acc, t := YMM(), YMM()
	VPSRLD(U8(r1), x, acc)
	VPSRLD(U8(r2), x, t)
	VPXOR(t, acc, acc)
	VPSRLD(U8(r3), x, t)
	VPXOR(t, acc, acc)
	VPSLLD(U8(32-r1), x, t)
	VPXOR(t, acc, acc)
	VPSLLD(U8(32-r2), x, t)
	VPXOR(t, acc, acc)
	if !shr {
		VPSLLD(U8(32-r3), x, t)
		VPXOR(t, acc, acc)
	}
	return acc
}

func (a *avx2) ch(e, f, g Register) Register {
	t := YMM()
	VPXOR(g, f, t)
	VPAND(e, t, t)
	VPXOR(g, t, t) // ((f ^ g) & e) ^ g
	return t
}

func (a *avx2) maj(x, y, z Register) Register {
	t, u := YMM(), YMM()
	VPXOR(y, x, t)
	VPXOR(z, y, u)
	VPAND(u, t, t)
	VPXOR(y, t, t) // ((x ^ y) & (y ^ z)) ^ y
	return t
}

func (a *avx2) load(s Op) Register {
	t := YMM()
	VMOVDQU(s, t)
	return t
}

func (a *avx2) loadJob(i int) Register {
	t := YMM()
	VPBROADCASTD(a.job(i), t)
	return t
}

func (a *avx2) keep(t int, v Register) Op {
	slot := a.slots.Offset(32 * (t % 16))
	VMOVDQU(v, slot)
	return slot
}

func (a *avx2) nonceWords(lo GPVirtual) Register {
	x, v := XMM(), YMM()
	MOVD(lo, x)
	VPBROADCASTD(x, v)
	VPADDD(a.job(jLane), v, v)
	VPSHUFB(a.job(jShuf), v, v)
	return v
}

func (a *avx2) candidates(h7 Register) GPVirtual {
	VPSHUFB(a.job(jShuf), h7, h7)
	tgt, mx := a.loadJob(jTgt), YMM()
	VPMAXUD(tgt, h7, mx)
	VPCMPEQD(tgt, mx, mx) // max(h7, target) == target: h7 <= target
	m := GP32()
	VMOVMSKPS(mx, m)
	return m
}
