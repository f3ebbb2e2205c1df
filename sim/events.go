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
	land   *transfer // if set instead of run: a message arriving (Sim.land)
}

// fire runs e in context s.
func (e *event) fire(s *Sim) {
	if e.land != nil {
		s.land(e.land)
		return
	}
	e.run(s)
}

// eventQueue is a 4-ary min-heap of events by (at, origin, seq). Four
// children per node make the tree half as deep as a binary heap's, and a
// node's children share one or two cache lines: a pop, which walks the
// whole depth through a queue of many thousand events, touches half as
// many lines. The key is a total order, so any heap pops the same
// sequence.
type eventQueue []event

// before reports whether a comes before b.
func before(a, b *event) bool {
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
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !before(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	e := h[last]
	h[last] = event{}
	h = h[:last]
	i := 0
	for {
		c := 4*i + 1
		if c >= len(h) {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, len(h)); k++ {
			if before(&h[k], &h[m]) {
				m = k
			}
		}
		if !before(&h[m], &e) {
			break
		}
		h[i] = h[m]
		i = m
	}
	if len(h) > 0 {
		h[i] = e
	}
	*q = h
	return top
}
