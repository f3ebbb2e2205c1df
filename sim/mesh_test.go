package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestMeshShape: every topic's mesh is symmetric, inside the graph, and of
// a degree between D_lo and D_hi (or every peer, for a node with fewer
// than D_lo), as gossipsub's heartbeat keeps it.
func TestMeshShape(t *testing.T) {
	mp := newMeshParams()
	if mp.d != 6 || mp.dlo != 5 || mp.dhi != 12 || mp.dlazy != 6 || mp.heartbeat != time.Second {
		t.Fatalf("p2p's gossipsub parameters changed (%+v): check the model and docs/SIMULATION.md", mp)
	}
	r := rand.New(rand.NewPCG(5, 6))
	peers := buildTopology(300, 8, r)
	meshes := buildMeshes(peers, mp, r)
	for i := range peers {
		for topic := 0; topic < topics; topic++ {
			m := meshes[i][topic]
			lo := min(mp.dlo, len(peers[i]))
			if len(m) < lo || len(m) > mp.dhi {
				t.Errorf("node %d (%d peers), topic %d: mesh degree %d", i, len(peers[i]), topic, len(m))
			}
			for _, j := range m {
				if !slices.Contains(peers[i], j) {
					t.Errorf("node %d: mesh peer %d is not a peer", i, j)
				}
				if !slices.Contains(meshes[j][topic], i) {
					t.Errorf("node %d has %d in its mesh, not the other way", i, j)
				}
			}
		}
	}
}

// TestMeshCheaperThanFlood: on a graph denser than D_hi, the mesh carries
// every block to every node with fewer messages and bytes than flooding,
// and its lazy gossip is used.
func TestMeshCheaperThanFlood(t *testing.T) {
	base := Config{Nodes: 60, Duration: 2 * time.Hour, BlockInterval: 10 * time.Minute, Peers: 10,
		Latency: 50 * time.Millisecond, Bandwidth: 20e6, TxRate: 0.2, Seed: 7}
	flood, mesh := base, base
	flood.Gossip, mesh.Gossip = GossipFlood, GossipMesh
	_, f := run(t, flood)
	_, m := run(t, mesh)
	t.Logf("flood: %d messages, %d bytes; mesh: %d messages, %d bytes, %d IHAVE, %d IWANT",
		f.Network.Messages, f.Network.Bytes, m.Network.Messages, m.Network.Bytes, m.Network.IHaves, m.Network.IWants)
	if m.Propagation.ReachedAll != m.Propagation.Blocks || !m.Final.OneTip {
		t.Fatalf("mesh: %d of %d blocks reached every node", m.Propagation.ReachedAll, m.Propagation.Blocks)
	}
	if m.Network.Bytes >= f.Network.Bytes || m.Network.IHaves == 0 {
		t.Fatalf("mesh %d bytes, flood %d bytes, %d IHAVEs", m.Network.Bytes, f.Network.Bytes, m.Network.IHaves)
	}
	if m.Txs.Confirmed == 0 || m.Txs.Confirmed < f.Txs.Confirmed*8/10 {
		t.Fatalf("mesh confirmed %d txs, flood %d", m.Txs.Confirmed, f.Txs.Confirmed)
	}
}

// TestValidationDelaysRelay: on a line of four nodes without bandwidth
// limits, each hop costs the latency plus the block's validation time, so
// with a fixed 100 ms per block a block from an end reaches the far end
// after 3 x 110 ms, and one from the middle after 2 x 110 ms.
func TestValidationDelaysRelay(t *testing.T) {
	line := [][]int{{1}, {0, 2}, {1, 3}, {2}}
	cfg := Config{Nodes: 4, Topology: line, Duration: 6 * time.Hour, BlockInterval: 10 * time.Minute,
		Latency: 10 * time.Millisecond, Seed: 3, Gossip: GossipFlood,
		Validation: ValidationCost{PerBlock: 100 * time.Millisecond}}
	_, r := run(t, cfg)
	if r.Propagation.To100.Max != 330 || r.Propagation.To100.Median < 220 || r.Propagation.ReachedAll != r.Propagation.Blocks {
		t.Fatalf("propagation to all with 100 ms validation: %+v", r.Propagation.To100)
	}
	cfg.Validation = ValidationCost{}
	_, r = run(t, cfg)
	if r.Propagation.To100.Max != 30 {
		t.Fatalf("propagation to all without validation: %+v", r.Propagation.To100)
	}
}

// TestParseValidationCost: the flag's forms, and bad ones refused.
func TestParseValidationCost(t *testing.T) {
	v, err := ParseValidationCost("block=1ms,sig=50us")
	if err != nil || v != (ValidationCost{PerBlock: time.Millisecond, PerSig: 50 * time.Microsecond}) {
		t.Fatalf("%+v %v", v, err)
	}
	if v, err := ParseValidationCost("default"); err != nil || v != DefaultValidationCost {
		t.Fatalf("default: %+v %v", v, err)
	}
	if v, err := ParseValidationCost(DefaultValidationCost.String()); err != nil || v != DefaultValidationCost {
		t.Fatalf("round trip: %+v %v", v, err)
	}
	for _, bad := range []string{"block", "cpu=1ms", "sig=-1ms", "sig=fast"} {
		if _, err := ParseValidationCost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
