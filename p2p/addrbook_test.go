package p2p

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func testPeerID(t *testing.T) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return id
}

func addrs(ss ...string) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range ss {
		out = append(out, ma.StringCast(s))
	}
	return out
}

func TestAddrBookRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.json")
	ab, err := loadAddrBook(path)
	if err != nil || ab.len() != 0 {
		t.Fatalf("a missing file: %v, %d entries", err, ab.len())
	}
	a, b, c := testPeerID(t), testPeerID(t), testPeerID(t)
	ab.seen(a, addrs("/ip4/10.0.0.1/tcp/4001"))
	ab.seen(b, addrs("/ip4/10.0.0.2/tcp/4001", "/ip4/10.0.0.2/tcp/4001"))
	ab.seen(c, addrs("/ip4/10.0.0.3/tcp/4001"))
	ab.good(b)
	ab.good(b)
	ab.forget(c)
	if err := ab.save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file: %v %v", fi, err)
	}
	back, err := loadAddrBook(path)
	if err != nil {
		t.Fatal(err)
	}
	best := back.best(10, func(peer.ID) bool { return false })
	if len(best) != 2 || best[0].ID != b || best[1].ID != a || len(best[0].Addrs) != 1 {
		t.Fatalf("best after reload: %v", best)
	}
	if got := back.best(10, func(p peer.ID) bool { return p == b }); len(got) != 1 || got[0].ID != a {
		t.Fatalf("skip: %v", got)
	}
}

// TestAddrBookDamagedFile: a file that does not parse, or entries that do
// not, never stop the node; what is valid is kept.
func TestAddrBookDamagedFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	ab, err := loadAddrBook(bad)
	if err == nil || !strings.Contains(err.Error(), "does not parse") || ab == nil || ab.len() != 0 {
		t.Fatalf("a damaged file: %v", err)
	}
	good := testPeerID(t)
	mixed := filepath.Join(dir, "mixed.json")
	os.WriteFile(mixed, fmt.Appendf(nil, `{"version":1,"peers":[
		{"id":"not a peer id","addrs":["/ip4/1.2.3.4/tcp/1"],"last_seen":%q},
		{"id":%q,"addrs":["nonsense","/ip4/1.2.3.4/tcp/1"],"last_seen":%q,"score":-5},
		{"id":%q,"addrs":["/ip4/1.2.3.5/tcp/1"],"last_seen":"2001-01-01T00:00:00Z"}]}`,
		time.Now().Format(time.RFC3339), good, time.Now().Format(time.RFC3339), testPeerID(t)), 0o600)
	ab, err = loadAddrBook(mixed)
	if err != nil {
		t.Fatal(err)
	}
	best := ab.best(10, func(peer.ID) bool { return false })
	if len(best) != 1 || best[0].ID != good || len(best[0].Addrs) != 1 {
		t.Fatalf("kept %v, want only the valid, recent entry with its valid address", best)
	}
}

// TestAddrBookBounded: the book keeps at most bookMax entries, dropping the
// least useful.
func TestAddrBookBounded(t *testing.T) {
	ab, _ := loadAddrBook("")
	keep := testPeerID(t)
	ab.seen(keep, addrs("/ip4/10.0.0.1/tcp/1"))
	ab.good(keep)
	for i := 0; i < bookMax+20; i++ {
		ab.seen(testPeerID(t), addrs(fmt.Sprintf("/ip4/10.0.%d.%d/tcp/1", i/200, i%200+2)))
	}
	if ab.len() != bookMax {
		t.Fatalf("%d entries, want %d", ab.len(), bookMax)
	}
	if best := ab.best(1, func(peer.ID) bool { return false }); best[0].ID != keep {
		t.Fatal("the peer with a score was dropped")
	}
	if err := ab.save(); err != nil {
		t.Fatal("a book without a file must save as a no-op:", err)
	}
}
