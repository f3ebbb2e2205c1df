package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrConfig is wrapped by every error Config.Validate and the flag parsers
// return.
var ErrConfig = errors.New("sim: invalid config")

// Partition cuts the network in two from Start until Heal: messages between
// the sides are dropped, in flight or not. When it heals the nodes on each
// cut link tell each other their tips and swap mempools, as peers do when
// they reconnect.
type Partition struct {
	Start, Heal time.Duration
	// Fraction of the nodes on the first side, chosen at random from the
	// seed (0 means one half).
	Fraction float64
}

// Config is one simulation: the network, the mining, the traffic and the
// schedule. A zero Nodes, Duration, BlockInterval, Settle or Gossip takes its value
// from Defaults; every other zero means what it says (no latency, unlimited
// bandwidth, every node connected to every other, no traffic, seed 0). The
// command's flags start from Defaults.
type Config struct {
	// Nodes is how many nodes run (each a real chain.Chain and mempool).
	Nodes int
	// Duration is how long, in simulated time, blocks are mined and
	// transactions sent. The run goes on past it only to let the network
	// settle (see Settle).
	Duration time.Duration
	// BlockInterval is the mean time between blocks of the whole network.
	BlockInterval time.Duration
	// Shares are the miners' fractions of the hash power, node 0 first;
	// nodes past the list split what the list leaves. Empty means equal
	// shares for all.
	Shares []float64
	// Peers is how many peers each node dials at random (the graph is
	// connected first by a random tree); 0 means every node connects to
	// every other.
	Peers int
	// Topology, if set, is the graph itself: Topology[i] lists node i's
	// peers (symmetric, no self-links), and Peers is ignored.
	Topology [][]int
	// Latency is the one-way delay of every link.
	Latency time.Duration
	// Bandwidth is each node's upload rate in bits per second, shared by
	// everything it sends; 0 means unlimited.
	Bandwidth float64
	// TxRate is how many transactions per simulated second the traffic
	// generator sends, each to a random node, paying another node's user.
	TxRate float64
	// Network, if set, is a heterogeneous network (regions, latencies
	// between them, uploads drawn per node) and replaces Latency and
	// Bandwidth.
	Network *NetworkModel
	// Validation is the CPU time nodes spend validating, applied before
	// they relay; zero costs nothing. The command defaults to
	// DefaultValidationCost.
	Validation ValidationCost
	// Gossip is how blocks and transactions spread: GossipMesh
	// (gossipsub's mesh with lazy IHAVE/IWANT, the default) or
	// GossipFlood (every peer).
	Gossip string
	// Partitions is the partition schedule.
	Partitions []Partition
	// Seed makes the run: the same seed and config give the same report.
	Seed uint64
	// Settle bounds how long mining goes on after Duration while the nodes
	// disagree on the tip (equal-work ties are broken by the next block,
	// as on a real network). 0 means the default; negative means none.
	Settle time.Duration
	// Progress, if set, is called about every simulated hour with the
	// simulated time reached.
	Progress func(now time.Duration, blocks int)
	// Workers is how many threads run the nodes' events side by side; 0
	// means one per CPU (GOMAXPROCS), at most MaxWorkers. The report is
	// the same for every count: it changes only how fast the run goes.
	Workers int
}

// MaxWorkers bounds Config.Workers: each worker keeps an outbox per
// worker, so the count costs memory by its square.
const MaxWorkers = 256

// Defaults are the command's defaults; Nodes, Duration, BlockInterval and
// Settle are also what zero fields of a Config take.
var Defaults = Config{
	Nodes:         20,
	Duration:      6 * time.Hour,
	BlockInterval: 10 * time.Minute,
	Peers:         8,
	Latency:       100 * time.Millisecond,
	Bandwidth:     20e6,
	TxRate:        0.1,
	Seed:          1,
	Settle:        24 * time.Hour,
	Gossip:        GossipMesh,
	Validation:    DefaultValidationCost,
}

// withDefaults returns c with defaults applied.
func (c Config) withDefaults() Config {
	d := Defaults
	if c.Nodes == 0 {
		c.Nodes = d.Nodes
	}
	if c.Duration == 0 {
		c.Duration = d.Duration
	}
	if c.BlockInterval == 0 {
		c.BlockInterval = d.BlockInterval
	}
	if c.Settle == 0 {
		c.Settle = d.Settle
	}
	if c.Settle < 0 {
		c.Settle = 0
	}
	if c.Gossip == "" {
		c.Gossip = d.Gossip
	}
	for i := range c.Partitions {
		if c.Partitions[i].Fraction == 0 {
			c.Partitions[i].Fraction = 0.5
		}
	}
	return c
}

// Validate reports the first thing wrong with c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Gossip != GossipMesh && c.Gossip != GossipFlood:
		return fmt.Errorf("%w: --gossip %q: want %s or %s", ErrConfig, c.Gossip, GossipMesh, GossipFlood)
	case c.Network != nil && c.Network.check() != nil:
		return c.Network.check()
	case c.Validation.PerBlock < 0 || c.Validation.PerByte < 0 || c.Validation.PerInput < 0 || c.Validation.PerSig < 0:
		return fmt.Errorf("%w: negative validation cost %v", ErrConfig, c.Validation)
	case c.Nodes < 1 || c.Nodes > 100_000:
		return fmt.Errorf("%w: --nodes %d: want 1 to 100000", ErrConfig, c.Nodes)
	case c.Duration < 0:
		return fmt.Errorf("%w: --duration must be positive", ErrConfig)
	case c.BlockInterval < time.Millisecond:
		return fmt.Errorf("%w: --block-interval %v: want at least 1ms", ErrConfig, c.BlockInterval)
	case c.Peers < 0:
		return fmt.Errorf("%w: --peers must not be negative", ErrConfig)
	case c.Workers < 0:
		return fmt.Errorf("%w: --workers must not be negative (0: one per CPU)", ErrConfig)
	case c.Workers > MaxWorkers:
		return fmt.Errorf("%w: --workers %d: at most %d (0: one per CPU)", ErrConfig, c.Workers, MaxWorkers)
	case c.Latency < 0:
		return fmt.Errorf("%w: --latency must not be negative", ErrConfig)
	case c.Bandwidth < 0 || math.IsNaN(c.Bandwidth) || math.IsInf(c.Bandwidth, 0):
		return fmt.Errorf("%w: --bandwidth must be a positive number of bits per second, or 0 for unlimited", ErrConfig)
	case c.TxRate < 0 || math.IsNaN(c.TxRate) || c.TxRate > 10_000:
		return fmt.Errorf("%w: --tx-rate %v: want 0 to 10000 per second", ErrConfig, c.TxRate)
	case len(c.Shares) > c.Nodes:
		return fmt.Errorf("%w: %d shares for %d nodes", ErrConfig, len(c.Shares), c.Nodes)
	}
	if c.Topology != nil {
		if err := checkTopology(c.Topology, c.Nodes); err != nil {
			return err
		}
	}
	sum := 0.0
	for i, s := range c.Shares {
		if s < 0 || math.IsNaN(s) || s > 1 {
			return fmt.Errorf("%w: share %d is %v: want 0 to 1", ErrConfig, i, s)
		}
		sum += s
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("%w: shares add up to %v, more than 1", ErrConfig, sum)
	}
	if len(c.Shares) == c.Nodes && sum < 1e-9 {
		return fmt.Errorf("%w: no node has any hash power", ErrConfig)
	}
	for i, p := range c.Partitions {
		if p.Start < 0 || p.Heal <= p.Start {
			return fmt.Errorf("%w: partition %d: heal (%v) must come after start (%v)", ErrConfig, i, p.Heal, p.Start)
		}
		if p.Fraction <= 0 || p.Fraction >= 1 {
			return fmt.Errorf("%w: partition %d: fraction %v: want between 0 and 1", ErrConfig, i, p.Fraction)
		}
		if c.Nodes < 2 {
			return fmt.Errorf("%w: a partition needs at least 2 nodes", ErrConfig)
		}
		if i > 0 && p.Start < c.Partitions[i-1].Heal {
			return fmt.Errorf("%w: partition %d starts before partition %d heals", ErrConfig, i, i-1)
		}
	}
	return nil
}

// shares returns every node's share of the hash power.
func (c Config) shares() []float64 {
	out := make([]float64, c.Nodes)
	sum := 0.0
	for i, s := range c.Shares {
		out[i] = s
		sum += s
	}
	if rest := c.Nodes - len(c.Shares); rest > 0 {
		each := max(0, 1-sum) / float64(rest)
		for i := len(c.Shares); i < c.Nodes; i++ {
			out[i] = each
		}
	}
	return out
}

// ParsePartition parses a partition as "START-HEAL" or "START-HEAL@FRACTION",
// with Go durations: "2h-3h30m", "10m-20m@0.3".
func ParsePartition(s string) (Partition, error) {
	var p Partition
	spec, frac, hasFrac := strings.Cut(s, "@")
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return p, fmt.Errorf("%w: partition %q: want START-HEAL, e.g. 2h-3h", ErrConfig, s)
	}
	var err error
	if p.Start, err = time.ParseDuration(strings.TrimSpace(a)); err != nil {
		return p, fmt.Errorf("%w: partition %q: start: %v", ErrConfig, s, err)
	}
	if p.Heal, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
		return p, fmt.Errorf("%w: partition %q: heal: %v", ErrConfig, s, err)
	}
	if hasFrac {
		if p.Fraction, err = strconv.ParseFloat(frac, 64); err != nil {
			return p, fmt.Errorf("%w: partition %q: fraction: %v", ErrConfig, s, err)
		}
		if p.Fraction <= 0 || p.Fraction >= 1 {
			return p, fmt.Errorf("%w: partition %q: fraction must be between 0 and 1", ErrConfig, s)
		}
	}
	if p.Start < 0 || p.Heal <= p.Start {
		return p, fmt.Errorf("%w: partition %q: heal must come after start", ErrConfig, s)
	}
	return p, nil
}

// ParseShares parses a comma-separated list of hash-power fractions:
// "0.3,0.2,0.1".
func ParseShares(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 || v > 1 || math.IsNaN(v) {
			return nil, fmt.Errorf("%w: share %q: want a fraction from 0 to 1", ErrConfig, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseBandwidth parses a rate in bits per second with an optional SI
// suffix and unit: "20M", "20Mbit", "1.5Gbps", "800k", "0" (unlimited).
func ParseBandwidth(s string) (float64, error) {
	t := strings.TrimSpace(s)
	for _, unit := range []string{"bit/s", "bps", "bit", "b/s"} {
		if strings.HasSuffix(strings.ToLower(t), unit) {
			t = t[:len(t)-len(unit)]
			break
		}
	}
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'M':
			mult, t = 1e6, t[:n-1]
		case 'G', 'g':
			mult, t = 1e9, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: bandwidth %q: want bits per second, e.g. 20M or 800k (0 for unlimited)", ErrConfig, s)
	}
	return v * mult, nil
}

// checkTopology checks an explicit graph: one peer list per node, peers in
// range, no self-links or duplicates, every link listed at both ends.
func checkTopology(adj [][]int, nodes int) error {
	if len(adj) != nodes {
		return fmt.Errorf("%w: topology has %d nodes, config %d", ErrConfig, len(adj), nodes)
	}
	for i, peers := range adj {
		seen := make(map[int]bool, len(peers))
		for _, p := range peers {
			if p < 0 || p >= nodes || p == i || seen[p] {
				return fmt.Errorf("%w: topology: node %d has a bad peer %d", ErrConfig, i, p)
			}
			seen[p] = true
			if !slices.Contains(adj[p], i) {
				return fmt.Errorf("%w: topology: link %d-%d is listed at one end only", ErrConfig, i, p)
			}
		}
	}
	return nil
}
