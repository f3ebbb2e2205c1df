package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var sink int

// TestProcReadings: RSS and CPU time are read from /proc as the runner
// reads them for the victim, here for the test's own process.
func TestProcReadings(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: &exec.Cmd{Process: self}}
	rss, err := n.rss()
	if err != nil || rss < 1<<20 {
		t.Fatalf("rss %d, %v", rss, err)
	}
	c0, err := n.cpu()
	if err != nil {
		t.Fatal(err)
	}
	// Work until the reading moves (it counts in 10 ms ticks); a reading
	// that never moves fails after 10 s of work.
	c1 := c0
	for end := time.Now().Add(10 * time.Second); c1 <= c0 && err == nil && time.Now().Before(end); {
		for i := 0; i < 1e6; i++ {
			sink += i
		}
		c1, err = n.cpu()
	}
	if err != nil || c1 <= c0 {
		t.Fatalf("cpu time %v then %v (%v): no progress after 10 s of work", c0, c1, err)
	}
}

// TestReportCountsTargets: every figure with a target is counted, and a
// missing figure (an attack that did not run, a time never reached)
// fails.
func TestReportCountsTargets(t *testing.T) {
	rs := []*result{
		{name: "ok", m: &measurement{rssBefore: 40 << 20, rssPeak: 90 << 20, cpu: 0.05, agreeOK: true}, cpuTarget: true},
		{name: "bad", m: &measurement{rssBefore: 40 << 20, rssPeak: 400 << 20, cpu: 0.6, agreeOK: true}, cpuTarget: true},
		{name: "times", checks: []check{timeCheck("join", 0, 45*time.Second, maxJoin), timeCheck("prop", time.Second, 20*time.Second, maxPropagate)}},
		{name: "broken", err: errors.New("no network")},
	}
	var b strings.Builder
	met, total := printReport(&b, rs, 40*time.Second)
	// ok: RSS, CPU, agree all pass; bad: RSS and CPU fail, agree passes;
	// times: one of two; broken: one failure.
	if met != 5 || total != 9 {
		t.Fatalf("met %d of %d, want 5 of 9:\n%s", met, total, b.String())
	}
	for _, want := range []string{"| ok | 40 → 90 (0) | 50 PASS |", "360 FAIL", "never (> 45 s)", "| broken | not run: no network"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, b.String())
		}
	}
}
