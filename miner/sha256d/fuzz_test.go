package sha256d

import (
	"encoding/binary"
	"testing"
)

// FuzzKernels compares every supported multi-lane kernel with the portable
// one on a header, a target (its top word and one more byte from the
// input, the rest 0xff so that candidates often need the full check) and a
// range of up to 64 nonces from lo.
func FuzzKernels(f *testing.F) {
	f.Add(make([]byte, HeaderSize), uint32(0), uint8(63), uint32(0x7fffffff), uint8(0))
	f.Add([]byte("minichain"), ^uint32(0)-20, uint8(40), uint32(0x00ffffff), uint8(0x80))
	f.Add([]byte{1, 2, 3}, uint32(1<<31), uint8(0), ^uint32(0), uint8(1))
	port, err := New(Portable)
	if err != nil {
		f.Fatal(err)
	}
	var multi []*Scanner
	for _, k := range []Kernel{AVX2, AVX512} {
		if k.Supported() {
			s, err := New(k)
			if err != nil {
				f.Fatal(err)
			}
			multi = append(multi, s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, lo uint32, count uint8, top uint32, next uint8) {
		var header [HeaderSize]byte
		copy(header[:], data)
		var target [32]byte
		for i := range target {
			target[i] = 0xff
		}
		binary.LittleEndian.PutUint32(target[28:], top)
		target[27] = next
		hi := lo + uint32(count%64)
		if hi < lo {
			hi = ^uint32(0)
		}
		if err := port.Reset(&header, &target); err != nil {
			t.Fatal(err)
		}
		want, wfound, err := port.Scan(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range multi {
			if err := s.Reset(&header, &target); err != nil {
				t.Fatal(err)
			}
			got, found, err := s.Scan(lo, hi)
			if err != nil || got != want || found != wfound {
				t.Fatalf("%v: Scan(%d, %d) = %d, %v, %v; portable says %d, %v", s.Kernel(), lo, hi, got, found, err, want, wfound)
			}
		}
	})
}
