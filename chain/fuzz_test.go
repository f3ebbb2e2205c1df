package chain

import (
	"bytes"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the decoders of untrusted input.
// Each must return an error or a value that re-encodes to the same bytes;
// never panic and never allocate beyond what the input can hold. They are
// seeded from the real vectors.

func FuzzHeaderDecode(f *testing.F) {
	var g genesisFile
	loadJSON(f, "genesis.json", &g)
	f.Add(mustHex(f, g.MainnetGenesis.HeaderHex))
	for _, h := range g.Headers {
		f.Add(mustHex(f, h.HeaderHex))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Serialize(), b) {
			t.Fatal("header does not re-encode to its input")
		}
	})
}

func FuzzTxDecode(f *testing.F) {
	var m merkleFile
	loadJSON(f, "merkle.json", &m)
	for _, b := range m.Blocks {
		for _, raw := range b.RawTxs {
			f.Add(mustHex(f, raw))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b, RegtestParams.MaxBlockSize)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Serialize(), b) {
			t.Fatal("tx does not re-encode to its input")
		}
		_ = CheckTxSanity(tx, RegtestParams)
		_ = tx.TxHash()
		for i := range tx.TxIn {
			_ = VerifyScript(tx.TxIn[i].SigScript, tx.TxIn[i].SigScript, tx, i, 1, nil)
		}
	})
}

func FuzzBlockDecode(f *testing.F) {
	f.Add(RegtestParams.GenesisBlock.Serialize())
	f.Add(DevnetParams.GenesisBlock.Serialize())
	var m merkleFile
	loadJSON(f, "merkle.json", &m)
	for _, b := range m.Blocks {
		blk := []byte{}
		blk = append(blk, make([]byte, HeaderSize)...)
		blk = AppendCompactSize(blk, uint64(len(b.RawTxs)))
		for _, raw := range b.RawTxs {
			blk = append(blk, mustHex(f, raw)...)
		}
		f.Add(blk)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b, RegtestParams.MaxBlockSize)
		if err != nil {
			return
		}
		if !bytes.Equal(blk.Serialize(), b) {
			t.Fatal("block does not re-encode to its input")
		}
		_ = CheckBlockSanity(blk, RegtestParams)
	})
}
