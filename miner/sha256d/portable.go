package sha256d

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// portable is the Portable kernel: crypto/sha256 from the midstate, one
// nonce at a time. Each nonce costs two compressions: the last 16 header
// bytes with their padding, and the 32-byte first hash with its padding.
//
// Two ways to run those compressions through crypto/sha256, with the same
// buffers:
//
//   - the padded path (used when its self-test passes): it pads both
//     messages itself, once, so each Write is exactly one 64-byte block that
//     the digest compresses in place, and reads the result from the
//     digest's saved state (AppendBinary) instead of calling Sum, which
//     copies the digest and pads again. This depends on the layout of the
//     saved state, which crypto/sha256 does not document: newPortable
//     checks it against sha256.Sum256 and falls back when it differs.
//   - the Sum path: restore the midstate, Write the 16 bytes, Sum, then
//     sha256.Sum256 of the first hash.
type portable struct {
	d      hash.Hash
	u      encoding.BinaryUnmarshaler
	m      encoding.BinaryMarshaler
	a      encoding.BinaryAppender // nil when the digest has no AppendBinary
	padded bool                    // use the padded path
	state  []byte                  // the marshalled midstate
	out    []byte                  // AppendBinary's buffer, reused
	// block1 is header bytes 64..79 (the nonce is 76..79, block1[12:16])
	// then SHA-256 padding for an 80-byte message; the Sum path writes
	// block1[:16] only.
	block1 [64]byte
	// block2 is the first hash then SHA-256 padding for a 32-byte
	// message; the Sum path uses block2[:32] only.
	block2 [64]byte
}

// savedStateHash is where the chaining value h0..h7 (big-endian) sits in
// the saved state of a crypto/sha256 digest: after a 4-byte magic. After
// a whole number of blocks it is the hash of the padded message.
const savedStateHash = 4

// newPortable returns the Portable kernel's state; crypto/sha256's digest
// must be able to save and restore its state. It picks the padded path if
// it computes the same hashes as sha256.Sum256 on this build.
func newPortable() (*portable, error) {
	d := sha256.New()
	u, ok1 := d.(encoding.BinaryUnmarshaler)
	m, ok2 := d.(encoding.BinaryMarshaler)
	if !ok1 || !ok2 {
		return nil, errors.New("sha256d: this SHA-256 implementation cannot save its state")
	}
	h := &portable{d: d, u: u, m: m, out: make([]byte, 0, 128)}
	h.a, _ = d.(encoding.BinaryAppender)
	// Padding: a 1 bit, zeros, then the message length in bits.
	h.block1[16] = 0x80
	binary.BigEndian.PutUint64(h.block1[56:], HeaderSize*8)
	h.block2[sha256.Size] = 0x80
	binary.BigEndian.PutUint64(h.block2[56:], sha256.Size*8)
	h.padded = h.a != nil && h.selfTest()
	return h, nil
}

// selfTest checks the padded path against sha256.Sum256 on a few headers
// and nonces: scan must meet a target equal to the true hash, and not one
// below it.
func (h *portable) selfTest() bool {
	h.padded = true
	defer func() { h.padded = false }()
	for i := range 3 {
		var raw [HeaderSize]byte
		for j := range raw {
			raw[j] = byte(31*i + 7*j)
		}
		if h.setHeader(&raw) != nil {
			return false
		}
		nonce := 0x9e3779b9 * uint32(i+1)
		binary.LittleEndian.PutUint32(raw[76:], nonce)
		first := sha256.Sum256(raw[:])
		want := sha256.Sum256(first[:])
		if _, ok, err := h.scan(nonce, nonce, &want); !ok || err != nil {
			return false
		}
		below, borrow := want, true
		for j := 0; borrow && j < len(below); j++ {
			below[j]--
			borrow = below[j] == 0xff
		}
		if borrow { // the hash is zero: nothing is below it
			continue
		}
		if _, ok, err := h.scan(nonce, nonce, &below); ok || err != nil {
			return false
		}
	}
	return true
}

// setHeader takes a new header: it hashes the first 64 bytes and saves the
// midstate.
func (h *portable) setHeader(raw *[HeaderSize]byte) error {
	copy(h.block1[:16], raw[64:])
	h.d.Reset()
	h.d.Write(raw[:64])
	st, err := h.m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("sha256d: save SHA-256 midstate: %w", err)
	}
	h.state = st
	return nil
}

// scan hashes the header with every nonce from lo to hi and stops at the
// first whose hash meets target. It returns the last nonce hashed and
// whether it meets the target. It allocates nothing.
func (h *portable) scan(lo, hi uint32, target *[32]byte) (uint32, bool, error) {
	if h.padded {
		return h.scanPadded(lo, hi, target)
	}
	return h.scanSum(lo, hi, target)
}

// scanPadded is scan on the padded path.
func (h *portable) scanPadded(lo, hi uint32, target *[32]byte) (uint32, bool, error) {
	const end = savedStateHash + sha256.Size
	for n := lo; ; n++ {
		binary.LittleEndian.PutUint32(h.block1[12:], n)
		if err := h.u.UnmarshalBinary(h.state); err != nil {
			return n, false, fmt.Errorf("sha256d: restore SHA-256 midstate: %w", err)
		}
		h.d.Write(h.block1[:]) // one block, compressed in place
		st, err := h.a.AppendBinary(h.out[:0])
		if err != nil || len(st) < end {
			return n, false, fmt.Errorf("sha256d: read SHA-256 state: %d bytes, %v", len(st), err)
		}
		copy(h.block2[:sha256.Size], st[savedStateHash:end])
		h.d.Reset()
		h.d.Write(h.block2[:])
		st, err = h.a.AppendBinary(h.out[:0])
		if err != nil || len(st) < end {
			return n, false, fmt.Errorf("sha256d: read SHA-256 state: %d bytes, %v", len(st), err)
		}
		sum := (*[32]byte)(st[savedStateHash:end])
		// Fast reject on the most significant byte, which is all a
		// hash needs to fail nearly every time.
		if sum[31] <= target[31] && MeetsTarget(sum, target) {
			return n, true, nil
		}
		if n == hi {
			return n, false, nil
		}
	}
}

// scanSum is scan on the Sum path.
func (h *portable) scanSum(lo, hi uint32, target *[32]byte) (uint32, bool, error) {
	for n := lo; ; n++ {
		binary.LittleEndian.PutUint32(h.block1[12:], n)
		if err := h.u.UnmarshalBinary(h.state); err != nil {
			return n, false, fmt.Errorf("sha256d: restore SHA-256 midstate: %w", err)
		}
		h.d.Write(h.block1[:16])
		h.d.Sum(h.block2[:0]) // the first hash, into block2[:32]
		sum := sha256.Sum256(h.block2[:sha256.Size])
		if sum[31] <= target[31] && MeetsTarget(&sum, target) {
			return n, true, nil
		}
		if n == hi {
			return n, false, nil
		}
	}
}
