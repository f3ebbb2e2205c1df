package p2p

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The address book remembers peers of this network across restarts, so a
// node whose bootstrap peers are gone still finds the network: at start it
// dials the best of them, and while it has fewer peers than its target it
// keeps trying the others. A peer enters the book when it answers a status
// request with our genesis, earns score for each valid block or
// transaction it delivers first, and leaves it when it is banned, when it
// has not been seen for bookForget, or when the book is full and it is the
// least useful.
//
// The file (Config.PeersFile, <datadir>/peers.json for a node) is JSON:
//
//	{"version": 1, "peers": [{"id": "12D3KooW…", "addrs": ["/ip4/10.0.0.2/tcp/4001"],
//	  "last_seen": "2025-01-02T03:04:05Z", "score": 12}]}
//
// A file that cannot be read is logged and replaced; it never stops a node.

const (
	bookVersion  = 1
	bookMax      = 256                 // entries kept
	bookAddrsMax = 8                   // addresses kept per entry
	bookForget   = 30 * 24 * time.Hour // an entry not seen this long is dropped
	bookScoreMax = 1000
)

// bookEntry is one remembered peer, as stored.
type bookEntry struct {
	ID       string    `json:"id"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"last_seen"`
	Score    int       `json:"score"`
}

type bookFile struct {
	Version int         `json:"version"`
	Peers   []bookEntry `json:"peers"`
}

// addrBook is safe for concurrent use.
type addrBook struct {
	path string // empty: kept in memory only
	now  func() time.Time

	mu      sync.Mutex
	entries map[peer.ID]*bookEntry
	dirty   bool
}

// loadAddrBook reads the book at path; a missing file is an empty book, a
// damaged one is reported in err and replaced by an empty book.
func loadAddrBook(path string) (*addrBook, error) {
	ab := &addrBook{path: path, now: time.Now, entries: make(map[peer.ID]*bookEntry)}
	if path == "" {
		return ab, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ab, nil
	}
	if err != nil {
		return ab, fmt.Errorf("read the address book: %w", err)
	}
	var f bookFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return ab, fmt.Errorf("the address book %s does not parse (%v); starting an empty one", path, err)
	}
	now := ab.now()
	for _, e := range f.Peers {
		id, err := peer.Decode(e.ID)
		if err != nil || now.Sub(e.LastSeen) > bookForget {
			continue
		}
		e.Addrs = validAddrs(e.Addrs)
		if len(e.Addrs) == 0 {
			continue
		}
		e.Score = min(max(e.Score, 0), bookScoreMax)
		ab.entries[id] = &e
	}
	ab.trimLocked()
	return ab, nil
}

// validAddrs keeps the addresses that parse, at most bookAddrsMax.
func validAddrs(in []string) []string {
	var out []string
	for _, s := range in {
		if _, err := ma.NewMultiaddr(s); err == nil && len(out) < bookAddrsMax && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// seen records that p, reachable at addrs, is a peer of this network now.
func (ab *addrBook) seen(p peer.ID, addrs []ma.Multiaddr) {
	var ss []string
	for _, a := range addrs {
		ss = append(ss, a.String())
	}
	ss = validAddrs(ss)
	if len(ss) == 0 {
		return
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	e := ab.entries[p]
	if e == nil {
		e = &bookEntry{ID: p.String()}
		ab.entries[p] = e
	}
	e.Addrs, e.LastSeen = ss, ab.now()
	ab.dirty = true
	ab.trimLocked()
}

// good raises p's score: it delivered something valid.
func (ab *addrBook) good(p peer.ID) {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if e := ab.entries[p]; e != nil && e.Score < bookScoreMax {
		e.Score++
		ab.dirty = true
	}
}

// forget drops p (it was banned).
func (ab *addrBook) forget(p peer.ID) {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.entries[p]; ok {
		delete(ab.entries, p)
		ab.dirty = true
	}
}

// trimLocked drops the least useful entries past bookMax.
func (ab *addrBook) trimLocked() {
	for len(ab.entries) > bookMax {
		var worst peer.ID
		for p, e := range ab.entries {
			if w := ab.entries[worst]; worst == "" || e.Score < w.Score || e.Score == w.Score && e.LastSeen.Before(w.LastSeen) {
				worst = p
			}
		}
		delete(ab.entries, worst)
		ab.dirty = true
	}
}

// best returns up to n entries not in skip, the most useful first: by
// score, then by how recently they were seen.
func (ab *addrBook) best(n int, skip func(peer.ID) bool) []peer.AddrInfo {
	ab.mu.Lock()
	type cand struct {
		id peer.ID
		e  bookEntry
	}
	var cs []cand
	for p, e := range ab.entries {
		if !skip(p) {
			cs = append(cs, cand{p, *e})
		}
	}
	ab.mu.Unlock()
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(b.e.Score, a.e.Score); c != 0 {
			return c
		}
		return b.e.LastSeen.Compare(a.e.LastSeen)
	})
	var out []peer.AddrInfo
	for _, c := range cs[:min(n, len(cs))] {
		ai := peer.AddrInfo{ID: c.id}
		for _, s := range c.e.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		out = append(out, ai)
	}
	return out
}

// save writes the book if it changed (atomically, mode 0600).
func (ab *addrBook) save() error {
	ab.mu.Lock()
	if ab.path == "" || !ab.dirty {
		ab.mu.Unlock()
		return nil
	}
	f := bookFile{Version: bookVersion}
	for _, e := range ab.entries {
		f.Peers = append(f.Peers, *e)
	}
	ab.dirty = false
	ab.mu.Unlock()
	slices.SortFunc(f.Peers, func(a, b bookEntry) int { return cmp.Compare(a.ID, b.ID) })
	if err := writeBook(ab.path, f); err != nil {
		ab.mu.Lock()
		ab.dirty = true // try again next time
		ab.mu.Unlock()
		return err
	}
	return nil
}

func writeBook(path string, f bookFile) error {
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the address book: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the address book: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the address book: %w", err)
	}
	return nil
}

// len returns how many peers the book holds.
func (ab *addrBook) len() int {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	return len(ab.entries)
}
