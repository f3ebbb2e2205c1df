package sim

import (
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
)

// TestSeenTableLayout: every node has its own entry in its worker's section
// of a row, no entry is a last-mark slot, and two workers' entries and
// slots never share a 64-byte cache line (counted from the row's start;
// a row of more than 32 KiB, where sharing would cost, is page-aligned).
func TestSeenTableLayout(t *testing.T) {
	for _, nodes := range []int{1, 2, 7, 64, 1001} {
		for _, workers := range []int{1, 2, 3, 8} {
			if workers > nodes {
				continue
			}
			tab := newSeenTable(nodes, workers)
			length := workers*tab.stride + 1
			owner := make(map[int]int) // cache line -> context (worker, or -1)
			claim := func(pos, ctx int, what string) {
				if pos < 0 || pos >= length {
					t.Fatalf("%d nodes, %d workers: %s at %d, outside a row of %d", nodes, workers, what, pos, length)
				}
				if o, ok := owner[pos*8/64]; ok && o != ctx {
					t.Fatalf("%d nodes, %d workers: %s (context %d) shares a cache line with context %d", nodes, workers, what, ctx, o)
				}
				owner[pos*8/64] = ctx
			}
			used := make(map[int]bool)
			for n := 0; n < nodes; n++ {
				p := int(tab.pos(n))
				if used[p] {
					t.Fatalf("%d nodes, %d workers: node %d shares entry %d", nodes, workers, n, p)
				}
				used[p] = true
				claim(p, n%workers, "a node's entry")
			}
			for w := -1; w < workers; w++ {
				p := tab.lastSlot(w)
				if used[p] {
					t.Fatalf("%d nodes, %d workers: context %d's slot %d is a node's entry", nodes, workers, w, p)
				}
				used[p] = true
				claim(p, w, "a last-mark slot")
			}
		}
	}
}

// TestSeenCache: a node's seen cache holds a message for the cache's
// lifetime after the node saw it, in the message's row and, once the row
// has expired, in the node's own map; a row expires only when every
// node's entry in it has.
func TestSeenCache(t *testing.T) {
	s, err := New(Config{Nodes: 4, Duration: time.Hour, BlockInterval: 5 * time.Minute, Peers: 2,
		Latency: 50 * time.Millisecond, Bandwidth: 1e6, Seed: 3, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ttl := s.mesh.seenTTL
	a, b := s.nodes[0], s.nodes[1]
	id := chain.Hash{1}
	s.now = time.Second
	s.created(id)
	m := s.ref(id)
	if m.row == noRow {
		t.Fatal("a created message has no row")
	}
	if s.seen(a, m) || s.seen(b, m) {
		t.Fatal("seen before anyone saw it")
	}
	s.markSeen(a, m)
	w := s.workers[1] // b's worker marks later, in its own context
	w.now = 10 * time.Second
	w.markSeen(b, m)
	for _, c := range []struct {
		ctx  *Sim
		n    *simNode
		at   time.Duration
		want bool
	}{
		{s, a, time.Second + ttl, true},
		{s, a, time.Second + ttl + 1, false},
		{w, b, 10*time.Second + ttl, true},
		{w, b, 10*time.Second + ttl + 1, false},
		{s, s.nodes[2], 2 * time.Second, false},
	} {
		c.ctx.now = c.at
		if got := c.ctx.seen(c.n, m); got != c.want {
			t.Errorf("node %d at %v: seen %v, want %v", c.n.id, c.at, got, c.want)
		}
	}
	s.seenRows.expire(10*time.Second+ttl, ttl)
	if s.seenRows.rows[m.row] == nil {
		t.Fatal("the row expired while node 1's entry had not")
	}
	s.seenRows.expire(10*time.Second+ttl+1, ttl)
	if s.seenRows.rows[m.row] != nil || len(s.seenRows.live) != 0 {
		t.Fatal("the row outlived every entry in it")
	}
	// After the row: the node's own map, with the same lifetime.
	s.now = time.Hour
	if s.seen(a, m) {
		t.Fatal("seen after the row expired, before the node saw it again")
	}
	s.markSeen(a, m)
	s.now = time.Hour + ttl
	if !s.seen(a, m) || s.seen(b, m) {
		t.Fatal("a late mark is not in the node's own map, or is in another node's")
	}
	s.now++
	if s.seen(a, m) {
		t.Fatal("a late mark outlived the cache's lifetime")
	}
	// A message created without a row (setup) uses the map from the start.
	other := s.ref(chain.Hash{2})
	if other.row != noRow {
		t.Fatal("an unknown message has a row")
	}
	s.markSeen(b, other)
	if !s.seen(b, other) {
		t.Fatal("a message without a row was not remembered")
	}
}
