package sim

import "time"

// event is something that happens at a simulated time. seq orders events of
// the same time by when they were scheduled, so runs are deterministic.
type event struct {
	at  time.Duration
	seq uint64
	run func()
}

// eventQueue is a 4-ary min-heap of events by (at, seq): half the levels of
// a binary heap, so a pop from the millions of events a large simulation
// holds touches half as many cache lines. The order is total, so it pops
// exactly what a binary heap would.
type eventQueue []event

// arity is the number of children of a heap entry.
const arity = 4

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / arity
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
		m := i
		first := arity*i + 1
		for c := first; c < first+arity && c < len(h); c++ {
			if h.less(c, m) {
				m = c
			}
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
