package loadgen

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/minichain/minichain/wallet"
)

// Report is what a run measured. Sent == Accepted + the sum of Rejected;
// Confirmed <= Accepted, and every confirmed transfer was found on the first
// node's main chain at the end.
type Report struct {
	Nodes         []string       `json:"nodes"`
	Wallets       int            `json:"wallets"`
	FundingTxs    []string       `json:"funding_txs"`
	Sent          int            `json:"sent"`
	Skipped       int            `json:"skipped_no_coin_ready"`
	Accepted      int            `json:"accepted"`
	Rejected      map[string]int `json:"rejected"`
	Confirmed     int            `json:"confirmed"`
	Unconfirmed   int            `json:"unconfirmed"`
	SendSeconds   float64        `json:"send_seconds"`
	TargetRate    float64        `json:"target_rate"`
	Throughput    float64        `json:"throughput"`     // accepted per second of sending
	ConfirmedRate float64        `json:"confirmed_rate"` // confirmed per second from the first send to the last confirmation
	Latency       Latency        `json:"confirmation_latency_seconds"`
	PerNode       []NodeCounts   `json:"per_node"`
	ConfirmedTxs  []string       `json:"confirmed_txids"`
	Returned      uint64         `json:"returned"` // base units swept back to the first node's wallet
	ReturnTxs     int            `json:"return_txs"`
	ReturnErrors  []string       `json:"return_errors,omitempty"`
}

// Latency summarises submission-to-confirmation times, in seconds.
type Latency struct {
	N      int     `json:"n"`
	P50    float64 `json:"p50"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Poll   float64 `json:"poll_interval"`
	Source string  `json:"source"`
}

// NodeCounts is the traffic one node took.
type NodeCounts struct {
	Node     string `json:"node"`
	Sent     int    `json:"sent"`
	Accepted int    `json:"accepted"`
}

// report prints a progress line every second until ctx ends.
func (g *Generator) report(ctx context.Context, start time.Time) {
	if g.cfg.Progress == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g.mu.Lock()
		confirmed := 0
		for _, s := range g.order {
			if !s.confirmed.IsZero() {
				confirmed++
			}
		}
		rej := 0
		for _, n := range g.rejected {
			rej += n
		}
		line := fmt.Sprintf("%5.0fs  sent %d  accepted %d  rejected %d%s  confirmed %d  pending %d",
			time.Since(start).Seconds(), g.sent, len(g.order), rej, reasons(g.rejected), confirmed, len(g.order)-confirmed)
		g.mu.Unlock()
		g.progress("%s", line)
	}
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// finish checks every accepted transfer on the first node's chain and
// builds the report. A transfer counts as confirmed only if the node says
// it is in a main-chain block now.
func (g *Generator) finish(ctx context.Context, funding []string, start time.Time, sendTime time.Duration) *Report {
	g.mu.Lock()
	order := slices.Clone(g.order)
	r := &Report{
		Nodes: g.cfg.Nodes, Wallets: len(g.wallets), FundingTxs: funding, Sent: g.sent, Skipped: g.skipped, Accepted: len(order),
		Rejected: make(map[string]int), SendSeconds: sendTime.Seconds(), TargetRate: g.cfg.Rate,
		PerNode: slices.Clone(g.perNode),
	}
	for k, v := range g.rejected {
		r.Rejected[k] = v
	}
	g.mu.Unlock()
	var lat []float64
	var last time.Time
	for _, s := range order {
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		tx, err := g.clients[0].Tx(cctx, s.txid.String())
		cancel()
		if err != nil || tx.Confirmations < 1 {
			r.Unconfirmed++
			continue
		}
		at := s.confirmed
		if at.IsZero() {
			at = time.Now() // mined after the last poll
		}
		r.Confirmed++
		r.ConfirmedTxs = append(r.ConfirmedTxs, s.txid.String())
		lat = append(lat, at.Sub(s.sent).Seconds())
		if at.After(last) {
			last = at
		}
	}
	if sendTime > 0 {
		r.Throughput = float64(r.Accepted) / sendTime.Seconds()
	}
	if r.Confirmed > 0 {
		r.ConfirmedRate = float64(r.Confirmed) / last.Sub(start).Seconds()
	}
	r.Latency = summarize(lat)
	return r
}

func summarize(xs []float64) Latency {
	l := Latency{N: len(xs), Poll: pollInterval.Seconds(), Source: "first seen in a block of the first node, polled"}
	if len(xs) == 0 {
		return l
	}
	slices.Sort(xs)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	l.P50, l.P95, l.Max, l.Mean = at(0.5), at(0.95), xs[len(xs)-1], sum/float64(len(xs))
	return l
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	rej := 0
	for _, n := range r.Rejected {
		rej += n
	}
	lines := []string{
		fmt.Sprintf("nodes        %s", strings.Join(r.Nodes, ", ")),
		fmt.Sprintf("wallets      %d, funded by %d transactions", r.Wallets, len(r.FundingTxs)),
		fmt.Sprintf("sent         %d in %.1fs (target %g/s): %d accepted, %d rejected%s; %d skipped (no coin ready)", r.Sent, r.SendSeconds, r.TargetRate, r.Accepted, rej, reasons(r.Rejected), r.Skipped),
		fmt.Sprintf("throughput   %.2f accepted/s while sending; %.2f confirmed/s overall", r.Throughput, r.ConfirmedRate),
		fmt.Sprintf("confirmed    %d of %d accepted (%d not yet)", r.Confirmed, r.Accepted, r.Unconfirmed),
	}
	if r.Latency.N > 0 {
		lines = append(lines, fmt.Sprintf("latency      submission to confirmation: p50 %.2fs, p95 %.2fs, max %.2fs (polled every %.2fs)",
			r.Latency.P50, r.Latency.P95, r.Latency.Max, r.Latency.Poll))
	}
	for _, n := range r.PerNode {
		lines = append(lines, fmt.Sprintf("  %-30s sent %d, accepted %d", n.Node, n.Sent, n.Accepted))
	}
	if r.ReturnTxs > 0 || len(r.ReturnErrors) > 0 {
		lines = append(lines, fmt.Sprintf("returned     %s to the first node's wallet in %d transactions", wallet.FormatAmount(r.Returned), r.ReturnTxs))
	}
	for _, e := range r.ReturnErrors {
		lines = append(lines, "  not returned: "+e)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
