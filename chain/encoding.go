package chain

import (
	"encoding/binary"
	"math"
)

// This file holds the primitives of the canonical binary encoding: fixed-size
// little-endian integers and Bitcoin's compact-size integers. Decoding works
// on an in-memory byte slice, so every length is checked against the bytes
// that remain before anything is allocated.

// MaxCompactSize bounds a compact-size integer that announces a count or a
// length; nothing we decode can legitimately be larger.
const MaxCompactSize = 0x02000000

// CompactSizeLen returns the number of bytes the compact-size encoding of v
// takes.
func CompactSizeLen(v uint64) int {
	switch {
	case v < 0xfd:
		return 1
	case v <= math.MaxUint16:
		return 3
	case v <= math.MaxUint32:
		return 5
	default:
		return 9
	}
}

// AppendCompactSize appends the compact-size encoding of v.
func AppendCompactSize(b []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(b, byte(v))
	case v <= math.MaxUint16:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(v))
	case v <= math.MaxUint32:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(v))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xff), v)
	}
}

// appendVarBytes appends a compact-size length followed by the bytes.
func appendVarBytes(b, data []byte) []byte {
	return append(AppendCompactSize(b, uint64(len(data))), data...)
}

// reader decodes from a byte slice. The first error sticks: later reads
// return zero values, so decoders check r.err once per object, not per field.
type reader struct {
	b   []byte
	off int
	err error
	// what names the object being decoded, for error messages.
	what string
}

func newReader(b []byte, what string) *reader { return &reader{b: b, what: what} }

func (r *reader) fail(k ErrorKind, format string, args ...any) {
	if r.err == nil {
		r.err = ruleError(k, r.what+": "+format, args...)
	}
}

// remaining returns the number of unread bytes.
func (r *reader) remaining() int { return len(r.b) - r.off }

// next returns the next n bytes without copying them.
func (r *reader) next(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail(ErrMalformed, "%s: need %d bytes at offset %d, have %d", field, n, r.off, r.remaining())
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) uint32(field string) uint32 {
	s := r.next(4, field)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (r *reader) uint64(field string) uint64 {
	s := r.next(8, field)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

func (r *reader) hash(field string) Hash {
	var h Hash
	if s := r.next(HashSize, field); s != nil {
		copy(h[:], s)
	}
	return h
}

// compactSize reads a canonical compact-size integer: the shortest encoding
// is required, so every value has exactly one encoding and decode(encode(x))
// is the identity on bytes.
func (r *reader) compactSize(field string) uint64 {
	s := r.next(1, field)
	if s == nil {
		return 0
	}
	var v, min uint64
	switch s[0] {
	case 0xfd:
		b := r.next(2, field)
		if b == nil {
			return 0
		}
		v, min = uint64(binary.LittleEndian.Uint16(b)), 0xfd
	case 0xfe:
		b := r.next(4, field)
		if b == nil {
			return 0
		}
		v, min = uint64(binary.LittleEndian.Uint32(b)), 0x10000
	case 0xff:
		b := r.next(8, field)
		if b == nil {
			return 0
		}
		v, min = binary.LittleEndian.Uint64(b), 0x100000000
	default:
		return uint64(s[0])
	}
	if v < min {
		r.fail(ErrMalformed, "%s: non-canonical compact size %d", field, v)
		return 0
	}
	return v
}

// count reads a compact-size element count and checks it against the bytes
// left, given that each element takes at least minElem bytes. This is what
// keeps a forged count from sizing an allocation.
func (r *reader) count(field string, minElem int) int {
	n := r.compactSize(field)
	if r.err != nil {
		return 0
	}
	if n > MaxCompactSize || n*uint64(minElem) > uint64(r.remaining()) {
		r.fail(ErrMalformed, "%s: count %d cannot fit in the %d bytes left", field, n, r.remaining())
		return 0
	}
	return int(n)
}

// varBytes reads a compact-size length and that many bytes, copied so the
// result does not alias the input buffer.
func (r *reader) varBytes(field string, max int) []byte {
	n := r.compactSize(field)
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail(ErrTooLarge, "%s: length %d exceeds the limit %d", field, n, max)
		return nil
	}
	s := r.next(int(n), field)
	if s == nil {
		return nil
	}
	out := make([]byte, len(s))
	copy(out, s)
	return out
}

// finish reports an error when bytes remain after a complete object.
func (r *reader) finish() error {
	if r.err == nil && r.remaining() != 0 {
		r.fail(ErrTrailingBytes, "%d unexpected bytes after the end", r.remaining())
	}
	return r.err
}
