package node

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/query"
)

// metrics are the node's Prometheus series, on a registry of its own so
// several nodes can live in one process (tests) and libp2p's series stay
// out unless added on purpose.
type metrics struct {
	reg *prometheus.Registry

	height          prometheus.Gauge
	orphans         prometheus.Gauge
	blocksAccepted  prometheus.Counter
	blocksConnected prometheus.Counter
	blocksRejected  *prometheus.CounterVec
	txsAccepted     prometheus.Counter
	txsRejected     *prometheus.CounterVec
	reorgs          prometheus.Counter
	reorgDepth      prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.height = prometheus.NewGauge(prometheus.GaugeOpts{Name: "minichain_height", Help: "Height of the main chain's tip."})
	m.orphans = prometheus.NewGauge(prometheus.GaugeOpts{Name: "minichain_orphan_blocks", Help: "Blocks waiting for their parent."})
	m.blocksAccepted = prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_blocks_accepted_total", Help: "Blocks accepted (stored), mined here or received."})
	m.blocksConnected = prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_blocks_connected_total", Help: "Blocks connected to the main chain."})
	m.blocksRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minichain_blocks_rejected_total", Help: "Blocks rejected, by reason."}, []string{"reason"})
	m.txsAccepted = prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_txs_accepted_total", Help: "Transactions accepted into the mempool."})
	m.txsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minichain_txs_rejected_total", Help: "Transactions rejected, by reason."}, []string{"reason"})
	m.reorgs = prometheus.NewCounter(prometheus.CounterOpts{Name: "minichain_reorgs_total", Help: "Reorganisations of the main chain."})
	m.reorgDepth = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "minichain_reorg_depth", Help: "Blocks disconnected by each reorganisation.",
		Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100}})
	for _, c := range []prometheus.Collector{m.height, m.orphans, m.blocksAccepted, m.blocksConnected, m.blocksRejected,
		m.txsAccepted, m.txsRejected, m.reorgs, m.reorgDepth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// gaugeFunc registers a gauge read when scraped.
func (m *metrics) gaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// reasonOf names an error for a metric label and an API error code: the
// snake_case of its rule kind ("ErrSpendTooHigh" -> "spend_too_high"), or
// "other".
func reasonOf(err error) string {
	var re *chain.RuleError
	if errors.As(err, &re) {
		return query.KindCode(re.Err)
	}
	return "other"
}

// registerGauges adds the series read at scrape time.
func (n *Node) registerGauges() {
	m := n.metrics
	m.gaugeFunc("minichain_mempool_txs", "Transactions in the mempool.", func() float64 { return float64(n.mempool.Count()) })
	m.gaugeFunc("minichain_mempool_bytes", "Serialized size of the mempool.", func() float64 { return float64(n.mempool.Bytes()) })
	m.gaugeFunc("minichain_mempool_orphans", "Orphan transactions waiting for parents.", func() float64 { return float64(n.mempool.OrphanCount()) })
	m.gaugeFunc("minichain_hashrate", "The miner's hashes per second.", func() float64 { return n.miner.Stats().HashesPerSec })
	m.gaugeFunc("minichain_blocks_mined_total", "Blocks found by this node's miner.", func() float64 { return float64(n.miner.Stats().BlocksFound) })
	cache := func(f func(chain.CacheStats) float64) func() float64 {
		return func() float64 { return f(n.chain.CacheStats()) }
	}
	m.gaugeFunc("minichain_utxo_cache_bytes", "Approximate memory held by the chain-state cache (changes not yet flushed).",
		cache(func(s chain.CacheStats) float64 { return float64(s.Bytes) }))
	m.gaugeFunc("minichain_utxo_cache_limit_bytes", "Size at which the chain-state cache is flushed (--utxo-cache).",
		cache(func(s chain.CacheStats) float64 { return float64(s.LimitBytes) }))
	m.gaugeFunc("minichain_utxo_cache_hit_ratio", "Share of UTXO lookups answered by the chain-state cache since start.",
		cache(func(s chain.CacheStats) float64 { return s.HitRate() }))
	m.gaugeFunc("minichain_utxo_cache_flushes_total", "Flushes of the chain-state cache to disk since start.",
		cache(func(s chain.CacheStats) float64 { return float64(s.LastFlush.Count) }))
	m.gaugeFunc("minichain_utxo_cache_last_flush_height", "Height of the chain state the last flush wrote (what a restart after a crash starts from).",
		cache(func(s chain.CacheStats) float64 { return float64(s.LastFlush.Height) }))
	m.gaugeFunc("minichain_utxo_cache_last_flush_timestamp_seconds", "Unix time of the last flush of the chain-state cache (0: none yet).",
		cache(func(s chain.CacheStats) float64 {
			if s.LastFlush.Time.IsZero() {
				return 0
			}
			return float64(s.LastFlush.Time.Unix())
		}))
	m.height.Set(float64(n.chain.BestSnapshot().Height))
}
