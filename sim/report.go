package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minichain/minichain/chain"
)

// Report is what a run measured. It holds no wall-clock figure, so the same
// seed and config give the same Report, and the same JSON, byte for byte.
// Times are in seconds, propagation delays in milliseconds.
type Report struct {
	Config      ReportConfig      `json:"config"`
	EndSeconds  float64           `json:"end_seconds"` // simulated time the run ended (Duration plus settling)
	Blocks      BlockStats        `json:"blocks"`
	Reorgs      ReorgStats        `json:"reorgs"`
	Propagation PropagationStats  `json:"propagation"`
	Txs         TxStats           `json:"txs"`
	Network     NetworkStats      `json:"network"`
	Final       FinalState        `json:"final"`
	Miners      []MinerStats      `json:"miners"`
	StaleOver   []StaleBucket     `json:"stale_over_time"`
	CDF         []PropagationStep `json:"propagation_cdf"`
}

// ReportConfig echoes the configuration the run used, defaults applied.
type ReportConfig struct {
	Nodes                int           `json:"nodes"`
	DurationSeconds      float64       `json:"duration_seconds"`
	BlockIntervalSeconds float64       `json:"block_interval_seconds"`
	Peers                int           `json:"peers"`
	LatencyMillis        float64       `json:"latency_ms"`
	BandwidthBits        float64       `json:"bandwidth_bits_per_second"`
	TxRate               float64       `json:"tx_rate"`
	Shares               []float64     `json:"shares,omitempty"`
	Partitions           []PartitionJ  `json:"partitions,omitempty"`
	Seed                 uint64        `json:"seed"`
	SettleSeconds        float64       `json:"settle_seconds"`
	Gossip               string        `json:"gossip"`
	Validation           string        `json:"validation"`
	Network              *NetworkModel `json:"network,omitempty"`
}

// PartitionJ is a Partition in the report.
type PartitionJ struct {
	StartSeconds float64 `json:"start_seconds"`
	HealSeconds  float64 `json:"heal_seconds"`
	Fraction     float64 `json:"fraction"`
}

// BlockStats counts blocks. Every mined block is either on the final main
// chain or stale: Mined == MainChain + Stale.
type BlockStats struct {
	Mined          int     `json:"mined"`
	MainChain      int     `json:"main_chain"`
	Stale          int     `json:"stale"`
	StaleRate      float64 `json:"stale_rate"`
	MinedSettling  int     `json:"mined_while_settling"`
	MeanSizeBytes  float64 `json:"mean_size_bytes"`
	MeanIntervalS  float64 `json:"mean_interval_seconds"`
	MaxTxsPerBlock int     `json:"max_txs_per_block"`
	// Setup is how many blocks node 0 mined before time 0 to fund the
	// traffic's users; every node starts with them. They are not counted
	// in Mined, and the final height includes them.
	Setup int `json:"setup"`
}

// ReorgStats counts the reorganisations the nodes went through.
type ReorgStats struct {
	Count     int         `json:"count"`
	MaxDepth  int         `json:"max_depth"`
	MeanDepth float64     `json:"mean_depth"`
	ByDepth   map[int]int `json:"by_depth"`
	Nodes     int         `json:"nodes_that_reorganised"`
}

// PropagationStats says how long blocks took to reach a fraction of the
// nodes, from the moment they were mined: the median, 90th percentile and
// maximum over the blocks that reached that fraction.
type PropagationStats struct {
	Blocks     int       `json:"blocks"`
	ReachedAll int       `json:"reached_all"`
	To50       Quantiles `json:"to_50pct_ms"`
	To90       Quantiles `json:"to_90pct_ms"`
	To100      Quantiles `json:"to_100pct_ms"`
}

// Quantiles summarises a sample.
type Quantiles struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
}

// TxStats counts the generator's transactions. Sent == Accepted + Orphaned
// + the sum of Rejected; Confirmed counts those on the final main chain.
type TxStats struct {
	Sent        int            `json:"sent"`
	Accepted    int            `json:"accepted"`
	Orphaned    int            `json:"orphaned"`
	Rejected    map[string]int `json:"rejected"`
	Skipped     int            `json:"skipped_no_coin"`
	Confirmed   int            `json:"confirmed"`
	Unconfirmed int            `json:"unconfirmed"`
	Latency     Quantiles      `json:"confirmation_latency_seconds"`
}

// NetworkStats counts messages.
type NetworkStats struct {
	Messages        int64 `json:"messages"`
	Bytes           int64 `json:"bytes"`
	Dropped         int64 `json:"dropped_by_partition"`
	DuplicateBlocks int64 `json:"duplicate_blocks"`
	DuplicateTxs    int64 `json:"duplicate_txs"`
	SyncRequests    int64 `json:"sync_requests"`
	InvalidBlocks   int64 `json:"invalid_blocks"`
	// IHaves and IWants count gossipsub's lazy gossip (mesh mode).
	IHaves int64 `json:"ihaves"`
	IWants int64 `json:"iwants"`
}

// FinalState is where the nodes ended.
type FinalState struct {
	OneTip bool   `json:"one_tip"`
	Tips   int    `json:"distinct_tips"`
	Height int32  `json:"height"`
	Tip    string `json:"tip"`
}

// MinerStats is one miner's result.
type MinerStats struct {
	Node  int     `json:"node"`
	Share float64 `json:"share"`
	Mined int     `json:"mined"`
	Stale int     `json:"stale"`
}

// StaleBucket is the stale rate of the blocks mined in one time window.
type StaleBucket struct {
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
	Mined        int     `json:"mined"`
	Stale        int     `json:"stale"`
}

// PropagationStep is a point of the empirical CDF of the delay from mining a
// block to its arrival at a node, over every (block, node) pair.
type PropagationStep struct {
	Millis   float64 `json:"ms"`
	Fraction float64 `json:"fraction"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }
func millis(d time.Duration) float64  { return float64(d) / float64(time.Millisecond) }

// report computes the Report from the run's records and the nodes' final
// state. The final main chain is node 0's.
func (s *Sim) report() *Report {
	r := &Report{EndSeconds: seconds(s.now), Config: s.reportConfig()}
	onMain, confirmedAt, best := s.mainChain()
	s.reportBlocks(r, onMain)
	s.reportReorgs(r)
	s.reportPropagation(r)
	s.reportTxs(r, confirmedAt)
	r.Network = NetworkStats{
		Messages: s.net.messages, Bytes: s.net.bytes, Dropped: s.net.dropped,
		DuplicateBlocks: s.net.dupBlocks, DuplicateTxs: s.net.dupTxs,
		SyncRequests: s.net.syncRequests, InvalidBlocks: s.net.invalidBlocks,
		IHaves: s.net.ihaves, IWants: s.net.iwants,
	}

	r.Final = s.finalState(best)
	s.reportStaleOver(r, onMain)
	return r
}

// reportConfig echoes the configuration, defaults applied.
func (s *Sim) reportConfig() ReportConfig {
	c := s.cfg
	rc := ReportConfig{
		Nodes: c.Nodes, DurationSeconds: seconds(c.Duration), BlockIntervalSeconds: seconds(c.BlockInterval),
		Peers: c.Peers, LatencyMillis: millis(c.Latency), BandwidthBits: c.Bandwidth, TxRate: c.TxRate,
		Shares: c.Shares, Seed: c.Seed, SettleSeconds: seconds(c.Settle), Gossip: c.Gossip,
		Validation: c.Validation.String(), Network: c.Network,
	}
	for _, p := range c.Partitions {
		rc.Partitions = append(rc.Partitions, PartitionJ{seconds(p.Start), seconds(p.Heal), p.Fraction})
	}

	return rc
}

// mainChain returns the final main chain, from node 0: which blocks are on
// it, when each confirmed transaction was mined, and the tip.
func (s *Sim) mainChain() (map[chain.Hash]bool, map[chain.Hash]time.Duration, *chain.BestState) {
	// The final main chain, from node 0.
	ref := s.nodes[0].chain
	best := ref.BestSnapshot()
	onMain := make(map[chain.Hash]bool, best.Height)
	confirmedAt := make(map[chain.Hash]time.Duration)
	for h := int32(1); h <= best.Height; h++ {
		hash, err := ref.BlockHashByHeight(h)
		if err != nil {
			continue
		}
		onMain[hash] = true
		if rec := s.blocks[hash]; rec != nil {
			for _, tx := range rec.block.Transactions[1:] {
				confirmedAt[tx.TxHash()] = rec.mined
			}
		}
	}

	return onMain, confirmedAt, best
}

// reportBlocks counts the blocks mined, by miner, and the stale ones.
func (s *Sim) reportBlocks(r *Report, onMain map[chain.Hash]bool) {
	c := s.cfg
	miners := make([]MinerStats, c.Nodes)
	for i := range miners {
		miners[i] = MinerStats{Node: i, Share: s.shares[i]}
	}
	var sizeSum float64
	r.Blocks.Setup = s.setupBlocks
	for _, b := range s.blockLog {
		r.Blocks.Mined++
		miners[b.miner].Mined++
		sizeSum += float64(b.size)
		r.Blocks.MaxTxsPerBlock = max(r.Blocks.MaxTxsPerBlock, len(b.block.Transactions)-1)
		if b.mined >= c.Duration {
			r.Blocks.MinedSettling++
		}
		if onMain[b.hash] {
			r.Blocks.MainChain++
		} else {
			r.Blocks.Stale++
			miners[b.miner].Stale++
		}
	}
	if r.Blocks.Mined > 0 {
		r.Blocks.StaleRate = float64(r.Blocks.Stale) / float64(r.Blocks.Mined)
		r.Blocks.MeanSizeBytes = sizeSum / float64(r.Blocks.Mined)
		r.Blocks.MeanIntervalS = seconds(s.blockLog[len(s.blockLog)-1].mined) / float64(r.Blocks.Mined)
	}
	for _, m := range miners {
		if m.Share > 0 || m.Mined > 0 {
			r.Miners = append(r.Miners, m)
		}
	}

}

// reportReorgs summarises the reorganisations the nodes went through.
func (s *Sim) reportReorgs(r *Report) {
	r.Reorgs.ByDepth = make(map[int]int)
	seen := make([]bool, s.cfg.Nodes)
	depthSum := 0
	for _, e := range s.reorgs {
		r.Reorgs.Count++
		r.Reorgs.ByDepth[e.depth]++
		r.Reorgs.MaxDepth = max(r.Reorgs.MaxDepth, e.depth)
		depthSum += e.depth
		if !seen[e.node] {
			seen[e.node] = true
			r.Reorgs.Nodes++
		}
	}
	if r.Reorgs.Count > 0 {
		r.Reorgs.MeanDepth = float64(depthSum) / float64(r.Reorgs.Count)
	}

}

// reportPropagation computes how fast blocks reached the network.
func (s *Sim) reportPropagation(r *Report) {
	c := s.cfg
	var to50, to90, to100, all []float64
	need := func(frac float64) int { return int(math.Ceil(frac*float64(c.Nodes))) - 1 }
	for _, b := range s.blockLog {
		r.Propagation.Blocks++
		for _, a := range b.arrivals {
			if a.node != b.miner { // the miner's own 0 is not a delay
				all = append(all, millis(a.delay))
			}
		}
		if k := need(0.5); k < len(b.arrivals) {
			to50 = append(to50, millis(b.arrivals[k].delay))
		}
		if k := need(0.9); k < len(b.arrivals) {
			to90 = append(to90, millis(b.arrivals[k].delay))
		}
		if len(b.arrivals) == c.Nodes {
			to100 = append(to100, millis(b.arrivals[c.Nodes-1].delay))
			r.Propagation.ReachedAll++
		}
	}
	r.Propagation.To50, r.Propagation.To90, r.Propagation.To100 = quantiles(to50), quantiles(to90), quantiles(to100)
	r.CDF = cdf(all, 200)

}

// reportTxs counts the generated transactions and their confirmation
// latency.
func (s *Sim) reportTxs(r *Report, confirmedAt map[chain.Hash]time.Duration) {
	g := s.gen
	r.Txs = TxStats{Sent: g.sent, Accepted: g.accepted, Orphaned: g.orphaned, Rejected: g.rejected, Skipped: g.skipped}
	var lat []float64
	for _, t := range g.log {
		if at, ok := confirmedAt[t.txid]; ok {
			r.Txs.Confirmed++
			lat = append(lat, seconds(at-t.sent))
		} else {
			r.Txs.Unconfirmed++
		}
	}
	r.Txs.Latency = quantiles(lat)

}

// finalState counts the nodes' final tips, without iterating a map.
func (s *Sim) finalState(best *chain.BestState) FinalState {
	var tips []chain.Hash
	for _, n := range s.nodes {
		h := n.chain.BestSnapshot().Hash
		if !slices.Contains(tips, h) {
			tips = append(tips, h)
		}
	}
	return FinalState{OneTip: len(tips) == 1, Tips: len(tips), Height: best.Height, Tip: best.Hash.String()}

}

// reportStaleOver computes the stale rate over time: 24 windows over the run.
func (s *Sim) reportStaleOver(r *Report, onMain map[chain.Hash]bool) {
	c := s.cfg
	const windows = 24
	end := max(s.now, c.Duration)
	step := end / windows
	if step <= 0 {
		step = 1
	}
	for i := 0; i < windows; i++ {
		r.StaleOver = append(r.StaleOver, StaleBucket{StartSeconds: seconds(step * time.Duration(i)), EndSeconds: seconds(step * time.Duration(i+1))})
	}
	for _, b := range s.blockLog {
		i := min(int(b.mined/step), windows-1)
		r.StaleOver[i].Mined++
		if !onMain[b.hash] {
			r.StaleOver[i].Stale++
		}
	}
}

func quantiles(xs []float64) Quantiles {
	q := Quantiles{N: len(xs)}
	if len(xs) == 0 {
		return q
	}
	slices.Sort(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	q.Mean, q.Median, q.P90, q.P95, q.Max = round3(sum/float64(len(xs))), at(0.5), at(0.9), at(0.95), xs[len(xs)-1]
	return q
}

// round3 keeps three decimals, so a mean does not depend on the order of a
// floating-point sum in a way that shows.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// cdf returns at most points steps of the empirical CDF of xs (sorted here).
func cdf(xs []float64, points int) []PropagationStep {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	var out []PropagationStep
	for i := 1; i <= points; i++ {
		k := int(math.Ceil(float64(i)/float64(points)*float64(len(xs)))) - 1
		step := PropagationStep{Millis: xs[k], Fraction: float64(k+1) / float64(len(xs))}
		if n := len(out); n > 0 && out[n-1].Millis == step.Millis {
			out[n-1] = step
			continue
		}
		out = append(out, step)
	}
	return out
}

// JSON is the report as indented JSON.
func (r *Report) JSON() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("sim: report does not marshal: %v", err)) // plain data: cannot happen
	}
	return append(b, '\n')
}

// WriteTable writes the report as the table the command prints.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Config
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	p("network\t%d nodes, %s, %s gossip, block every %s, latency %s, bandwidth %s, tx rate %g/s, seed %d",
		c.Nodes, peersText(c.Peers), c.Gossip, fmtSeconds(c.BlockIntervalSeconds), fmtMillis(c.LatencyMillis), fmtBandwidth(c.BandwidthBits), c.TxRate, c.Seed)
	for _, pt := range c.Partitions {
		p("partition\t%.0f%% / %.0f%% from %s to %s", pt.Fraction*100, (1-pt.Fraction)*100, fmtSeconds(pt.StartSeconds), fmtSeconds(pt.HealSeconds))
	}
	if c.Network != nil {
		p("links\t%d regions from the network file (latency and bandwidth above unused)", len(c.Network.Regions))
	}
	p("validation\t%s", c.Validation)
	p("simulated\t%s (%s of it settling)", fmtSeconds(r.EndSeconds), fmtSeconds(max(0, r.EndSeconds-c.DurationSeconds)))
	b := r.Blocks
	p("blocks\t%d mined, %d on the main chain, %d stale (stale rate %.2f%%), mean interval %s, mean size %.0f B%s",
		b.Mined, b.MainChain, b.Stale, b.StaleRate*100, fmtSeconds(b.MeanIntervalS), b.MeanSizeBytes, setupText(b.Setup))
	g := r.Reorgs
	p("reorgs\t%d across %d nodes, max depth %d, mean depth %.2f%s", g.Count, g.Nodes, g.MaxDepth, g.MeanDepth, depthsText(g.ByDepth))
	pr := r.Propagation
	p("propagation\tmedian / p90 / max over %d blocks (%d reached every node)", pr.Blocks, pr.ReachedAll)
	p("  to 50%%\t%s", quantText(pr.To50, fmtMillis))
	p("  to 90%%\t%s", quantText(pr.To90, fmtMillis))
	p("  to 100%%\t%s", quantText(pr.To100, fmtMillis))
	t := r.Txs
	p("txs\t%d sent: %d accepted, %d orphaned, %d rejected%s; %d skipped (no coin ready)",
		t.Sent, t.Accepted, t.Orphaned, sumInts(t.Rejected), rejectsText(t.Rejected), t.Skipped)
	p("  confirmed\t%d (%d not), latency median / p90 / max: %s", t.Confirmed, t.Unconfirmed, quantText(t.Latency, func(v float64) string { return fmtSeconds(v) }))
	n := r.Network
	p("network\t%d messages (%d IHAVE, %d IWANT), %s, %d dropped by partitions, %d sync requests, %d invalid blocks",
		n.Messages, n.IHaves, n.IWants, FormatBytes(n.Bytes), n.Dropped, n.SyncRequests, n.InvalidBlocks)
	one := "yes"
	if !r.Final.OneTip {
		one = fmt.Sprintf("NO: %d distinct tips", r.Final.Tips)
	}
	p("final\tone tip: %s; height %d, tip %s", one, r.Final.Height, r.Final.Tip)
	return tw.Flush()
}

func peersText(k int) string {
	if k == 0 {
		return "fully connected"
	}
	return fmt.Sprintf("%d peers dialled each", k)
}

func depthsText(m map[int]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", m[k], k))
	}
	return " (count×depth: " + strings.Join(parts, ", ") + ")"
}

func rejectsText(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func quantText(q Quantiles, f func(float64) string) string {
	if q.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", f(q.Median), f(q.P90), f(q.Max))
}

func fmtMillis(ms float64) string {
	return time.Duration(math.Round(ms * 1e6)).Round(time.Microsecond).String()
}

func fmtSeconds(s float64) string {
	d := time.Duration(math.Round(s * 1e9))
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func fmtBandwidth(bits float64) string {
	switch {
	case bits == 0:
		return "unlimited"
	case bits >= 1e9:
		return fmt.Sprintf("%g Gbit/s", bits/1e9)
	case bits >= 1e6:
		return fmt.Sprintf("%g Mbit/s", bits/1e6)
	case bits >= 1e3:
		return fmt.Sprintf("%g kbit/s", bits/1e3)
	}
	return fmt.Sprintf("%g bit/s", bits)
}

// FormatBytes writes a size in the largest binary unit that keeps it at one
// or more: 7.00 GiB, 213.00 MiB, 12.50 KiB, 512 B.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// WriteFiles writes report.json, propagation.svg and stale.svg into dir,
// creating it if needed.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"report.json", r.JSON()},
		{"propagation.svg", r.PropagationSVG()},
		{"stale.svg", r.StaleSVG()},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// setupText is the blocks line's note of the funding blocks, if any.
func setupText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; after %d funding block(s) before time 0", n)
}
