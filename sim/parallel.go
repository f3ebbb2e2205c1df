package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The event loop runs on several cores as a conservative parallel
// discrete-event simulation. A node's events touch only that node: its
// chain, mempool, gossip state and uplink. Nodes affect each other only by
// messages, which arrive at least the shortest link latency after they are
// sent. So the loop takes windows that long: within a window no event can
// cause an event at another node in the same window, and the workers, each
// owning a fixed share of the nodes (node id modulo the number of
// workers), run their nodes' events of the window side by side, each in
// (time, origin, count) order. Between windows, alone, the loop hands each
// worker the messages for its nodes, merges the first marks of gossip
// messages into the spreads, and runs the simulation's own events: mining,
// the traffic generator, partitions. The windows, and so everything the
// nodes see, are the same for any number of workers, and so is the report.

// schedule queues e: the simulation's events in its own queue, a node's
// events in its worker's queue, directly when this context may (its own
// nodes, or any node while the simulation's context runs), else in the
// outbox that is handed over when the window ends.
func (s *Sim) schedule(e event) {
	switch {
	case e.node < 0:
		if s.wid >= 0 {
			panic("sim: a worker scheduled a simulation event")
		}
		s.queue.push(e)
	case s.wid < 0:
		s.workers[s.workerOf(int(e.node))].queue.push(e)
	default:
		w := s.workerOf(int(e.node))
		if w == s.wid {
			s.queue.push(e)
			return
		}
		if e.at < s.windowEnd {
			panic(fmt.Sprintf("sim: node %d scheduled an event for node %d at %v, inside the window ending %v", s.running, e.node, e.at, s.windowEnd))
		}
		s.out[w] = append(s.out[w], e)
	}
}

// minDelay is the shortest latency any link can have: the window.
func (l *links) minDelay() time.Duration {
	if l.uniform {
		return l.latency
	}
	least := time.Duration(math.MaxInt64)
	for _, row := range l.matrix {
		for _, d := range row {
			least = min(least, d)
		}
	}
	// delay rounds base*(1+jitter*(2u-1)) with u in [0, 1); one
	// nanosecond less covers the rounding.
	return max(0, time.Duration(math.Floor(float64(least)*(1-l.jitter)))-1)
}

// workerOf is the index of the worker that owns node.
func (w *world) workerOf(node int) int { return node % len(w.workers) }

// makeWorkers makes the workers' contexts (Run starts their goroutines);
// New calls it once the nodes exist.
func (s *Sim) makeWorkers() {
	s.window = s.links.minDelay()
	nw := s.workerCount()
	for i := 0; i < nw; i++ {
		s.workers = append(s.workers, &Sim{world: s.world, running: -1, wid: i, out: make([][]event, nw)})
	}
}

// workerCount is how many workers a run uses: Config.Workers, or one per
// CPU, at most one per node; one when links can have no latency (there is
// no window then in which nodes cannot affect each other).
func (s *Sim) workerCount() int {
	w := s.cfg.Workers
	if w <= 0 {
		w = min(runtime.GOMAXPROCS(0), MaxWorkers)
	}
	if s.window <= 0 {
		w = 1
	}
	return max(1, min(w, len(s.nodes)))
}

// Run runs the simulation to its end and returns the report. It can be
// called once. ctx stops it early, with ctx's error.
func (s *Sim) Run(ctx context.Context) (*Report, error) {
	if s.ran {
		return nil, errors.New("sim: Run called twice")
	}
	s.ran = true
	defer s.Close()

	nw := len(s.workers)
	for i, p := range s.cfg.Partitions {
		s.at(p.Start, -1, func(s *Sim) { s.cutNow = s.sides[i] })
		s.at(p.Heal, -1, func(s *Sim) { s.heal(s.sides[i]) })
	}
	if !s.scripted {
		s.scheduleMining()
		s.gen.start()
	}

	// Workers 1.. run on their own goroutines, which this function owns:
	// it stops them and waits for them before it returns. Worker 0 runs
	// on this one.
	var wg sync.WaitGroup
	starts := make([]chan time.Duration, nw)
	done := make(chan struct{}, nw)
	for i := 1; i < nw; i++ {
		starts[i] = make(chan time.Duration)
		wg.Add(1)
		go func(w *Sim, start <-chan time.Duration) {
			defer wg.Done()
			for end := range start {
				w.runWindow(end)
				done <- struct{}{}
			}
		}(s.workers[i], starts[i])
	}
	defer func() {
		for _, c := range starts[1:] {
			close(c)
		}
		wg.Wait()
	}()

	end := s.cfg.Duration + s.cfg.Settle
	nextProgress := progressEvery
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t0, global, ok := s.nextTime()
		if !ok || t0 > end {
			break
		}
		for s.cfg.Progress != nil && t0 >= nextProgress {
			s.cfg.Progress(nextProgress, len(s.blockLog))
			nextProgress += progressEvery
		}
		if global {
			ev := s.queue.pop()
			s.now = ev.at
			ev.fire(s)
			s.flushUplinks()
			if s.failed != nil {
				return nil, s.failed
			}
			s.flushMarks() // a miner's mark of its block, a payer's node's of its transaction
			continue
		}
		wend := t0 + max(s.window, 1)
		if len(s.queue) > 0 {
			wend = min(wend, s.queue[0].at)
		}
		s.inGlobal = false
		started := 0
		for i := 1; i < nw; i++ {
			if w := s.workers[i]; len(w.queue) > 0 && w.queue[0].at < wend {
				starts[i] <- wend
				started++
			}
		}
		s.workers[0].runWindow(wend)
		for ; started > 0; started-- {
			<-done
		}
		s.inGlobal = true
		if err := s.endWindow(); err != nil {
			return nil, err
		}
		if s.seenRows != nil {
			s.seenRows.expire(wend, s.mesh.seenTTL)
		}
	}
	s.collect()
	return s.report(), nil
}

// nextTime is the time of the next event and whether it is the
// simulation's own, which runs before the nodes' events of its time.
func (s *Sim) nextTime() (time.Duration, bool, bool) {
	t, global, ok := time.Duration(0), false, false
	if len(s.queue) > 0 {
		t, global, ok = s.queue[0].at, true, true
	}
	for _, w := range s.workers {
		if len(w.queue) > 0 && (!ok || w.queue[0].at < t) {
			t, global, ok = w.queue[0].at, false, true
		}
	}
	return t, global, ok
}

// runWindow runs the worker's events before end, in order.
func (w *Sim) runWindow(end time.Duration) {
	w.windowEnd = end
	for len(w.queue) > 0 && w.queue[0].at < end && w.failed == nil {
		ev := w.queue.pop()
		w.now = ev.at
		w.running = int(ev.node)
		ev.fire(w)
		w.flushUplinks()
	}
	w.running = -1
}

// endWindow hands over the window's messages to their workers and its
// first marks to the spreads, and returns the first worker's error.
func (s *Sim) endWindow() error {
	for _, w := range s.workers {
		if w.failed != nil {
			return w.failed
		}
	}
	for _, w := range s.workers {
		for j, evs := range w.out {
			q := &s.workers[j].queue
			for _, e := range evs {
				q.push(e)
			}
			clear(evs)
			w.out[j] = evs[:0]
		}
		w.flushMarks()
	}
	return nil
}

// flushMarks adds the context's first marks to the spreads. Called
// between windows.
func (s *Sim) flushMarks() {
	if len(s.marks) > 0 {
		s.mergeMarks(s.marks)
		clear(s.marks)
		s.marks = s.marks[:0]
	}
}

// inflightTotal is the number of messages and validations in flight in
// every context. Called between windows.
func (s *Sim) inflightTotal() int {
	n := s.global.inflight
	for _, w := range s.workers {
		n += w.inflight
	}
	return n
}

// collect gathers the workers' records into the simulation's context for
// the report: counters summed, arrivals and reorganisations in order of
// time and node (one node's are in the order it recorded them).
func (s *Sim) collect() {
	for _, w := range s.workers {
		s.now = max(s.now, w.now)
		s.net.add(w.net)
		s.reorgs = append(s.reorgs, w.reorgs...)
		s.arrivals = append(s.arrivals, w.arrivals...)
	}
	slices.SortStableFunc(s.reorgs, func(a, b reorgRecord) int {
		if a.at != b.at {
			return cmpDur(a.at, b.at)
		}
		return a.node - b.node
	})
	slices.SortStableFunc(s.arrivals, func(a, b blockArrival) int {
		if a.delay != b.delay {
			return cmpDur(a.delay, b.delay)
		}
		return a.node - b.node
	})
	for _, a := range s.arrivals {
		a.rec.arrivals = append(a.rec.arrivals, a.arrival)
	}
	s.arrivals = nil
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (n *netStats) add(o netStats) {
	n.messages += o.messages
	n.bytes += o.bytes
	n.dropped += o.dropped
	n.dupBlocks += o.dupBlocks
	n.dupTxs += o.dupTxs
	n.ihaves += o.ihaves
	n.iwants += o.iwants
	n.syncRequests += o.syncRequests
	n.invalidBlocks += o.invalidBlocks
}
