package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/minichain/minichain/chain"
)

func frameReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func TestReadFrameLimits(t *testing.T) {
	getBlocks := encodeGetBlocks(nil)
	for _, tc := range []struct {
		name string
		in   []byte
		want error // nil: the frame comes back whole
	}{
		{"a request", appendFrame(nil, getBlocks), nil},
		{"status", appendFrame(nil, []byte{msgStatus}), nil},
		{"empty frame", []byte{0}, errMalformed},
		{"unknown type", appendFrame(nil, []byte{0x42}), errUnexpectedType},
		{"a response type as a request", appendFrame(nil, []byte{msgBlocks}), errUnexpectedType},
		{"over the largest request", binary.AppendUvarint(nil, maxRequest+1), errOversized},
		{"over its type's limit", append(binary.AppendUvarint(nil, getBlocksMax+1), msgGetBlocks), errOversized},
		{"status with a body", append(binary.AppendUvarint(nil, 2), msgStatus, 0), errOversized},
		{"length varint too long", bytes.Repeat([]byte{0xff}, 11), errMalformed},
		{"cut short", appendFrame(nil, encodeGetBlocks(make([]chain.Hash, 3)))[:50], io.ErrUnexpectedEOF},
		{"no type byte", binary.AppendUvarint(nil, 5), io.ErrUnexpectedEOF},
		{"nothing", nil, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFrame(frameReader(tc.in), maxRequest, requestLimit, nil)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("error %v", err)
			case tc.want == nil && !bytes.Equal(got, getBlocks) && !bytes.Equal(got, []byte{msgStatus}):
				t.Fatalf("frame %x", got)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestReadFrameReservesBeforeReading: the declared length is reserved
// before the body is read, and a refused reservation refuses the frame.
func TestReadFrameReservesBeforeReading(t *testing.T) {
	in := appendFrame(nil, encodeGetBlocks(nil))
	var reserved []int
	if _, err := readFrame(frameReader(in), maxRequest, requestLimit, func(n int) error {
		reserved = append(reserved, n)
		return nil
	}); err != nil || len(reserved) != 1 || reserved[0] != len(in)-1 {
		t.Fatalf("reserved %v, err %v", reserved, err)
	}
	if _, err := readFrame(frameReader(in), maxRequest, requestLimit, func(int) error { return errBusy }); !errors.Is(err, errBusy) {
		t.Fatalf("err %v, want the reservation's", err)
	}
}

// TestReadFrameAllocatesWhatArrives: a frame that declares a megabyte and
// delivers a few bytes costs the reader a few kilobytes, not the megabyte.
func TestReadFrameAllocatesWhatArrives(t *testing.T) {
	in := append(binary.AppendUvarint(nil, pushMax), msgPushTxs, 1, 2, 3)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if _, err := readFrame(frameReader(in), maxRequest, requestLimit, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 2*frameChunk {
		t.Fatalf("%d bytes allocated per short frame, want at most %d", per, 2*frameChunk)
	}
}

// TestReadFrameLargeBody: a body larger than one chunk arrives whole.
func TestReadFrameLargeBody(t *testing.T) {
	body := append([]byte{msgPushTxs}, bytes.Repeat([]byte{7}, 3*frameChunk+3)...)
	got, err := readFrame(frameReader(appendFrame(nil, body)), maxRequest, requestLimit, nil)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("err %v, %d bytes", err, len(got))
	}
	if cap(got) > 2*len(body) {
		t.Fatalf("buffer of %d bytes for %d", cap(got), len(body))
	}
}

// TestResponseLimits: a client takes the type it asked for or an error, at
// their limits, and nothing else.
func TestResponseLimits(t *testing.T) {
	lim := responseLimit(msgHeaders)
	if n, ok := lim(msgHeaders); !ok || n != headersMax {
		t.Fatal("headers")
	}
	if n, ok := lim(msgError); !ok || n != errorMax {
		t.Fatal("error")
	}
	if _, ok := lim(msgBlocks); ok {
		t.Fatal("a blocks response to a headers request must be refused")
	}
	for _, want := range []byte{msgStatusResp, msgHeaders, msgBlocks, msgTxs, msgAck} {
		if maxResponse(want) < errorMax {
			t.Fatalf("type %#x: limit below an error's", want)
		}
	}
	if len(encodeStatus(hugeStatus())) > statusSize || len(encodeError(string(make([]byte, 1000)))) > errorMax {
		t.Fatal("a valid message exceeds its own limit")
	}
}
