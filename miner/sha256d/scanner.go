package sha256d

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Scanner scans the nonces of one header at a time with one kernel. It
// belongs to one goroutine. Scan allocates nothing.
type Scanner struct {
	kernel Kernel
	lanes  uint64
	port   *portable // Portable only
	job    *job      // the multi-lane kernels only
	mid    [8]uint32 // midstate, for the full check of candidates
	tail   [3]uint32 // header words 16..18 (bytes 64..75)
	target [32]byte
	ready  bool // Reset has succeeded
}

// New returns a Scanner running kernel k (Auto: Best). The error wraps
// ErrUnsupported when the CPU cannot run k.
func New(k Kernel) (*Scanner, error) {
	k, err := k.Resolve()
	if err != nil {
		return nil, err
	}
	s := &Scanner{kernel: k, lanes: uint64(k.Lanes())}
	if k == Portable {
		if s.port, err = newPortable(); err != nil {
			return nil, err
		}
	} else {
		s.job = new(job)
	}
	return s, nil
}

// Kernel returns the kernel the scanner runs (never Auto).
func (s *Scanner) Kernel() Kernel { return s.kernel }

// Reset makes the scanner hash header (its nonce bytes are ignored)
// against target, a 256-bit little-endian number as chain targets are.
func (s *Scanner) Reset(header *[HeaderSize]byte, target *[32]byte) error {
	s.ready = false
	s.target = *target
	if s.port != nil {
		if err := s.port.setHeader(header); err != nil {
			return err
		}
		s.ready = true
		return nil
	}
	s.mid = midstate(header)
	for i := range s.tail {
		s.tail[i] = binary.BigEndian.Uint32(header[64+4*i:])
	}
	s.job.set(&s.mid, header, target)
	s.ready = true
	return nil
}

// Scan hashes the header with the nonces lo..hi (inclusive) and returns
// the first that meets the target and true, or hi and false. The
// multi-lane kernels hash whole batches, so they may hash up to lanes-1
// nonces past the one returned, and past hi (ignored).
func (s *Scanner) Scan(lo, hi uint32) (uint32, bool, error) {
	switch {
	case !s.ready:
		return lo, false, fmt.Errorf("sha256d: Scan before a successful Reset")
	case hi < lo:
		return lo, false, fmt.Errorf("sha256d: Scan of an empty range %d..%d", lo, hi)
	case s.port != nil:
		return s.port.scan(lo, hi, &s.target)
	}
	n := uint64(hi-lo) + 1
	for start := uint64(0); start < n; {
		off, mask := scanLanes(s.kernel, s.job, lo+uint32(start), n-start)
		if mask == 0 {
			break
		}
		off += start
		if left := n - off; left < s.lanes {
			mask &= 1<<left - 1
		}
		for ; mask != 0; mask &= mask - 1 {
			nonce := lo + uint32(off) + uint32(bits.TrailingZeros32(mask))
			if h := hashNonce(&s.mid, &s.tail, nonce); MeetsTarget(&h, &s.target) {
				return nonce, true, nil
			}
		}
		start = off + s.lanes
	}
	return hi, false, nil
}
