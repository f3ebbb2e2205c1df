package p2p

import (
	"strings"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
)

// newListening builds (without running) a host listening on addrs.
func newListening(t *testing.T, addrs ...string) (*Host, error) {
	t.Helper()
	c := newChain(t, 0)
	h, err := New(Config{Params: chain.RegtestParams, Chain: c, Handler: chainHandler{c},
		KeyFile: t.TempDir() + "/key", ListenAddrs: addrs, RequestTimeout: time.Second})
	if err == nil {
		t.Cleanup(func() { h.Close() })
	}
	return h, err
}

// TestListenAddressInUse: a second host on a TCP or QUIC port a first one
// listens on fails to start with one error naming the address and the flag,
// also when its other addresses are free; none of them shares the port
// (libp2p's TCP transport would, through SO_REUSEPORT, by default).
func TestListenAddressInUse(t *testing.T) {
	for _, any := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		first, err := newListening(t, any)
		if err != nil {
			t.Fatal(err)
		}
		listening := first.h.Network().ListenAddresses()
		if len(listening) != 1 {
			t.Fatalf("%s: listening on %v, want one address", any, listening)
		}
		busy := listening[0].String()
		for _, addrs := range [][]string{{busy}, {"/ip4/127.0.0.1/tcp/0", busy}} {
			second, err := newListening(t, addrs...)
			if err == nil {
				t.Fatalf("a second host on %v started (listening on %v)", addrs, second.h.Network().ListenAddresses())
			}
			msg := err.Error()
			if !strings.Contains(msg, "the p2p address "+busy+" is in use") || !strings.Contains(msg, "--p2p-listen") ||
				strings.Contains(msg, "\n") {
				t.Fatalf("second host on %v: error %q, want one line naming %s and --p2p-listen", addrs, msg, busy)
			}
		}
	}
}

// TestListenAddressMalformed: a listen address that is no multiaddr is an
// error naming it.
func TestListenAddressMalformed(t *testing.T) {
	_, err := newListening(t, "/ip4/127.0.0.1/tcp/0", "nonsense")
	if err == nil || !strings.Contains(err.Error(), `"nonsense"`) {
		t.Fatalf("err %v, want one naming \"nonsense\"", err)
	}
}
