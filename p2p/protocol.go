package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/minichain/minichain/chain"
)

// The sync protocol is request/response on libp2p streams: the client opens
// a stream, writes one request, closes its side, reads one response. Each
// message is varint-length-prefixed (msgio) and starts with a type byte;
// integers are little-endian, counts and lengths compact-size, hashes in
// internal byte order, as in the consensus encoding. docs/PROTOCOL.md has
// the details.

// Message types.
const (
	msgStatus     byte = 0x01 // request: empty
	msgGetHeaders byte = 0x02 // request: locator, stop
	msgGetBlocks  byte = 0x03 // request: hashes
	msgGetMempool byte = 0x04 // request: empty
	msgPushTxs    byte = 0x05 // request: transactions the sender offers
	msgAck        byte = 0x15 // response to msgPushTxs: empty
	msgStatusResp byte = 0x11
	msgHeaders    byte = 0x12
	msgBlocks     byte = 0x13
	msgTxs        byte = 0x14
	msgError      byte = 0x7f
)

// Limits of the protocol. Every frame is checked against the limit of its
// type before anything is allocated for it (frame.go).
const (
	maxLocator      = 64        // hashes in a locator
	maxHeaders      = 2000      // headers per response
	maxBlocksAsked  = 128       // blocks per request
	blocksRespBytes = 2 << 20   // a server stops adding blocks past this
	mempoolBytes    = 2 << 20   // and transactions past this
	pushBytes       = 256 << 10 // the transactions of one push, framing included
	maxErrorLen     = 256       // bytes of an error message

	// What a client accepts: servers of an earlier version stopped adding
	// blocks past 8 MiB and transactions past 4 MiB.
	maxBlocksResp  = 12 << 20
	maxMempoolResp = 4<<20 + 256<<10

	maxVarint     = 9 // a compact-size integer
	statusSize    = 1 + 2*chain.HashSize + 4 + maxVarint + 32
	getHeadersMax = 1 + maxVarint + maxLocator*chain.HashSize + chain.HashSize
	getBlocksMax  = 1 + maxVarint + maxBlocksAsked*chain.HashSize
	headersMax    = 1 + maxVarint + maxHeaders*chain.HeaderSize
	pushMax       = 1 + maxVarint + pushBytes
	errorMax      = 1 + maxVarint + maxErrorLen
	maxRequest    = pushMax // the largest request of any type
)

// requestLimit is the largest request frame of each type a server reads.
func requestLimit(typ byte) (int, bool) {
	switch typ {
	case msgStatus, msgGetMempool:
		return 1, true
	case msgGetHeaders:
		return getHeadersMax, true
	case msgGetBlocks:
		return getBlocksMax, true
	case msgPushTxs:
		return pushMax, true
	}
	return 0, false
}

// responseLimit is the largest response frame of the type a request
// expects; an error answer is always acceptable, any other type is not.
func responseLimit(want byte) frameLimit {
	return func(typ byte) (int, bool) {
		if typ == msgError {
			return errorMax, true
		}
		if typ != want {
			return 0, false
		}
		switch typ {
		case msgStatusResp:
			return statusSize, true
		case msgHeaders:
			return headersMax, true
		case msgBlocks:
			return maxBlocksResp, true
		case msgTxs:
			return maxMempoolResp, true
		case msgAck:
			return 1, true
		}
		return 0, false
	}
}

// maxResponse is the largest response frame a client may be sent for a
// request expecting want.
func maxResponse(want byte) int {
	n, _ := responseLimit(want)(want)
	return max(n, errorMax)
}

// Status is a peer's view of its chain, exchanged on connect.
type Status struct {
	Genesis chain.Hash
	Tip     chain.Hash
	Height  int32
	Work    *big.Int // cumulative work of the tip
}

// errMalformed is a message that does not decode.
var errMalformed = errors.New("malformed sync message")

// wreader decodes a message, bounding every count by the bytes left.
type wreader struct {
	b   []byte
	err error
}

func (r *wreader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
	}
}

func (r *wreader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("need %d bytes, have %d", n, len(r.b))
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *wreader) varint() uint64 {
	s := r.next(1)
	if s == nil {
		return 0
	}
	switch s[0] {
	case 0xfd:
		if b := r.next(2); b != nil {
			return uint64(binary.LittleEndian.Uint16(b))
		}
	case 0xfe:
		if b := r.next(4); b != nil {
			return uint64(binary.LittleEndian.Uint32(b))
		}
	case 0xff:
		if b := r.next(8); b != nil {
			return binary.LittleEndian.Uint64(b)
		}
	default:
		return uint64(s[0])
	}
	return 0
}

// count reads a count of elements of at least minElem bytes, at most max.
func (r *wreader) count(max, minElem int) int {
	n := r.varint()
	if r.err == nil && (n > uint64(max) || n*uint64(minElem) > uint64(len(r.b))) {
		r.fail("count %d exceeds the limit %d or the message", n, max)
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *wreader) hash() chain.Hash {
	var h chain.Hash
	copy(h[:], r.next(chain.HashSize))
	return h
}

func (r *wreader) bytes(max int) []byte {
	n := r.varint()
	if r.err == nil && n > uint64(max) {
		r.fail("length %d exceeds %d", n, max)
	}
	if r.err != nil {
		return nil
	}
	return r.next(int(n))
}

func (r *wreader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

func appendHashes(b []byte, hs []chain.Hash) []byte {
	b = chain.AppendCompactSize(b, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func encodeStatus(s Status) []byte {
	b := []byte{msgStatusResp}
	b = append(b, s.Genesis[:]...)
	b = append(b, s.Tip[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Height))
	work := s.Work.Bytes()
	b = chain.AppendCompactSize(b, uint64(len(work)))
	return append(b, work...)
}

func decodeStatus(body []byte) (Status, error) {
	r := &wreader{b: body}
	s := Status{Genesis: r.hash(), Tip: r.hash()}
	if h := r.next(4); h != nil {
		s.Height = int32(binary.LittleEndian.Uint32(h))
	}
	s.Work = new(big.Int).SetBytes(r.bytes(32))
	if s.Height < 0 {
		r.fail("negative height")
	}
	return s, r.done()
}

func encodeGetHeaders(locator []chain.Hash, stop chain.Hash) []byte {
	b := appendHashes([]byte{msgGetHeaders}, locator)
	return append(b, stop[:]...)
}

func decodeGetHeaders(body []byte) ([]chain.Hash, chain.Hash, error) {
	r := &wreader{b: body}
	n := r.count(maxLocator, chain.HashSize)
	loc := make([]chain.Hash, n)
	for i := range loc {
		loc[i] = r.hash()
	}
	stop := r.hash()
	return loc, stop, r.done()
}

func encodeHeaders(hs []chain.Header) []byte {
	b := chain.AppendCompactSize([]byte{msgHeaders}, uint64(len(hs)))
	for i := range hs {
		b = hs[i].AppendTo(b)
	}
	return b
}

func decodeHeaders(body []byte) ([]chain.Header, error) {
	r := &wreader{b: body}
	n := r.count(maxHeaders, chain.HeaderSize)
	hs := make([]chain.Header, 0, n)
	for i := 0; i < n; i++ {
		raw := r.next(chain.HeaderSize)
		if raw == nil {
			break
		}
		h, err := chain.DecodeHeader(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		hs = append(hs, h)
	}
	return hs, r.done()
}

func encodeGetBlocks(hs []chain.Hash) []byte { return appendHashes([]byte{msgGetBlocks}, hs) }

func decodeGetBlocks(body []byte) ([]chain.Hash, error) {
	r := &wreader{b: body}
	n := r.count(maxBlocksAsked, chain.HashSize)
	hs := make([]chain.Hash, n)
	for i := range hs {
		hs[i] = r.hash()
	}
	return hs, r.done()
}

// encodeRaws encodes a list of raw objects (blocks or transactions).
func encodeRaws(typ byte, raws [][]byte) []byte {
	b := chain.AppendCompactSize([]byte{typ}, uint64(len(raws)))
	for _, raw := range raws {
		b = chain.AppendCompactSize(b, uint64(len(raw)))
		b = append(b, raw...)
	}
	return b
}

// decodeRaws decodes a list of raw objects of at most maxEach bytes.
func decodeRaws(body []byte, maxEach int) ([][]byte, error) {
	r := &wreader{b: body}
	n := r.count(maxBlocksResp, 1)
	out := make([][]byte, 0, min(n, 1024))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.bytes(maxEach))
	}
	return out, r.done()
}

// EncodeStatus is the wire form of a status response, without framing
// (streams carry it varint-length-prefixed); tools and tests that speak the
// sync protocol use it.
func EncodeStatus(s Status) []byte { return encodeStatus(s) }

func encodeError(msg string) []byte {
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	b := chain.AppendCompactSize([]byte{msgError}, uint64(len(msg)))
	return append(b, msg...)
}

func decodeError(body []byte) string {
	r := &wreader{b: body}
	return string(r.bytes(maxErrorLen))
}
