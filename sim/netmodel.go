package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"
)

// NetworkModel is a heterogeneous network: nodes spread over regions, a
// one-way latency between every pair of regions, and each node's upload
// bandwidth drawn from its region's distribution. It is read from a JSON
// file (--network); when set it replaces Config.Latency and
// Config.Bandwidth. Example:
//
//	{"regions": [
//	   {"name": "eu", "share": 0.4, "bandwidth_bits": 50e6, "bandwidth_sigma": 0.8},
//	   {"name": "us", "share": 0.4, "bandwidth_bits": 50e6, "bandwidth_sigma": 0.8},
//	   {"name": "asia", "share": 0.2, "bandwidth_bits": 20e6, "bandwidth_sigma": 1}],
//	 "latency_ms": [[10, 45, 120], [45, 15, 90], [120, 90, 30]],
//	 "jitter": 0.2}
type NetworkModel struct {
	Regions []Region `json:"regions"`
	// LatencyMs[i][j] is the one-way latency from region i to region j,
	// in milliseconds.
	LatencyMs [][]float64 `json:"latency_ms"`
	// Jitter spreads link latencies: each link's latency is its regions'
	// times a factor drawn uniformly from [1-Jitter, 1+Jitter], fixed for
	// the link (0 to 0.9).
	Jitter float64 `json:"jitter"`
}

// Region is a part of the network.
type Region struct {
	Name string `json:"name"`
	// Share is the fraction of the nodes in the region; the shares are
	// normalised to sum to 1.
	Share float64 `json:"share"`
	// BandwidthBits is the median upload of the region's nodes in bit/s
	// (0: unlimited); BandwidthSigma is the sigma of the log-normal
	// distribution each node's upload is drawn from (0: every node gets
	// the median).
	BandwidthBits  float64 `json:"bandwidth_bits"`
	BandwidthSigma float64 `json:"bandwidth_sigma"`
}

// LoadNetworkModel reads and checks a network file.
func LoadNetworkModel(path string) (*NetworkModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: network file: %v", ErrConfig, err)
	}
	return ParseNetworkModel(data)
}

// ParseNetworkModel parses and checks a network model in JSON.
func ParseNetworkModel(data []byte) (*NetworkModel, error) {
	var m NetworkModel
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: network file: %v", ErrConfig, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *NetworkModel) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: network model: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if len(m.Regions) == 0 || len(m.Regions) > 256 {
		return bad("%d regions: want 1 to 256", len(m.Regions))
	}
	total := 0.0
	for _, r := range m.Regions {
		if !(r.Share >= 0) || math.IsInf(r.Share, 0) || !(r.BandwidthBits >= 0) || math.IsInf(r.BandwidthBits, 0) ||
			!(r.BandwidthSigma >= 0) || r.BandwidthSigma > 5 {
			return bad("region %q: share, bandwidth_bits and bandwidth_sigma (at most 5) must be non-negative numbers", r.Name)
		}
		total += r.Share
	}
	if !(total > 0) {
		return bad("the region shares sum to %g", total)
	}
	if len(m.LatencyMs) != len(m.Regions) {
		return bad("latency_ms has %d rows for %d regions", len(m.LatencyMs), len(m.Regions))
	}
	for i, row := range m.LatencyMs {
		if len(row) != len(m.Regions) {
			return bad("latency_ms row %d has %d entries for %d regions", i, len(row), len(m.Regions))
		}
		for _, v := range row {
			if !(v >= 0) || v > 60_000 {
				return bad("latency %g ms: want 0 to 60000", v)
			}
		}
	}
	if !(m.Jitter >= 0) || m.Jitter > 0.9 {
		return bad("jitter %g: want 0 to 0.9", m.Jitter)
	}
	return nil
}

// links is what the simulation knows of the network's links: each node's
// region and upload, and the latency between regions.
type links struct {
	uniform   bool // no model: Config.Latency and Config.Bandwidth for all
	latency   time.Duration
	bandwidth []float64 // per node (model) or one value (uniform)
	region    []uint8
	matrix    [][]time.Duration
	jitter    float64
	seed      uint64
}

// newLinks draws the regions and uploads of n nodes from the model.
func newLinks(cfg Config, r *rand.Rand) *links {
	m := cfg.Network
	if m == nil {
		return &links{uniform: true, latency: cfg.Latency, bandwidth: []float64{cfg.Bandwidth}}
	}
	l := &links{jitter: m.Jitter, seed: cfg.Seed, region: make([]uint8, cfg.Nodes), bandwidth: make([]float64, cfg.Nodes)}
	for _, row := range m.LatencyMs {
		var out []time.Duration
		for _, ms := range row {
			out = append(out, time.Duration(math.Round(ms*float64(time.Millisecond))))
		}
		l.matrix = append(l.matrix, out)
	}
	total := 0.0
	for _, rg := range m.Regions {
		total += rg.Share
	}
	for i := 0; i < cfg.Nodes; i++ {
		x, k := r.Float64()*total, 0
		for k < len(m.Regions)-1 && x >= m.Regions[k].Share {
			x -= m.Regions[k].Share
			k++
		}
		rg := m.Regions[k]
		l.region[i] = uint8(k)
		l.bandwidth[i] = rg.BandwidthBits * math.Exp(rg.BandwidthSigma*r.NormFloat64())
	}
	return l
}

// upload is node i's upload in bit/s (0: unlimited).
func (l *links) upload(i int) float64 {
	if l.uniform {
		return l.bandwidth[0]
	}
	return l.bandwidth[i]
}

// delay is the one-way latency from a to b: the regions' latency times the
// link's jitter factor, a hash of the seed and the link (the same both
// ways), so no per-link table is kept.
func (l *links) delay(a, b int) time.Duration {
	if l.uniform {
		return l.latency
	}
	base := l.matrix[l.region[a]][l.region[b]]
	if l.jitter == 0 {
		return base
	}
	lo, hi := uint64(min(a, b)), uint64(max(a, b))
	u := float64(splitmix(l.seed^splitmix(lo<<32|hi))>>11) / (1 << 53)
	return time.Duration(math.Round(float64(base) * (1 + l.jitter*(2*u-1))))
}

// splitmix is SplitMix64's finaliser, a good 64-bit mixing function.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
