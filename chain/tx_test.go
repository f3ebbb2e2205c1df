package chain

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// TestRealTxVectors decodes real Bitcoin transactions (pre-segwit, so in our
// format), checks the txid and re-encodes them byte for byte.
func TestRealTxVectors(t *testing.T) {
	var m merkleFile
	loadJSON(t, "merkle.json", &m)
	n := 0
	for _, b := range m.Blocks {
		for i, raw := range b.RawTxs {
			t.Run(fmt.Sprintf("block%d/tx%d", b.Height, i), func(t *testing.T) {
				bs := mustHex(t, raw)
				tx, err := DecodeTx(bs, 1_000_000)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(tx.Serialize(), bs) {
					t.Fatal("re-encoding differs")
				}
				if tx.SerializeSize() != len(bs) {
					t.Fatalf("SerializeSize %d, want %d", tx.SerializeSize(), len(bs))
				}
				if got := tx.TxHash().String(); got != b.TxIDs[i] {
					t.Fatalf("txid %s, want %s", got, b.TxIDs[i])
				}
				if (i == 0) != tx.IsCoinbase() {
					t.Fatalf("IsCoinbase = %v at position %d", tx.IsCoinbase(), i)
				}
			})
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d raw txs in the vectors", n)
	}
}

// TestTxEncodingAnnotated pins the byte layout of a small transaction, one
// field per line.
func TestTxEncodingAnnotated(t *testing.T) {
	tx := &Tx{
		Version: 1,
		TxIn: []TxIn{{
			PrevOut:   OutPoint{Hash: Hash{0x01, 0x02}, Index: 3},
			SigScript: []byte{0xaa, 0xbb},
			Sequence:  0xfffffffe,
		}},
		TxOut:    []TxOut{{Value: 5_000_000_000, PkScript: []byte{OP_RETURN}}},
		LockTime: 7,
	}
	want := bytes.Join([][]byte{
		{0x01, 0x00, 0x00, 0x00}, // version
		{0x01},                   // input count
		append([]byte{0x01, 0x02}, make([]byte, 30)...),  // prev txid (internal order)
		{0x03, 0x00, 0x00, 0x00},                         // prev index
		{0x02, 0xaa, 0xbb},                               // signature script
		{0xfe, 0xff, 0xff, 0xff},                         // sequence
		{0x01},                                           // output count
		{0x00, 0xf2, 0x05, 0x2a, 0x01, 0x00, 0x00, 0x00}, // value 50 coins
		{0x01, 0x6a},                                     // locking script: OP_RETURN
		{0x07, 0x00, 0x00, 0x00},                         // lock time
	}, nil)
	if got := tx.Serialize(); !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got %x\nwant %x", got, want)
	}
	back, err := DecodeTx(want, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if back.TxHash() != tx.TxHash() {
		t.Fatal("round trip changed the txid")
	}
	// A forced short read at every offset is an error, never a panic.
	for i := 0; i < len(want); i++ {
		if _, err := DecodeTx(want[:i], 1000); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated at %d: err %v, want ErrMalformed", i, err)
		}
	}
	if _, err := DecodeTx(append(want, 0), 1000); !errors.Is(err, ErrTrailingBytes) {
		t.Errorf("trailing byte: err %v", err)
	}
	if _, err := DecodeTx(want, len(want)-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the size limit: err %v", err)
	}
}

func TestCompactSize(t *testing.T) {
	tests := []struct {
		v   uint64
		enc []byte
	}{
		{0, []byte{0x00}},
		{0xfc, []byte{0xfc}},
		{0xfd, []byte{0xfd, 0xfd, 0x00}},
		{0xffff, []byte{0xfd, 0xff, 0xff}},
		{0x10000, []byte{0xfe, 0x00, 0x00, 0x01, 0x00}},
		{0xffffffff, []byte{0xfe, 0xff, 0xff, 0xff, 0xff}},
		{0x100000000, []byte{0xff, 0, 0, 0, 0, 1, 0, 0, 0}},
	}
	for _, tc := range tests {
		if got := AppendCompactSize(nil, tc.v); !bytes.Equal(got, tc.enc) {
			t.Errorf("encode %d = %x, want %x", tc.v, got, tc.enc)
		}
		if CompactSizeLen(tc.v) != len(tc.enc) {
			t.Errorf("len %d = %d", tc.v, CompactSizeLen(tc.v))
		}
		r := newReader(tc.enc, "test")
		if got := r.compactSize("v"); got != tc.v || r.err != nil {
			t.Errorf("decode %x = %d, %v", tc.enc, got, r.err)
		}
	}
	// Non-canonical encodings are rejected.
	for _, enc := range [][]byte{{0xfd, 0xfc, 0x00}, {0xfe, 0xff, 0xff, 0x00, 0x00}, {0xff, 1, 0, 0, 0, 0, 0, 0, 0}} {
		r := newReader(enc, "test")
		r.compactSize("v")
		if !errors.Is(r.err, ErrMalformed) {
			t.Errorf("non-canonical %x accepted", enc)
		}
	}
}

// TestDecodeBoundedAllocation feeds counts far larger than the bytes that
// follow; the decoder must refuse before allocating.
func TestDecodeBoundedAllocation(t *testing.T) {
	huge := []byte{0x01, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x01} // version, 33M inputs
	if _, err := DecodeTx(huge, 1_000_000); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v", err)
	}
	blk := append(make([]byte, HeaderSize), 0xfe, 0xff, 0xff, 0xff, 0x00)
	if _, err := DecodeBlock(blk, 1_000_000); !errors.Is(err, ErrMalformed) {
		t.Fatalf("block err %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		_, _ = DecodeTx(huge, 1_000_000)
		_, _ = DecodeBlock(blk, 1_000_000)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("decoding forged counts allocated %d bytes", n)
	}
}

func TestBlockRoundTrip(t *testing.T) {
	g := RegtestParams.GenesisBlock
	raw := g.Serialize()
	back, err := DecodeBlock(raw, RegtestParams.MaxBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Serialize(), raw) || back.BlockHash() != RegtestParams.GenesisHash {
		t.Fatal("genesis round trip")
	}
	if g.SerializeSize() != len(raw) {
		t.Fatal("SerializeSize")
	}
}
