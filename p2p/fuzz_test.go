package p2p

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
)

// Fuzz targets over every handler of peer input: the sync server's request
// handling, the client's response handling, and the gossip validators
// (message IDs included). Each is seeded from valid messages; a mutation may
// be refused, never panic, and never be answered beyond the protocol's
// limits. make fuzz runs each briefly, make fuzz-long for longer.

// fuzzHost is a Host that is not running, over a chain of a few blocks:
// enough for every handler, none of the network.
func fuzzHost(f *testing.F) (*Host, *chain.Chain) {
	f.Helper()
	c := newChain(f, 3)
	h, err := New(Config{Params: chain.RegtestParams, Chain: c, Handler: chainHandler{c},
		KeyFile: f.TempDir() + "/key", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { h.Close() })
	return h, c
}

// blockHashes returns the main chain's hashes above genesis.
func blockHashes(c *chain.Chain) []chain.Hash {
	var hs []chain.Hash
	for i := int32(1); i <= c.BestSnapshot().Height; i++ {
		h, _ := c.BlockHashByHeight(i)
		hs = append(hs, h)
	}
	return hs
}

// FuzzSyncServer feeds arbitrary bytes to the server as a request stream.
func FuzzSyncServer(f *testing.F) {
	hst, c := fuzzHost(f)
	hs := blockHashes(c)
	tx := chain.RegtestParams.GenesisBlock.Transactions[0]
	for _, req := range [][]byte{
		{msgStatus}, {msgGetMempool},
		encodeGetHeaders(c.BlockLocator(), chain.Hash{}),
		encodeGetHeaders([]chain.Hash{chain.RegtestParams.GenesisHash}, hs[0]),
		encodeGetBlocks(hs),
		encodeTxs(msgPushTxs, []*chain.Tx{tx}, pushMax),
	} {
		f.Add(appendFrame(nil, req))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		hst.limiter = newRateLimiter() // each input its own allowance
		reserved := 0
		resp, _ := hst.serveRequest(peer.ID("fuzz"), bufio.NewReader(bytes.NewReader(in)), func(n int) error {
			reserved += n
			if reserved > syncMemoryPerPeer {
				return errBusy
			}
			return nil
		})
		if resp == nil {
			return
		}
		if len(resp) == 0 {
			t.Fatal("an empty response")
		}
		if n, ok := responseLimit(resp[0])(resp[0]); !ok || len(resp) > n {
			t.Fatalf("a response of type %#x and %d bytes is beyond what a client takes", resp[0], len(resp))
		}
	})
}

// FuzzSyncClient feeds arbitrary bytes to the client as the response to
// each kind of request.
func FuzzSyncClient(f *testing.F) {
	hst, c := fuzzHost(f)
	hs := blockHashes(c)
	var raws [][]byte
	var hdrs []chain.Header
	for _, h := range hs {
		b, _ := c.BlockByHash(h)
		raws = append(raws, b.Serialize())
		hdrs = append(hdrs, b.Header)
	}
	for _, resp := range [][]byte{
		encodeStatus(hst.ourStatus()),
		encodeHeaders(hdrs),
		encodeRaws(msgBlocks, raws),
		encodeTxs(msgTxs, chain.RegtestParams.GenesisBlock.Transactions, mempoolBytes),
		{msgAck},
		encodeError("busy"),
	} {
		f.Add(resp[0], appendFrame(nil, resp))
	}
	p := chain.RegtestParams
	f.Fuzz(func(t *testing.T, want byte, in []byte) {
		frame, err := readFrame(bufio.NewReader(bytes.NewReader(in)), maxResponse(want), responseLimit(want), nil)
		if err != nil {
			return
		}
		body := frame[1:]
		switch frame[0] {
		case msgStatusResp:
			_, _ = decodeStatus(body)
		case msgHeaders:
			if got, err := decodeHeaders(body); err == nil && len(got) > 0 {
				_, _, _ = hst.sync.checkHeaders(got)
			}
		case msgBlocks:
			if got, err := decodeBlocksResponse(body, hs, p.MaxBlockSize); err == nil && len(got) > len(hs) {
				t.Fatalf("%d blocks for a request of %d", len(got), len(hs))
			}
		case msgTxs:
			_, _ = decodeTxs(body, p.MaxTxSize())
		case msgError:
			_ = decodeError(body)
		}
	})
}

// FuzzGossipValidators feeds arbitrary bytes to the message ID function and
// the validators of both topics, as a peer's gossip.
func FuzzGossipValidators(f *testing.F) {
	hst, c := fuzzHost(f)
	p := chain.RegtestParams
	best := c.BestSnapshot()
	next := chaintest.BlockOn(p, best.Hash, best.Height, uint32(best.Timestamp), chaintest.NewKey("fuzz"), "next")
	orphan := chaintest.BlockOn(p, chain.Hash{1}, 7, uint32(best.Timestamp), chaintest.NewKey("fuzz"), "orphan")
	damaged := *next
	damaged.Transactions = append([]*chain.Tx{}, next.Transactions[0], next.Transactions[0])
	fp := chaintest.GenesisPrev(p, chaintest.RegtestFaucet)
	tx := chaintest.Spend([]chaintest.Prev{fp}, []chain.TxOut{{Value: fp.Value - 100_000, PkScript: chaintest.NewKey("to").Script}})
	for _, b := range []*chain.Block{next, orphan, &damaged, p.GenesisBlock} {
		f.Add(true, b.Serialize())
	}
	f.Add(false, tx.Serialize())
	f.Add(false, p.GenesisBlock.Transactions[0].Serialize())
	bt, tt := Topics(p)
	from := peer.ID("fuzz")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, block bool, data []byte) {
		hst.penalties.unban(from)
		topic := tt
		if block {
			topic = bt
		}
		if id := hst.messageID(pbMessage(topic, data)); id != string(chain.DoubleSHA256(data).Bytes()) {
			t.Fatal("the message ID must be the hash of the message")
		}
		if block {
			vctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = hst.checkGossipBlock(vctx, from, data)
			cancel()
			return
		}
		_ = hst.checkGossipTx(ctx, from, data)
	})
}
