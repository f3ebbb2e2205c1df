package p2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// A sync-protocol frame is a uvarint length followed by that many bytes, the
// first of which is the message type. Reading one must cost the reader no
// more than the sender has actually sent: the length is checked against the
// limit of the frame's type before anything is allocated, memory is reserved
// (with the stream's resource-manager scope) before the body is read, and
// the buffer grows as bytes arrive rather than being allocated from the
// declared length.

// Frame errors.
var (
	// errOversized is a frame longer than its type allows.
	errOversized = errors.New("sync frame over its size limit")
	// errUnexpectedType is a frame of a type not acceptable here: an
	// unknown request, or a response to another request.
	errUnexpectedType = errors.New("unexpected sync message type")
)

// frameLimit returns the largest frame of a type the reader accepts, or
// false when that type is not acceptable here at all.
type frameLimit func(typ byte) (int, bool)

// frameChunk is how much the buffer grows by at a time, at most.
const frameChunk = 64 << 10

// readFrame reads one frame. maxAny bounds the declared length before the
// type is known (the largest limit any type has); limit bounds it once the
// type byte has arrived. reserve, when not nil, is called with the declared
// length before the body is read: an error from it refuses the frame.
//
// An oversized declaration is errOversized, an unacceptable type
// errUnexpectedType, a malformed length errMalformed; a stream that ends early or times out
// returns the I/O error.
func readFrame(r *bufio.Reader, maxAny int, limit frameLimit, reserve func(n int) error) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: frame length: %v", errMalformed, err)
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: empty frame", errMalformed)
	case n > uint64(maxAny):
		return nil, fmt.Errorf("%w: %d bytes declared, at most %d", errOversized, n, maxAny)
	}
	typ, err := r.ReadByte()
	if err != nil {
		return nil, noEOF(err)
	}
	lim, ok := limit(typ)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w %#02x", errUnexpectedType, typ)
	case n > uint64(lim):
		return nil, fmt.Errorf("%w: %d bytes declared for type %#02x, at most %d", errOversized, n, typ, lim)
	}
	if reserve != nil {
		if err := reserve(int(n)); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, 1, min(int(n), frameChunk))
	buf[0] = typ
	for len(buf) < int(n) {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(int(n)-len(buf), max(len(buf), frameChunk)))
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), int(n))])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < int(n) {
			return nil, noEOF(err)
		}
	}
	return buf, nil
}

// noEOF turns a clean EOF in the middle of a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame appends msg with its length prefix to b.
func appendFrame(b, msg []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

// writeFrame writes msg as one frame.
func writeFrame(w io.Writer, msg []byte) error {
	_, err := w.Write(appendFrame(make([]byte, 0, len(msg)+binary.MaxVarintLen64), msg))
	return err
}
