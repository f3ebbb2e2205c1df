package sim

import (
	"time"

	"github.com/minichain/minichain/chain"
)

// The nodes' seen caches (mesh mode). A node drops a message its seen cache
// holds; the cache holds a message for seenTTL after the node first saw it.
//
// Every node looks a message up once per copy it receives, which is most of
// the simulation's events, and a map per node made each lookup a handful of
// cache misses in a map no other event had touched lately. The table is
// laid out by message instead: one row per message, with one entry per
// node, so the nodes a message is spreading through all write into one
// row, which stays in the CPU's cache while the message spreads. A row
// exists from the message's creation until every entry in it has expired;
// it is made and dropped only between windows, by the simulation's
// context.
//
// Rows are made for the messages the simulation creates (a block when it
// is mined, a transaction when a user sends it). A node that sees a message
// without a row (its row expired: a transaction a reorganisation returned
// to the pool hours later; or one created during setup) keeps it in a
// small map of its own (gossipNode.late), with the same lifetime.
//
// Each worker owns a section of every row: the entries of its nodes, then
// the time of its last mark there, padded to a cache line, so that two
// workers never write the same line.

// noRow is the row index of a message without a row.
const noRow = -1

// never is the entry of a node that has not seen the message: older than
// any lifetime.
const never = time.Duration(-1 << 62)

// seenTable is the rows of the messages being seen.
type seenTable struct {
	index   map[chain.Hash]int32 // messages with a row (or whose row expired)
	rows    [][]time.Duration    // by index; nil once expired
	live    []int32              // indexes of the rows not yet expired
	workers int                  // sections: one per worker, then the simulation's slot
	per     int                  // node entries per section
	stride  int                  // a section's length: per entries, the last mark, padding
}

func newSeenTable(nodes, workers int) *seenTable {
	per := (nodes + workers - 1) / workers
	return &seenTable{index: make(map[chain.Hash]int32), workers: workers, per: per, stride: (per + 1 + 7) &^ 7}
}

// pos is node's entry in a row.
func (t *seenTable) pos(node int) int32 {
	return int32(node%t.workers*t.stride + node/t.workers)
}

// lastSlot is the entry holding the last mark made by context wid (-1:
// the simulation's).
func (t *seenTable) lastSlot(wid int) int {
	if wid < 0 {
		return t.workers * t.stride
	}
	return wid*t.stride + t.per
}

// add gives message id a row, created at now. Called by the simulation's
// context only (a message is created by its events).
func (t *seenTable) add(id chain.Hash, now time.Duration) {
	if _, ok := t.index[id]; ok {
		return
	}
	row := make([]time.Duration, t.workers*t.stride+1)
	for i := range row {
		row[i] = never
	}
	row[t.lastSlot(-1)] = now
	t.index[id] = int32(len(t.rows))
	t.live = append(t.live, int32(len(t.rows)))
	t.rows = append(t.rows, row)
}

// rowOf is message id's row index, or noRow.
func (t *seenTable) rowOf(id chain.Hash) int32 {
	if i, ok := t.index[id]; ok {
		return i
	}
	return noRow
}

// expire drops the rows whose every entry is older than ttl at time now,
// the end of a window: no node's cache can hold their message from now
// on. Called between windows.
func (t *seenTable) expire(now, ttl time.Duration) {
	keep := t.live[:0]
	for _, i := range t.live {
		row := t.rows[i]
		last := row[t.lastSlot(-1)]
		for w := 0; w < t.workers; w++ {
			last = max(last, row[t.lastSlot(w)])
		}
		if now-last > ttl {
			t.rows[i] = nil
			continue
		}
		keep = append(keep, i)
	}
	t.live = keep
}

// row is message m's row, or nil: none, or expired.
func (s *Sim) row(m msgRef) []time.Duration {
	if m.row == noRow {
		return nil
	}
	return s.seenRows.rows[m.row]
}

// seen reports whether n's seen cache holds message m now.
func (s *Sim) seen(n *simNode, m msgRef) bool {
	if row := s.row(m); row != nil {
		return s.now-row[n.seenPos] <= s.mesh.seenTTL
	}
	at, ok := n.g.late[m.id]
	return ok && s.now-at <= s.mesh.seenTTL
}

// markSeen records that n has seen message m now, unless its cache holds
// it.
func (s *Sim) markSeen(n *simNode, m msgRef) {
	if s.seen(n, m) {
		return
	}
	if row := s.row(m); row != nil {
		row[n.seenPos] = s.now
		row[s.seenRows.lastSlot(s.wid)] = s.now
	} else {
		s.markLate(n, m.id)
	}
	s.noteSeen(n, m.id)
}

// markLate records in n's own map a message without a row, and forgets
// the map's expired entries once it holds many.
func (s *Sim) markLate(n *simNode, id chain.Hash) {
	g := &n.g
	if g.late == nil {
		g.late = make(map[chain.Hash]time.Duration)
	}
	if len(g.late) >= 64 {
		for old, at := range g.late {
			if s.now-at > s.mesh.seenTTL {
				delete(g.late, old)
			}
		}
	}
	g.late[id] = s.now
}

// msgRef names a message: its id and its row in the seen table.
type msgRef struct {
	id  chain.Hash
	row int32
}

// ref is the reference of message id.
func (s *Sim) ref(id chain.Hash) msgRef {
	if s.seenRows == nil {
		return msgRef{id: id, row: noRow}
	}
	return msgRef{id: id, row: s.seenRows.rowOf(id)}
}

// created gives a message the simulation creates now its row.
func (s *Sim) created(id chain.Hash) {
	if s.seenRows != nil {
		s.seenRows.add(id, s.now)
	}
}
