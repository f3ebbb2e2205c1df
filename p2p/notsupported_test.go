package p2p

import (
	"context"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
)

// TestRequestToPeerWithoutSyncProtocol: a peer that does not speak this
// network's sync protocol answers with multistream's typed error, which the
// syncer recognises (and then disconnects it).
func TestRequestToPeerWithoutSyncProtocol(t *testing.T) {
	h, _ := testHost(t, 0)
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
