package chain

import (
	"encoding/binary"
	"time"
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// Header is a block header in Bitcoin's 80-byte layout.
type Header struct {
	Version    int32
	PrevBlock  Hash
	MerkleRoot Hash
	Timestamp  uint32 // unix seconds
	Bits       uint32 // compact target
	Nonce      uint32
}

// Serialize returns the 80-byte encoding of h.
func (h *Header) Serialize() []byte {
	b := make([]byte, 0, HeaderSize)
	return h.AppendTo(b)
}

// AppendTo appends the 80-byte encoding of h to b.
func (h *Header) AppendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Version))
	b = append(b, h.PrevBlock[:]...)
	b = append(b, h.MerkleRoot[:]...)
	b = binary.LittleEndian.AppendUint32(b, h.Timestamp)
	b = binary.LittleEndian.AppendUint32(b, h.Bits)
	return binary.LittleEndian.AppendUint32(b, h.Nonce)
}

// BlockHash returns SHA-256d of the serialized header.
func (h *Header) BlockHash() Hash {
	var buf [HeaderSize]byte
	return DoubleSHA256(h.AppendTo(buf[:0]))
}

// Time returns the header timestamp as a time.Time.
func (h *Header) Time() time.Time { return time.Unix(int64(h.Timestamp), 0) }

// DecodeHeader decodes exactly 80 bytes into a header.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) != HeaderSize {
		return Header{}, ruleError(ErrMalformed, "header: %d bytes, want %d", len(b), HeaderSize)
	}
	r := newReader(b, "header")
	h := readHeader(r)
	return h, r.finish()
}

func readHeader(r *reader) Header {
	var h Header
	h.Version = int32(r.uint32("version"))
	h.PrevBlock = r.hash("prev block")
	h.MerkleRoot = r.hash("merkle root")
	h.Timestamp = r.uint32("time")
	h.Bits = r.uint32("bits")
	h.Nonce = r.uint32("nonce")
	return h
}
