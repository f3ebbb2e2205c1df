package sim

import "time"

// event is something that happens at a simulated time to one node (node
// >= 0) or to the whole simulation (node < 0: mining, the traffic
// generator, partitions). Events of the same time are ordered by who
// scheduled them (origin: the node whose event was running, -1 for the
// simulation's own events) and that origin's count of events scheduled, a
// key that does not depend on how many workers run the loop, so every
// worker count gives the same run.
type event struct {
	at     time.Duration
	origin int32
	node   int32
	seq    uint64
	run    func(*Sim)
}

// eventQueue is a binary min-heap of events by (at, origin, seq).
type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	a, b := &q[i], &q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.origin != b.origin {
		return a.origin < b.origin
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
