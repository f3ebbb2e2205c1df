package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/p2p/hostile"
)

// network is a victim and two honest nodes bootstrapped from it.
type network struct {
	victim, a, b *node
}

func (nw *network) all() []*node { return []*node{nw.victim, nw.a, nw.b} }

// victimInfo is the victim's address for hostile peers to dial.
func (nw *network) victimInfo() (peer.AddrInfo, error) { return hostile.AddrInfo(nw.victim.addr) }

// startNetwork starts the three nodes, waits until the victim has both
// honest nodes as peers, mines blocks on the victim and waits until all
// three agree on the tip.
func (r *runner) startNetwork(ctx context.Context, dir string, blocks int) (*network, error) {
	v, err := newNode("victim", dir, "127.0.0.1", nil)
	if err != nil {
		return nil, err
	}
	if err := r.start(ctx, v); err != nil {
		return nil, err
	}
	nw := &network{victim: v}
	for i, name := range []string{"honest-a", "honest-b"} {
		n, err := newNode(name, dir, fmt.Sprintf("127.0.0.%d", i+2), []string{v.addr})
		if err != nil {
			return nil, err
		}
		if err := r.start(ctx, n); err != nil {
			return nil, err
		}
		if i == 0 {
			nw.a = n
		} else {
			nw.b = n
		}
	}
	if err := waitFor(ctx, 30*time.Second, "the honest nodes to connect to the victim", func() bool {
		return v.hasPeer(ctx, nw.a.peerID) && v.hasPeer(ctx, nw.b.peerID)
	}); err != nil {
		return nil, err
	}
	if blocks > 0 {
		if err := v.generate(ctx, blocks); err != nil {
			return nil, fmt.Errorf("mine on the victim: %w", err)
		}
	}
	if err := waitFor(ctx, 30*time.Second, "the nodes to agree", func() bool { ok, _ := agree(ctx, nw.all()); return ok }); err != nil {
		return nil, err
	}
	r.log.Printf("network up: victim %s, honest %s %s", v.peerID, nw.a.peerID, nw.b.peerID)
	return nw, nil
}

// agree reports whether every node answers with the same tip, and
// describes the tips.
func agree(ctx context.Context, nodes []*node) (bool, string) {
	same := true
	var tip string
	var parts []string
	for _, n := range nodes {
		st, err := n.status(ctx)
		if err != nil {
			same = false
			parts = append(parts, n.name+" down")
			continue
		}
		if tip == "" {
			tip = st.Tip
		}
		same = same && st.Tip == tip
		parts = append(parts, fmt.Sprintf("%s h%d %s", n.name, st.Height, st.Tip[:8]))
	}
	return same, strings.Join(parts, ", ")
}

// waitFor polls cond every 100 ms until it holds, timeout passes or ctx
// ends.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// Resource measurements.
const (
	settleTime   = 3 * time.Second  // idle time measured before an attack
	identifyBy   = 30 * time.Second // the bound for identifying a lying peer
	cpuWindow    = 10 * time.Second // CPU is measured this long after identification
	sampleEvery  = 250 * time.Millisecond
	agreeTimeout = 10 * time.Second
)

// measurement is what measure observed of the victim.
type measurement struct {
	rssBefore, rssPeak, rssAfter int64
	idleCPU                      float64 // share of a core before the attack
	identified                   time.Duration
	byBan                        bool    // identified by a ban (else the fixed bound)
	cpu                          float64 // share of a core in the window; -1 if not measured
	window                       time.Duration
	victimDied                   bool
	agreeOK                      bool
	agreeNote                    string
}

// windowHooks lets an attack read its own counters at the CPU window's
// edges.
type windowHooks struct {
	start, end func()
}

// measure runs attack against nw for dur while sampling the
// victim: RSS every 250 ms (the peak is kept), its ban counter every 500 ms.
// The attacker counts as identified at the first ban the victim reports,
// or identifyBy after the attack started, whichever is first; the CPU
// share is measured over cpuWindow from then (or until the attack ends).
// A block is mined on an honest node a third of the way in; after the
// attack every node must agree on the tip within agreeTimeout.
func (r *runner) measure(ctx context.Context, nw *network, dur time.Duration, hooks windowHooks, attack func(ctx context.Context)) (*measurement, error) {
	v := nw.victim
	m := &measurement{cpu: -1}
	bans0, err := v.bans(ctx)
	if err != nil {
		return nil, fmt.Errorf("victim metrics: %w", err)
	}
	if err := measureIdle(ctx, v, m); err != nil {
		return nil, err
	}

	actx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { attack(actx) })
	w := &attackWindow{r: r, ctx: ctx, nw: nw, m: m, hooks: hooks, bans0: bans0, start: time.Now()}
	w.probeAt = w.start.Add(dur / 3)
	err = w.follow(actx)
	if err == nil && !w.winStart.IsZero() && w.winEnd.IsZero() && !m.victimDied {
		w.endWindow(time.Now())
	}
	if rss, err := v.rss(); err == nil {
		m.rssAfter = rss
	}
	cancel()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if !v.alive() {
		m.victimDied = true
	}
	_ = waitFor(ctx, agreeTimeout, "agreement", func() bool { m.agreeOK, m.agreeNote = agree(ctx, nw.all()); return m.agreeOK })
	return m, nil
}

// measureIdle measures the victim's CPU share over settleTime before the
// attack, and its RSS then.
func measureIdle(ctx context.Context, v *node, m *measurement) error {
	c0, err := v.cpu()
	if err != nil {
		return err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settleTime):
	}
	c1, err := v.cpu()
	if err != nil {
		return err
	}
	m.idleCPU = (c1 - c0).Seconds() / time.Since(t0).Seconds()
	if m.rssBefore, err = v.rss(); err != nil {
		return err
	}
	m.rssPeak = m.rssBefore
	return nil
}

// attackWindow is what measure follows while an attack runs: the probe
// block, when the attacker was identified, and the CPU window after it.
type attackWindow struct {
	r     *runner
	ctx   context.Context // the run's (the probe block outlives the attack's)
	nw    *network
	m     *measurement
	hooks windowHooks
	bans0 float64 // the victim's ban counter before the attack

	start, probeAt   time.Time
	probed           bool
	winStart, winEnd time.Time
	cpuStart         time.Duration
	lastBanPoll      time.Time
}

// follow samples the victim every sampleEvery until the attack ends
// (actx) or the victim dies.
func (w *attackWindow) follow(actx context.Context) error {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-actx.Done():
			return nil
		case now := <-tick.C:
			if !w.nw.victim.alive() {
				w.m.victimDied = true
				return nil
			}
			if err := w.sample(now); err != nil {
				return err
			}
		}
	}
}

// sample takes one sample: the RSS peak, the probe block a third of the
// way in, then the attacker's identification and the CPU window's end.
func (w *attackWindow) sample(now time.Time) error {
	if rss, err := w.nw.victim.rss(); err == nil {
		w.m.rssPeak = max(w.m.rssPeak, rss)
	}
	if !w.probed && now.After(w.probeAt) {
		w.probed = true
		if err := w.nw.a.generate(w.ctx, 1); err != nil {
			w.r.log.Printf("probe block on %s: %v", w.nw.a.name, err)
		}
	}
	switch {
	case w.winStart.IsZero():
		return w.identify(now)
	case w.winEnd.IsZero() && now.Sub(w.winStart) >= cpuWindow:
		w.endWindow(now)
	}
	return nil
}

// identify starts the CPU window once the victim has banned someone (its
// ban counter is polled every 500 ms) or identifyBy has passed.
func (w *attackWindow) identify(now time.Time) error {
	identified := now.Sub(w.start) >= identifyBy
	if !identified && now.Sub(w.lastBanPoll) >= 500*time.Millisecond {
		w.lastBanPoll = now
		if b, err := w.nw.victim.bans(w.ctx); err == nil && b > w.bans0 {
			identified, w.m.byBan = true, true
		}
	}
	if !identified {
		return nil
	}
	w.m.identified = now.Sub(w.start)
	w.winStart = now
	var err error
	if w.cpuStart, err = w.nw.victim.cpu(); err != nil {
		return err
	}
	if w.hooks.start != nil {
		w.hooks.start()
	}
	w.r.log.Printf("attacker identified after %.1f s (by ban: %v)", w.m.identified.Seconds(), w.m.byBan)
	return nil
}

// endWindow closes the CPU window at now.
func (w *attackWindow) endWindow(now time.Time) {
	if c, err := w.nw.victim.cpu(); err == nil {
		w.m.window = now.Sub(w.winStart)
		w.m.cpu = (c - w.cpuStart).Seconds() / w.m.window.Seconds()
	}
	w.winEnd = now
	if w.hooks.end != nil {
		w.hooks.end()
	}
}
