package p2p

import "github.com/prometheus/client_golang/prometheus"

// metrics are the network's Prometheus series, registered on the node's
// registry when one is given.
type metrics struct {
	reg         prometheus.Registerer
	gossip      *prometheus.CounterVec
	syncBlocks  prometheus.Counter
	peerBest    prometheus.Gauge
	syncing     prometheus.Gauge
	bans        prometheus.Counter
	offences    *prometheus.CounterVec
	orphanFetch prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg: reg,
		gossip: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minichain_gossip_messages_total",
			Help: "Gossip messages by topic, direction (in/out) and verdict."}, []string{"topic", "direction", "verdict"}),
		syncBlocks: prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_sync_blocks_total",
			Help: "Blocks received over the sync protocol."}),
		peerBest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "minichain_sync_peer_best_height",
			Help: "The best height a peer has shown (its tip, or checked headers linking to our chain)."}),
		syncing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "minichain_syncing",
			Help: "1 while the node downloads blocks towards checked headers it lacks the blocks of."}),
		bans: prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_peer_bans_total",
			Help: "Peers banned for misbehaving."}),
		offences: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minichain_peer_offences_total",
			Help: "Offences charged to peers, by kind (docs/PROTOCOL.md, Limits and penalties)."}, []string{"offence"}),
		orphanFetch: prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_orphan_parent_fetches_total",
			Help: "Syncs started to fetch the missing parents of an orphan block."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.gossip, m.syncBlocks, m.peerBest, m.syncing, m.bans, m.offences, m.orphanFetch} {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *metrics) peersFunc(fn func() float64) {
	if m.reg != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "minichain_peers",
			Help: "Connected peers."}, fn))
	}
}

func (m *metrics) gossipIn(topic string, v Verdict) {
	m.gossip.WithLabelValues(topic, "in", v.String()).Inc()
}

func (m *metrics) gossipOut(topic string) {
	m.gossip.WithLabelValues(topic, "out", "published").Inc()
}
