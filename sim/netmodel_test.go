package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const twoRegions = `{"regions": [
  {"name": "near", "share": 0.5, "bandwidth_bits": 0},
  {"name": "far", "share": 0.5, "bandwidth_bits": 0}],
 "latency_ms": [[10, 500], [500, 10]]}`

// TestNetworkModelLatency: with two regions 500 ms apart and 10 ms within,
// a block reaches its own region fast and the other only after 500 ms.
func TestNetworkModelLatency(t *testing.T) {
	m, err := ParseNetworkModel([]byte(twoRegions))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Nodes: 20, Duration: 4 * time.Hour, BlockInterval: 10 * time.Minute, Peers: 3, Seed: 5,
		Network: m, Latency: time.Hour /* unused with a model */}
	_, r := run(t, cfg)
	if r.Propagation.ReachedAll != r.Propagation.Blocks || r.Propagation.Blocks == 0 {
		t.Fatalf("%d of %d blocks reached every node", r.Propagation.ReachedAll, r.Propagation.Blocks)
	}
	if r.Propagation.To100.Median < 500 || r.Propagation.To100.Max > 3000 {
		t.Fatalf("to 100%%: %+v, want at least one 500 ms crossing, no hour-long link", r.Propagation.To100)
	}
	if r.Config.Network == nil {
		t.Fatal("the report does not record the network model")
	}
}

// TestNetworkModelDraws: regions follow the shares, uploads the log-normal
// distribution (median as given), jitter stays in its band and is the same
// both ways, all from the seed.
func TestNetworkModelDraws(t *testing.T) {
	m := &NetworkModel{
		Regions:   []Region{{Name: "a", Share: 3, BandwidthBits: 10e6, BandwidthSigma: 1}, {Name: "b", Share: 1, BandwidthBits: 1e6}},
		LatencyMs: [][]float64{{10, 100}, {100, 20}},
		Jitter:    0.2,
	}
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	const n = 4000
	l := newLinks(Config{Nodes: n, Network: m, Seed: 1}, rand.New(rand.NewPCG(1, 6)))
	var inA []float64
	for i := 0; i < n; i++ {
		if l.region[i] == 0 {
			inA = append(inA, l.upload(i))
		} else if l.upload(i) != 1e6 {
			t.Fatalf("region b node %d: upload %g, want exactly the median", i, l.upload(i))
		}
	}
	if frac := float64(len(inA)) / n; math.Abs(frac-0.75) > 0.03 {
		t.Fatalf("%.3f of the nodes in region a, want 0.75", frac)
	}
	slices.Sort(inA)
	if med := inA[len(inA)/2]; med < 9e6 || med > 11e6 {
		t.Fatalf("median upload in a %g, want about 10e6", med)
	}
	for a := 0; a < 200; a++ {
		b := (a*7 + 1) % n
		d := l.delay(a, b)
		base := l.matrix[l.region[a]][l.region[b]]
		if d != l.delay(b, a) || float64(d) < 0.8*float64(base)-1 || float64(d) > 1.2*float64(base)+1 {
			t.Fatalf("link %d-%d: %v and %v, base %v", a, b, d, l.delay(b, a), base)
		}
	}
}

// TestNetworkModelErrors: bad files are refused with ErrConfig.
func TestNetworkModelErrors(t *testing.T) {
	for _, bad := range []string{
		`{`,
		`{"regions": []}`,
		`{"regions": [{"share": 1}], "latency_ms": [[1, 2]]}`,
		`{"regions": [{"share": -1}], "latency_ms": [[1]]}`,
		`{"regions": [{"share": 0}], "latency_ms": [[1]]}`,
		`{"regions": [{"share": 1}], "latency_ms": [[-5]]}`,
		`{"regions": [{"share": 1}], "latency_ms": [[5]], "jitter": 2}`,
	} {
		if _, err := ParseNetworkModel([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestMinDelayBoundsEveryLink: the parallel event loop's window, the
// shortest latency a link can have, is no longer than any link's delay
// (jitter included), and not much shorter than the shortest one drawn.
func TestMinDelayBoundsEveryLink(t *testing.T) {
	m := &NetworkModel{
		Regions:   []Region{{Name: "a", Share: 1}, {Name: "b", Share: 1}, {Name: "c", Share: 1}},
		LatencyMs: [][]float64{{12.3, 80, 150}, {80, 7.7, 60}, {150, 60, 30}},
		Jitter:    0.25,
	}
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	const n = 300
	l := newLinks(Config{Nodes: n, Network: m, Seed: 4}, rand.New(rand.NewPCG(4, 6)))
	w := l.minDelay()
	shortest := time.Duration(math.MaxInt64)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			d := l.delay(a, b)
			if d < w {
				t.Fatalf("link %d-%d: delay %v below the window %v", a, b, d, w)
			}
			shortest = min(shortest, d)
		}
	}
	if w <= 0 || shortest-w > 100*time.Microsecond {
		t.Fatalf("window %v, shortest link %v: the window should be just below it", w, shortest)
	}
	uniform := newLinks(Config{Nodes: 3, Latency: 40 * time.Millisecond}, rand.New(rand.NewPCG(1, 6)))
	if got := uniform.minDelay(); got != 40*time.Millisecond {
		t.Fatalf("uniform links: window %v, want the latency", got)
	}
}
