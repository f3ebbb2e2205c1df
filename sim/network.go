package sim

import (
	"math"
	"time"
)

// isCut reports whether the active partition separates a and b.
func (s *Sim) isCut(a, b int) bool { return s.cutNow != nil && s.cutNow[a] != s.cutNow[b] }

// send puts a message of size bytes on the link from -> to. The sender's
// upload bandwidth is shared equally by everything it is sending at the
// moment (as fair queueing and congestion control share a real uplink),
// so a block relayed to six peers reaches all six after six times its
// transmission time. The message then takes Latency to arrive; deliver runs
// on arrival unless a partition cut the link meanwhile.
func (s *Sim) send(from, to int, size int, deliver func(*Sim)) {
	if s.isCut(from, to) {
		s.net.dropped++
		return
	}
	size += msgOverhead
	s.net.messages++
	s.net.bytes += int64(size)
	s.inflight++
	t := &transfer{bits: float64(size) * 8, from: int32(from), to: int32(to), deliver: deliver}
	bw := s.links.upload(from)
	if bw <= 0 {
		s.sent(t)
		return
	}
	n := s.nodes[from]
	n.up.advance(s.now, bw)
	n.up.active = append(n.up.active, t)
	if !n.up.dirty {
		// The completion is scheduled once the event that sends ends
		// (flushUplinks): a relay to six peers schedules one, not six of
		// which five would be stale.
		n.up.dirty = true
		s.dirty = append(s.dirty, n)
	}
}

// sent is message t's last bit leaving its sender: it arrives after the
// link's latency. The arrival is an event of its own kind (event.land),
// not a closure: one allocation fewer per message, of which a large
// simulation sends billions.
func (s *Sim) sent(t *transfer) {
	e := s.event(s.now+s.links.delay(int(t.from), int(t.to)), int(t.to), nil)
	e.land = t
	s.schedule(e)
}

// land is message t arriving: delivered, unless a partition cut the link
// meanwhile.
func (s *Sim) land(t *transfer) {
	s.inflight--
	if s.isCut(int(t.from), int(t.to)) {
		s.net.dropped++
		return
	}
	t.deliver(s)
}

// flushUplinks schedules the next completion of every uplink the event
// that just ran sent on. The loop calls it after every event.
func (s *Sim) flushUplinks() {
	for _, n := range s.dirty {
		n.up.dirty = false
		s.scheduleUplink(n)
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
}

// uplink is a node's upload link shared by its transfers in progress.
type uplink struct {
	active  []*transfer
	last    time.Duration // when the transfers' remaining bits were last updated
	version uint64        // invalidates completion events scheduled before a change
	dirty   bool          // transfers were added by the running event (Sim.flushUplinks)
}

// transfer is a message being sent.
type transfer struct {
	bits     float64 // still to send
	from, to int32
	deliver  func(*Sim) // called on arrival
}

// advance brings the remaining bits up to now: each active transfer got an
// equal share of the bandwidth since the last update.
func (u *uplink) advance(now time.Duration, bandwidth float64) {
	if n := len(u.active); n > 0 && now > u.last {
		sent := (now - u.last).Seconds() * bandwidth / float64(n)
		for _, t := range u.active {
			t.bits -= sent
		}
	}
	u.last = now
}

// scheduleUplink schedules the next completion on n's uplink: the transfer
// with the fewest bits left, finishing after n times its bits at the full
// rate, n the number sharing the link.
func (s *Sim) scheduleUplink(n *simNode) {
	u := &n.up
	u.version++
	if len(u.active) == 0 {
		return
	}
	least := u.active[0].bits
	for _, t := range u.active[1:] {
		least = min(least, t.bits)
	}
	bw := s.links.upload(n.id)
	wait := time.Duration(math.Ceil(max(least, 0) * float64(len(u.active)) / bw * 1e9))
	v := u.version
	s.at(s.now+wait, n.id, func(s *Sim) {
		if v != u.version {
			return // the set of transfers changed; a newer event stands
		}
		u.advance(s.now, bw)
		keep := u.active[:0]
		var finished []*transfer
		for _, t := range u.active {
			if t.bits <= 1e-3 {
				finished = append(finished, t)
			} else {
				keep = append(keep, t)
			}
		}
		for i := len(keep); i < len(u.active); i++ {
			u.active[i] = nil
		}
		u.active = keep
		for _, t := range finished {
			s.sent(t)
		}
		s.scheduleUplink(n)
	})
}

// heal ends a partition: the nodes on every link it cut tell each other
// their tips and send each other their mempools, as reconnecting peers do.
func (s *Sim) heal(sides []uint8) {
	s.cutNow = nil
	for _, n := range s.nodes {
		for _, p := range n.peers {
			if sides[n.id] != sides[p] {
				s.sendStatus(n, p)
				s.sendMempool(n, p)
			}
		}
	}
}
