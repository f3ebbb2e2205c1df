package p2p

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/minichain/minichain/chain"
	msmux "github.com/multiformats/go-multistream"
)

// TestRequestToPeerWithoutSyncProtocol: a peer that does not speak this
// network's sync protocol answers with multistream's typed error, which the
// syncer recognises (and then disconnects it). The host does not run: its
// syncer would ask the stranger's status itself and disconnect it, racing
// the test's own request.
func TestRequestToPeerWithoutSyncProtocol(t *testing.T) {
	c := newChain(t, 0)
	h, err := New(Config{Params: chain.RegtestParams, Chain: c, Handler: chainHandler{c},
		KeyFile: t.TempDir() + "/key", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	stranger, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Close() })
	connect(t, h, stranger)
	_, err = h.requestStatus(context.Background(), stranger.ID())
	if !errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) || !notOurProtocol(err) {
		t.Fatalf("got %v (%T), want multistream's ErrNotSupported", err, err)
	}
}
