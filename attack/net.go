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
	c0, err := v.cpu()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(settleTime):
	}
	c1, err := v.cpu()
	if err != nil {
		return nil, err
	}
	m.idleCPU = (c1 - c0).Seconds() / time.Since(t0).Seconds()
	if m.rssBefore, err = v.rss(); err != nil {
		return nil, err
	}
	m.rssPeak = m.rssBefore

	actx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { attack(actx) })
	start := time.Now()
	probeAt := start.Add(dur / 3)
	probed := false
	var (
		winStart, winEnd time.Time
		cpuStart         time.Duration
		lastBanPoll      time.Time
	)
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	endWindow := func(now time.Time) {
		c, err := v.cpu()
		if err == nil {
			m.window = now.Sub(winStart)
			m.cpu = (c - cpuStart).Seconds() / m.window.Seconds()
		}
		winEnd = now
		if hooks.end != nil {
			hooks.end()
		}
	}
loop:
	for {
		select {
		case <-actx.Done():
			break loop
		case now := <-tick.C:
			if !v.alive() {
				m.victimDied = true
				break loop
			}
			if rss, err := v.rss(); err == nil {
				m.rssPeak = max(m.rssPeak, rss)
			}
			if !probed && now.After(probeAt) {
				probed = true
				if err := nw.a.generate(ctx, 1); err != nil {
					r.log.Printf("probe block on %s: %v", nw.a.name, err)
				}
			}
			if winStart.IsZero() {
				identified := now.Sub(start) >= identifyBy
				if !identified && now.Sub(lastBanPoll) >= 500*time.Millisecond {
					lastBanPoll = now
					if b, err := v.bans(ctx); err == nil && b > bans0 {
						identified, m.byBan = true, true
					}
				}
				if identified {
					m.identified = now.Sub(start)
					winStart = now
					if cpuStart, err = v.cpu(); err != nil {
						return nil, err
					}
					if hooks.start != nil {
						hooks.start()
					}
					r.log.Printf("attacker identified after %.1f s (by ban: %v)", m.identified.Seconds(), m.byBan)
				}
			} else if winEnd.IsZero() && now.Sub(winStart) >= cpuWindow {
				endWindow(now)
			}
		}
	}
	if !winStart.IsZero() && winEnd.IsZero() && !m.victimDied {
		endWindow(time.Now())
	}
	if rss, err := v.rss(); err == nil {
		m.rssAfter = rss
	}
	cancel()
	wg.Wait()
	if !v.alive() {
		m.victimDied = true
	}
	_ = waitFor(ctx, agreeTimeout, "agreement", func() bool { m.agreeOK, m.agreeNote = agree(ctx, nw.all()); return m.agreeOK })
	return m, nil
}
