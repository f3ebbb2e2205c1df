package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Targets of issue 11 ("Done means").
const (
	maxRSSGrowth = 64 << 20 // bytes, under each resource attack
	maxLiarCPU   = 0.10     // share of a core once a lying peer is identified
	maxJoin      = 30 * time.Second
	maxPropagate = 10 * time.Second
	maxReconnect = 10 * time.Second
)

// result is what one attack measured.
type result struct {
	name, what string
	err        error
	m          *measurement // resource attacks only
	cpuTarget  bool         // the CPU target applies (the lying peer)
	checks     []check      // times and counts with a target
	agreeSet   bool         // for attacks without a measurement: whether
	agreeOK    bool         // the nodes agreed at the end
	notes      []string
}

// check is one figure with its target.
type check struct {
	label, value, target string
	pass                 bool
}

func (r *result) setAgree(ok bool) { r.agreeSet, r.agreeOK = true, ok }

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// timeCheck is a duration against a limit; never (a zero duration) fails.
func timeCheck(label string, took time.Duration, within, limit time.Duration) check {
	c := check{label: label, target: fmt.Sprintf("≤ %.0f s", limit.Seconds())}
	if took <= 0 {
		c.value = fmt.Sprintf("never (> %.0f s)", within.Seconds())
		return c
	}
	c.value = fmt.Sprintf("%.1f s", took.Seconds())
	c.pass = took <= limit
	return c
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// printReport writes the table of every attack, then the details, then how
// many targets were met.
func printReport(w io.Writer, results []*result, attackTime time.Duration) (met, total int) {
	fmt.Fprintf(w, "\n| attack | victim RSS MiB: before → peak (at end) | RSS growth (≤ 64 MiB) | victim CPU once identified | honest nodes agree | time and survival targets |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|\n")
	count := func(pass bool) string {
		total++
		if pass {
			met++
		}
		return verdict(pass)
	}
	for _, r := range results {
		rss, growth, cpu, agreeCell := "—", "—", "—", "—"
		if r.err != nil {
			fmt.Fprintf(w, "| %s | not run: %s | | | | |\n", r.name, strings.ReplaceAll(r.err.Error(), "|", "/"))
			total++
			continue
		}
		if m := r.m; m != nil {
			rss = fmt.Sprintf("%s → %s (%s)", mib(m.rssBefore), mib(m.rssPeak), mib(m.rssAfter))
			g := m.rssPeak - m.rssBefore
			growth = fmt.Sprintf("%s %s", mib(g), count(g <= maxRSSGrowth && !m.victimDied))
			if m.victimDied {
				growth += " (victim died)"
			}
			how := "fixed 30 s"
			if m.byBan {
				how = "ban"
			}
			if m.cpu >= 0 {
				cpu = fmt.Sprintf("%.1f%% (%s at %.0f s, %.0f s window)", 100*m.cpu, how, m.identified.Seconds(), m.window.Seconds())
			}
			if r.cpuTarget {
				cpu += fmt.Sprintf(" ≤ 10%%: %s", count(m.cpu >= 0 && m.cpu <= maxLiarCPU))
			}
			r.setAgree(m.agreeOK)
		}
		if r.agreeSet {
			agreeCell = map[bool]string{true: "yes", false: "no"}[r.agreeOK] + " " + count(r.agreeOK)
		}
		var cs []string
		for _, c := range r.checks {
			cs = append(cs, fmt.Sprintf("%s: %s (%s) %s", c.label, c.value, c.target, count(c.pass)))
		}
		other := strings.Join(cs, "; ")
		if other == "" {
			other = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.name, rss, growth, cpu, agreeCell, other)
	}
	fmt.Fprintf(w, "\nEach resource attack ran %.0f s. \"Identified\" is the victim's first ban (minichain_peer_bans_total rising), or 30 s after the attack started when there was none; CPU is the victim's user+system time over the window after it, as a share of one core.\n\n", attackTime.Seconds())
	for _, r := range results {
		fmt.Fprintf(w, "- **%s**: %s", r.name, r.what)
		if m := r.m; m != nil {
			fmt.Fprintf(w, " Victim idle CPU before: %.1f%%.", 100*m.idleCPU)
			if m.agreeNote != "" {
				fmt.Fprintf(w, " Tips at the end: %s.", m.agreeNote)
			}
		}
		for _, n := range r.notes {
			fmt.Fprintf(w, " %s.", n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nTargets met: %d of %d.\n", met, total)
	return met, total
}
