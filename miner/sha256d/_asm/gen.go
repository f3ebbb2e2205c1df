// Command _asm generates the multi-lane double SHA-256 nonce-scan kernels
// of package sha256d (scan_amd64.s, its Go declarations scan_amd64.go) and
// the layout of the job they read (zlayout.go). It is its own module so that
// the main module does not depend on avo; run it with go generate in
// miner/sha256d.
//
// Both kernels run the same straight-line program over L lanes (one nonce
// per 32-bit lane: 16 in a ZMM register, 8 in a YMM register), with every
// value that does not depend on the nonce folded away when the program is
// generated or precomputed per header in Go (see job.go):
//
//   - block 1 (header bytes 64..79 and padding): rounds 0..2 and the
//     constant part of round 3 are precomputed, so a lane starts at round 3
//     with two additions; rounds 4..17 add one precomputed K+W word; message
//     words with constant terms add one precomputed word for all of them.
//   - block 2 (the first hash and padding): round 0 is precomputed the same
//     way, rounds 8..15 add one K+W word.
//   - the final state word H7 (the most significant word of the hash read as
//     a little-endian number) is e after round 60, so rounds 61..63 are
//     skipped, and so is the a half of rounds 57..60, whose values would only
//     feed them. A lane whose H7 (byte-swapped) is at most the target's top
//     word is a candidate; the Go side checks candidates in full.
package main

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Layout of the job: indexes of 32-bit words. Arrays indexed by round t
// have 64 entries whatever part of them is used.
const (
	jS4      = 0   // block 1 state before round 4, less W3 in a and e
	jS1B2    = 8   // block 2 state before round 1, less W0 in a and e
	jMid     = 16  // midstate: hash state after header bytes 0..63
	jK       = 24  // K[t]
	jKW1     = 88  // block 1: K[t]+W[t] for the constant words t = 4..17
	jC1      = 152 // block 1: sum of the constant terms of W[t], t >= 18
	jKW2     = 216 // block 2: K[t]+W[t] for the constant words t = 8..15
	jC2      = 280 // block 2: sum of the constant terms of W[t], t >= 16
	jTgt     = 344 // target's top word (bytes 28..31, little-endian)
	jIV7     = 345 // the initial hash value H7
	jMask    = 346 // 0x00ff00ff, for the byte swap by rotations
	jLane    = 348 // 0, 1, ..., 15: lane offsets
	jShuf    = 364 // VPSHUFB byte-swap control, 32 bytes
	jobWords = 384
)

// lastRound2 is the last round of block 2 computed: H7 = IV7 + e after it.
const lastRound2 = 60

// vecWord reports whether message word t of block b (1 or 2) depends on
// the nonce. job.go has the same rule.
func vecWord(b, t int) bool {
	if t < 16 {
		if b == 1 {
			return t == 3
		}
		return t < 8
	}
	return vecWord(b, t-2) || vecWord(b, t-7) || vecWord(b, t-15) || vecWord(b, t-16)
}

// isa is one instruction set's way to compute over vectors of lanes.
type isa interface {
	lanes() int
	vec() VecVirtual
	// sigma returns rotr(x,r1) ^ rotr(x,r2) ^ (shr ? x>>r3 : rotr(x,r3)).
	sigma(x Op, r1, r2, r3 int, shr bool) Register
	ch(e, f, g Register) Register
	maj(a, b, c Register) Register
	add(dst Register, src Op)
	addJob(dst Register, idx int) // dst += job word idx, in every lane
	load(src Op) Register         // a new register holding src
	loadJob(idx int) Register     // a new register holding job word idx in every lane
	keep(t int, v Register) Op    // where message word t lives from now on
	nonceWords(lo GPVirtual) Register
	candidates(h7 Register) GPVirtual
}

// gen holds what the program shares: the job pointer.
type gen struct {
	isa
	j GPVirtual
}

func (g *gen) job(idx int) Mem { return Mem{Base: g.j, Disp: 4 * idx} }

// round runs SHA-256 round t on st (a..h), with kw the job word holding
// K[t]+W[t] when W[t] is a constant, else w (W[t]) and K[t]. It returns
// the new state. Without needA it leaves the new a undefined (nil).
func (g *gen) round(st [8]Register, w Op, kw int, needA bool) [8]Register {
	a, b, c, d, e, f, gg, h := st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]
	s1 := g.sigma(e, 6, 11, 25, false)
	ch := g.ch(e, f, gg)
	g.add(h, s1)
	g.add(h, ch)
	if w != nil {
		g.add(h, w)
	}
	g.addJob(h, kw)
	g.add(d, h) // d + T1: the new e
	var na Register
	if needA {
		s0 := g.sigma(a, 2, 13, 22, false)
		mj := g.maj(a, b, c)
		g.add(h, s0)
		g.add(h, mj) // T1 + T2: the new a
		na = h
	}
	return [8]Register{na, a, b, c, d, e, f, gg}
}

// schedule computes message word t of block b from the earlier ones (nil
// where a word is a constant) and cjob, the job array of constant parts.
func (g *gen) schedule(b, t int, w []Op, cjob int) Op {
	var dst Register
	put := func(v Register) {
		if dst == nil {
			dst = v
		} else {
			g.add(dst, v)
		}
	}
	hasConst := false
	if vecWord(b, t-2) {
		put(g.sigma(w[t-2], 17, 19, 10, true))
	} else {
		hasConst = true
	}
	if vecWord(b, t-15) {
		put(g.sigma(w[t-15], 7, 18, 3, true))
	} else {
		hasConst = true
	}
	for _, i := range []int{t - 7, t - 16} {
		switch {
		case !vecWord(b, i):
			hasConst = true
		case dst == nil:
			dst = g.load(w[i])
		default:
			g.add(dst, w[i])
		}
	}
	if hasConst {
		g.addJob(dst, cjob+t)
	}
	return g.keep(t, dst)
}

// state loads an 8-word state from the job.
func (g *gen) state(idx int) [8]Register {
	var st [8]Register
	for i := range st {
		st[i] = g.loadJob(idx + i)
	}
	return st
}

// batch hashes the lanes' nonces lo, lo+1, ... and returns the candidate
// mask.
func (g *gen) batch(lo GPVirtual) GPVirtual {
	w := make([]Op, 64)
	Comment("Block 1: header bytes 64..79 and padding, from the midstate.")
	w3 := g.nonceWords(lo)
	w[3] = g.keep(3, w3)
	st := g.state(jS4)
	g.add(st[0], w3)
	g.add(st[4], w3)
	for t := 4; t < 64; t++ {
		if vecWord(1, t) {
			w[t] = g.schedule(1, t, w, jC1)
			st = g.round(st, w[t], jK+t, true)
		} else {
			st = g.round(st, nil, jKW1+t, true)
		}
	}
	Comment("Block 2: the first hash and padding, from the initial value.")
	w = make([]Op, 64)
	for i := range 8 {
		g.addJob(st[i], jMid+i)
		w[i] = g.keep(i, st[i])
	}
	w0 := g.load(w[0])
	st = g.state(jS1B2)
	g.add(st[0], w0)
	g.add(st[4], w0)
	for t := 1; t <= lastRound2; t++ {
		needA := t < lastRound2-3
		if vecWord(2, t) {
			if t >= 16 {
				w[t] = g.schedule(2, t, w, jC2)
			}
			st = g.round(st, w[t], jK+t, needA)
		} else {
			st = g.round(st, nil, jKW2+t, needA)
		}
	}
	Comment("H7 = IV7 + e; a candidate's byte-swapped H7 is at most the target's top word.")
	g.addJob(st[4], jIV7)
	return g.candidates(st[4])
}

// kernel emits one scan function.
func kernel(name string, i isa) {
	attr := NOSPLIT
	if _, ok := i.(*avx2); ok {
		attr = 0 // a 512-byte frame: let the stack grow
	}
	TEXT(name, attr, fmt.Sprintf("func(j *[%d]uint32, lo uint32, n uint64) (off uint64, mask uint32)", jobWords))
	Doc(name+" hashes the nonces lo, lo+1, ..., lo+n-1 (n >= 1) in batches of",
		fmt.Sprintf("%d lanes and returns the offset of the first batch with a candidate and", i.lanes()),
		"its lanes (mask bit k: nonce lo+off+k), or mask 0 when no batch has one.",
		"Lanes past n in the last batch are hashed too; the caller ignores them.")
	g := &gen{isa: i}
	g.j = Load(Param("j"), GP64()).(GPVirtual)
	if a, ok := i.(*avx2); ok {
		a.j = g.j
		a.slots = AllocLocal(16 * 32)
	} else {
		i.(*avx512).j = g.j
	}
	lo := Load(Param("lo"), GP32()).(GPVirtual)
	n := Load(Param("n"), GP64()).(GPVirtual)
	off := GP64()
	XORQ(off, off)
	Label(name + "_loop")
	mask := g.batch(lo)
	TESTL(mask, mask)
	JNZ(LabelRef(name + "_done"))
	ADDQ(U8(i.lanes()), off)
	ADDL(U8(i.lanes()), lo)
	CMPQ(off, n)
	JB(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	Store(off, ReturnIndex(0))
	Store(mask.As32(), ReturnIndex(1))
	RET()
}

func main() {
	layout := flag.String("layout", "", "write the job layout constants to this Go file")
	ConstraintExpr("!purego")
	kernel("scanAVX512", &avx512{})
	kernel("scanAVX2", &avx2{})
	Generate() // parses the flags, -layout included

	if *layout != "" {
		if err := writeLayout(*layout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func writeLayout(path string) error {
	src := fmt.Sprintf(`// Code generated by _asm/gen.go. DO NOT EDIT.

package sha256d

// Layout of the job the kernels read: indexes of 32-bit words (see
// _asm/gen.go for what each holds).
const (
	jS4      = %d
	jS1B2    = %d
	jMid     = %d
	jK       = %d
	jKW1     = %d
	jC1      = %d
	jKW2     = %d
	jC2      = %d
	jTgt     = %d
	jIV7     = %d
	jMask    = %d
	jLane    = %d
	jShuf    = %d
	jobWords = %d
)
`, jS4, jS1B2, jMid, jK, jKW1, jC1, jKW2, jC2, jTgt, jIV7, jMask, jLane, jShuf, jobWords)
	return os.WriteFile(path, []byte(src), 0o644)
}
