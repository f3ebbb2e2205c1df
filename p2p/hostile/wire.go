package hostile

import (
	"errors"
	"fmt"

	"github.com/minichain/minichain/chain"
)

// Message types of the sync protocol (docs/PROTOCOL.md, "Sync protocol").
// Each message is varint-length-prefixed and starts with its type byte.
const (
	MsgStatus     byte = 0x01 // request: empty
	MsgGetHeaders byte = 0x02 // request: locator (count + hashes), stop hash
	MsgGetBlocks  byte = 0x03 // request: count + hashes
	MsgGetMempool byte = 0x04 // request: empty
	MsgPushTxs    byte = 0x05 // request: count + transactions

	MsgStatusResp byte = 0x11
	MsgHeaders    byte = 0x12
	MsgBlocks     byte = 0x13
	MsgTxs        byte = 0x14
	MsgAck        byte = 0x15
	MsgError      byte = 0x7f
)

// Protocol limits the toolkit works up to (docs/PROTOCOL.md): a server
// answers at most MaxHeaders headers and is asked for at most MaxBlocksAsked
// blocks; a locator holds at most MaxLocator hashes.
const (
	MaxLocator     = 64
	MaxHeaders     = 2000
	MaxBlocksAsked = 128
)

// errShort is a message that ends early.
var errShort = errors.New("hostile: message ends early")

// EncodeGetHeaders is a get-headers request: the locator and a stop hash.
func EncodeGetHeaders(locator []chain.Hash, stop chain.Hash) []byte {
	b := appendHashes([]byte{MsgGetHeaders}, locator)
	return append(b, stop[:]...)
}

// EncodeGetBlocks is a get-blocks request for hashes.
func EncodeGetBlocks(hashes []chain.Hash) []byte {
	return appendHashes([]byte{MsgGetBlocks}, hashes)
}

// EncodeHeaders is a headers response.
func EncodeHeaders(hs []chain.Header) []byte {
	b := chain.AppendCompactSize([]byte{MsgHeaders}, uint64(len(hs)))
	for i := range hs {
		b = hs[i].AppendTo(b)
	}
	return b
}

// EncodeRaws is a response of type typ (MsgBlocks, MsgTxs) or a push
// request (MsgPushTxs) carrying raw objects: count, then length and bytes
// of each.
func EncodeRaws(typ byte, raws [][]byte) []byte {
	b := chain.AppendCompactSize([]byte{typ}, uint64(len(raws)))
	for _, r := range raws {
		b = chain.AppendCompactSize(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

// DecodeHashes decodes the count-prefixed hash list at the start of body
// (the locator of a get-headers request, the hashes of a get-blocks
// request) and returns what follows it.
func DecodeHashes(body []byte, max int) ([]chain.Hash, []byte, error) {
	n, rest, err := compactSize(body)
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(max) || n*chain.HashSize > uint64(len(rest)) {
		return nil, nil, fmt.Errorf("hostile: %d hashes, limit %d, %d bytes left", n, max, len(rest))
	}
	hs := make([]chain.Hash, n)
	for i := range hs {
		copy(hs[i][:], rest[:chain.HashSize])
		rest = rest[chain.HashSize:]
	}
	return hs, rest, nil
}

// DecodeHeaders decodes the body of a headers response.
func DecodeHeaders(body []byte) ([]chain.Header, error) {
	n, rest, err := compactSize(body)
	if err != nil {
		return nil, err
	}
	if n > MaxHeaders || n*chain.HeaderSize != uint64(len(rest)) {
		return nil, fmt.Errorf("hostile: %d headers in %d bytes", n, len(rest))
	}
	hs := make([]chain.Header, n)
	for i := range hs {
		if hs[i], err = chain.DecodeHeader(rest[:chain.HeaderSize]); err != nil {
			return nil, err
		}
		rest = rest[chain.HeaderSize:]
	}
	return hs, nil
}

// DecodeRaws decodes the body of a blocks or transactions response into
// its raw objects.
func DecodeRaws(body []byte) ([][]byte, error) {
	n, rest, err := compactSize(body)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(rest)) {
		return nil, fmt.Errorf("hostile: %d objects in %d bytes", n, len(rest))
	}
	out := make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		var l uint64
		if l, rest, err = compactSize(rest); err != nil {
			return nil, err
		}
		if l > uint64(len(rest)) {
			return nil, errShort
		}
		out = append(out, rest[:l])
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("hostile: %d trailing bytes", len(rest))
	}
	return out, nil
}

func appendHashes(b []byte, hs []chain.Hash) []byte {
	b = chain.AppendCompactSize(b, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// compactSize reads Bitcoin's compact-size integer. It accepts
// non-canonical encodings: this side only reads what honest nodes write.
func compactSize(b []byte) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errShort
	}
	width := map[byte]int{0xfd: 2, 0xfe: 4, 0xff: 8}[b[0]]
	if width == 0 {
		return uint64(b[0]), b[1:], nil
	}
	if len(b) < 1+width {
		return 0, nil, errShort
	}
	var v uint64
	for i := width; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, b[1+width:], nil
}
