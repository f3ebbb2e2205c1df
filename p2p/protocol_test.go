package p2p

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

func TestProtocolRoundTrips(t *testing.T) {
	st := Status{Genesis: chain.Hash{1}, Tip: chain.Hash{2}, Height: 77, Work: big.NewInt(123456789)}
	enc := encodeStatus(st)
	if enc[0] != msgStatusResp {
		t.Fatal("type byte")
	}
	got, err := decodeStatus(enc[1:])
	if err != nil || got.Tip != st.Tip || got.Height != 77 || got.Work.Cmp(st.Work) != 0 {
		t.Fatalf("status: %+v %v", got, err)
	}
	loc := []chain.Hash{{3}, {4}}
	l, stop, err := decodeGetHeaders(encodeGetHeaders(loc, chain.Hash{9})[1:])
	if err != nil || len(l) != 2 || l[1] != loc[1] || stop != (chain.Hash{9}) {
		t.Fatalf("getheaders: %v %v %v", l, stop, err)
	}
	hdrs := []chain.Header{chain.RegtestParams.GenesisBlock.Header, {Version: 2, Nonce: 5}}
	hs, err := decodeHeaders(encodeHeaders(hdrs)[1:])
	if err != nil || len(hs) != 2 || hs[1].Nonce != 5 {
		t.Fatalf("headers: %v %v", hs, err)
	}
	raws := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300)}
	back, err := decodeRaws(encodeRaws(msgBlocks, raws)[1:], 1000)
	if err != nil || len(back) != 3 || !bytes.Equal(back[2], raws[2]) {
		t.Fatalf("raws: %v", err)
	}
	if decodeError(encodeError("boom")[1:]) != "boom" {
		t.Fatal("error message")
	}
}

func TestProtocolRejectsBadMessages(t *testing.T) {
	cases := map[string]func() error{
		"truncated status": func() error { _, err := decodeStatus(make([]byte, 40)); return err },
		"trailing status": func() error {
			_, err := decodeStatus(append(encodeStatus(Status{Work: big.NewInt(1)})[1:], 0))
			return err
		},
		"locator too long": func() error {
			_, _, err := decodeGetHeaders(encodeGetHeaders(make([]chain.Hash, maxLocator+1), chain.Hash{})[1:])
			return err
		},
		"forged header count": func() error {
			_, err := decodeHeaders(chain.AppendCompactSize(nil, 1999))
			return err
		},
		"too many blocks asked": func() error {
			_, err := decodeGetBlocks(encodeGetBlocks(make([]chain.Hash, maxBlocksAsked+1))[1:])
			return err
		},
		"raw over the limit": func() error {
			_, err := decodeRaws(encodeRaws(msgBlocks, [][]byte{make([]byte, 11)})[1:], 10)
			return err
		},
		"forged raw count": func() error {
			_, err := decodeRaws(chain.AppendCompactSize(nil, 1<<30), 10)
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err %v, want errMalformed", name, err)
		}
	}
}

func TestMessageID(t *testing.T) {
	p := chain.RegtestParams
	hst := &Host{names: namesFor(p), cfg: Config{Params: p}}
	g := p.GenesisBlock
	raw := g.Serialize()
	bt, tt := Topics(p)
	id := hst.messageID(pbMessage(bt, raw))
	if id != string(chain.DoubleSHA256(raw).Bytes()) || id != hst.messageID(pbMessage(bt, g.Serialize())) {
		t.Fatal("a block's message ID must be the hash of its encoding, the same for every copy")
	}
	tx := g.Transactions[0]
	if hst.messageID(pbMessage(tt, tx.Serialize())) != string(tx.TxHash().Bytes()) {
		t.Fatal("a transaction's message ID must be its txid")
	}
	// A copy with the same header and another body, and one with a byte
	// more, get IDs of their own: neither can squat the real block's.
	damaged := *g
	damaged.Transactions = []*chain.Tx{chaintest.Coinbase(0, chaintest.NewKey("x").Script, 1, nil)}
	for name, data := range map[string][]byte{
		"damaged body":   damaged.Serialize(),
		"trailing bytes": append(append([]byte(nil), raw...), 0),
		"header only":    raw[:chain.HeaderSize],
	} {
		if hst.messageID(pbMessage(bt, data)) == id {
			t.Errorf("%s: the message ID is the real block's", name)
		}
	}
}

// FuzzSyncDecode feeds arbitrary bytes to every sync-message decoder: errors
// are fine, panics and unbounded allocation are not.
func FuzzSyncDecode(f *testing.F) {
	f.Add(encodeStatus(Status{Genesis: chain.Hash{1}, Work: big.NewInt(5)})[1:])
	f.Add(encodeGetHeaders([]chain.Hash{{1}}, chain.Hash{})[1:])
	f.Add(encodeHeaders([]chain.Header{{}})[1:])
	f.Add(encodeRaws(msgBlocks, [][]byte{{1, 2}})[1:])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeStatus(b)
		_, _, _ = decodeGetHeaders(b)
		_, _ = decodeHeaders(b)
		_, _ = decodeGetBlocks(b)
		if raws, err := decodeRaws(b, 1<<20); err == nil && len(raws) > len(b) {
			t.Fatalf("%d raws from %d bytes", len(raws), len(b))
		}
		_ = decodeError(b)
	})
}

// BenchmarkMessageID: the ID of a gossiped block of about 1 MB (48
// transactions of 600 outputs), the hash of the whole message; and, for
// comparison, what checking its body against its header costs (decoding it
// and computing its Merkle root), which the ID function would pay for every
// copy of every block if the ID were the block hash of valid blocks only.
func BenchmarkMessageID(b *testing.B) {
	p := chain.RegtestParams
	miner := chaintest.NewKey("bench")
	faucet := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	var txs []*chain.Tx
	for i := 0; i < 48; i++ {
		var outs []chain.TxOut
		for k := 0; k < 600; k++ {
			outs = append(outs, chain.TxOut{Value: 1000, PkScript: miner.Script})
		}
		outs = append(outs, chain.TxOut{Value: faucet.Value - 600*1000 - 10_000, PkScript: chaintest.RegtestFaucet.Script})
		tx := chaintest.Spend([]chaintest.Prev{faucet}, outs)
		faucet = chaintest.Prev{OutPoint: chain.OutPoint{Hash: tx.TxHash(), Index: 600}, Value: outs[600].Value, Key: chaintest.RegtestFaucet}
		txs = append(txs, tx)
	}
	blk := chaintest.BlockOn(p, p.GenesisHash, 0, uint32(p.GenesisBlock.Header.Timestamp), miner, "bench", txs...)
	data := blk.Serialize()
	hst := &Host{names: namesFor(p), cfg: Config{Params: p}}
	bt, _ := Topics(p)
	m := pbMessage(bt, data)
	b.Run("hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			_ = hst.messageID(m)
		}
	})
	b.Run("decode-and-check-body", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d, err := chain.DecodeBlock(data, p.MaxBlockSize)
			if err != nil || !bodyMatches(d) {
				b.Fatal("the block does not check")
			}
		}
	})
}
