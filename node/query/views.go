package query

import (
	"encoding/hex"
	"errors"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/p2p"
	"github.com/minichain/minichain/wallet"
)

// Status builds the status view (shared by the API and the explorer).
func (r *Reader) Status() api.Status {
	best := r.chain.BestSnapshot()
	ms := r.miner.Stats()
	s := api.Status{
		Network: r.params.Name, Version: r.version, Genesis: r.params.GenesisHash.String(),
		Height: best.Height, Tip: best.Hash.String(), TipTime: best.Timestamp,
		Bits: strconv.FormatUint(uint64(best.Bits), 16), Difficulty: r.Difficulty(best.Bits),
		ChainWork: best.WorkSum.Text(16), NetworkHashps: r.networkHashrate(20),
		Mining: ms.Mining, Hashrate: ms.HashesPerSec, MinerThreads: ms.Workers, MinerKernel: ms.Kernel, BlocksMined: ms.BlocksFound,
		Mempool: api.MempoolInfo{Count: r.pool.Count(), Bytes: r.pool.Bytes(), Orphans: r.pool.OrphanCount()},
		Orphans: r.chain.OrphanCount(), UptimeSeconds: int64(time.Since(r.started).Seconds()),
	}
	cs := r.chain.CacheStats()
	s.UtxoCache = api.UtxoCacheInfo{LimitBytes: cs.LimitBytes, Bytes: cs.Bytes, Records: cs.Records,
		HitRate: cs.HitRate(), Hits: cs.Hits, Misses: cs.Misses, Flushes: cs.LastFlush.Count}
	if cs.LastFlush.Count > 0 {
		s.UtxoCache.LastFlushHeight = cs.LastFlush.Height
		s.UtxoCache.LastFlushHash = cs.LastFlush.Hash.String()
		if !cs.LastFlush.Time.IsZero() {
			s.UtxoCache.LastFlushTime = cs.LastFlush.Time.Unix()
		}
	}
	if r.net != nil {
		s.PeerID = r.net.ID().String()
		s.Multiaddrs = r.net.Addrs()
		s.Peers = len(r.net.Peers())
		si := r.net.SyncInfo()
		s.Sync = api.SyncInfo{Syncing: si.Syncing, PeerBestHeight: si.PeerBestHeight,
			BlocksPerSecond: si.BlocksPerSecond, Progress: si.Progress}
	}
	return s
}

// networkHashrate estimates the network's hashes per second from the work
// and time span of the last `window` blocks.
func (r *Reader) networkHashrate(window int32) float64 {
	best := r.chain.BestSnapshot()
	if best.Height < 2 {
		return 0
	}
	from := best.Height - window
	if from < 0 {
		from = 0
	}
	hdrs := r.chain.MainChainHeaders(from, best.Height)
	if len(hdrs) < 2 {
		return 0
	}
	span := int64(hdrs[len(hdrs)-1].Timestamp) - int64(hdrs[0].Timestamp)
	if span <= 0 {
		return 0
	}
	var work float64
	for _, h := range hdrs[1:] {
		w, _ := new(big.Float).SetInt(chain.CalcWork(h.Bits)).Float64()
		work += w
	}
	return work / float64(span)
}

// resolveBlockID reads a height (digits) or a block hash (64 hex digits).
func (r *Reader) resolveBlockID(id string) (chain.Hash, error) {
	if len(id) == 2*chain.HashSize {
		h, err := chain.ParseHash(id)
		if err != nil {
			return chain.Hash{}, BadRequest("invalid_hash", "%q is not a block hash: %v", id, err)
		}
		return h, nil
	}
	height, err := strconv.ParseInt(id, 10, 32)
	if err != nil || height < 0 {
		return chain.Hash{}, BadRequest("invalid_block_id", "%q is neither a height nor a 64-digit block hash", id)
	}
	h, err := r.chain.BlockHashByHeight(int32(height))
	if err != nil {
		return chain.Hash{}, NotFound("no block at height %d (the tip is at %d)", height, r.chain.BestSnapshot().Height)
	}
	return h, nil
}

// BlockByID returns the full view of a block by height or hash.
func (r *Reader) BlockByID(id string) (api.Block, error) {
	h, err := r.resolveBlockID(id)
	if err != nil {
		return api.Block{}, err
	}
	return r.BlockByHash(h)
}

func (r *Reader) BlockByHash(h chain.Hash) (api.Block, error) {
	bi, err := r.chain.BlockInfo(h)
	if err != nil {
		return api.Block{}, NotFound("block %s is not known", h)
	}
	b, err := r.chain.BlockByHash(h)
	if err != nil {
		return api.Block{}, err
	}
	return r.BlockView(bi, b)
}

// BlockRange returns summaries of main-chain blocks from height `from`
// upwards, at most limit of them.
func (r *Reader) BlockRange(from int32, limit int) (api.BlockList, error) {
	out := api.BlockList{From: from, Blocks: []api.BlockSummary{}}
	infos, blocks, err := r.MainBlocks(from, limit)
	for i := range infos {
		out.Blocks = append(out.Blocks, r.BlockSummary(infos[i], blocks[i]))
	}
	return out, err
}

// MainBlocks reads main-chain blocks from height `from` upwards, at most
// limit of them, with their index entries.
func (r *Reader) MainBlocks(from int32, limit int) ([]chain.BlockInfo, []*chain.Block, error) {
	var infos []chain.BlockInfo
	var blocks []*chain.Block
	tip := r.chain.BestSnapshot().Height
	for h := from; h <= tip && len(infos) < limit; h++ {
		hash, err := r.chain.BlockHashByHeight(h)
		if err != nil {
			break // the chain shrank under us
		}
		bi, err := r.chain.BlockInfo(hash)
		if err != nil {
			break
		}
		b, err := r.chain.BlockByHash(hash)
		if err != nil {
			return infos, blocks, err
		}
		infos, blocks = append(infos, bi), append(blocks, b)
	}
	return infos, blocks, nil
}

// TxByID returns the view of a pool or main-chain transaction.
func (r *Reader) TxByID(txid chain.Hash) (api.Tx, error) {
	if d, ok := r.pool.Get(txid); ok {
		prev := make([]*chain.UtxoEntry, len(d.Tx.TxIn))
		for i, in := range d.Tx.TxIn {
			prev[i] = r.poolPrevOut(in.PrevOut)
		}
		v := r.TxView(d.Tx, prev)
		v.InMempool, v.Hex = true, hex.EncodeToString(d.Tx.Serialize())
		return v, nil
	}
	tx, blk, loc, err := r.chain.TxByID(txid)
	if errors.Is(err, chain.ErrTxNotFound) {
		return api.Tx{}, NotFound("transaction %s is neither in the mempool nor in the main chain", txid)
	}
	if err != nil {
		return api.Tx{}, err
	}
	spent, err := r.spentOutputs(loc.BlockHash, blk)
	if err != nil {
		return api.Tx{}, err
	}
	v := r.TxView(tx, spent[loc.Index])
	v.Hex = hex.EncodeToString(tx.Serialize())
	height := loc.Height
	v.BlockHash, v.BlockHeight, v.Confirmations = loc.BlockHash.String(), &height, loc.Confirmations
	return v, nil
}

// poolPrevOut returns the output a pool transaction's input spends: from a
// pool parent or the UTXO set.
func (r *Reader) poolPrevOut(op chain.OutPoint) *chain.UtxoEntry {
	if d, ok := r.pool.Get(op.Hash); ok && int(op.Index) < len(d.Tx.TxOut) {
		out := d.Tx.TxOut[op.Index]
		return &chain.UtxoEntry{Value: out.Value, PkScript: out.PkScript}
	}
	e, _ := r.chain.FetchUtxo(op)
	return e
}

// TxProof returns the Merkle proof of a main-chain transaction.
func (r *Reader) TxProof(txid chain.Hash) (api.Proof, error) {
	proof, hdr, loc, err := r.chain.TxProof(txid)
	if errors.Is(err, chain.ErrTxNotFound) {
		if r.pool.Has(txid) {
			return api.Proof{}, NotFound("transaction %s is in the mempool: it has no proof until it is mined", txid)
		}
		return api.Proof{}, NotFound("transaction %s is not in the main chain", txid)
	}
	if err != nil {
		return api.Proof{}, err
	}
	p := api.Proof{TxID: txid.String(), BlockHash: loc.BlockHash.String(), BlockHeight: loc.Height,
		Header: hex.EncodeToString(hdr.Serialize()), MerkleRoot: hdr.MerkleRoot.String(),
		Index: proof.Index, TxCount: proof.TxCount, Branch: []string{}, Confirmations: loc.Confirmations}
	for _, h := range proof.Branch {
		p.Branch = append(p.Branch, h.String())
	}
	return p, nil
}

// AddressInfo returns an address's balance, coins and history, confirmed
// and pending.
func (r *Reader) AddressInfo(s string) (api.Address, error) {
	a, err := wallet.DecodeAddress(s, r.params)
	if err != nil {
		return api.Address{}, err
	}
	utxos, err := r.chain.AddressUtxos(a.PKH)
	if err != nil {
		return api.Address{}, err
	}
	hist, err := r.chain.AddressHistory(a.PKH)
	if err != nil {
		return api.Address{}, err
	}
	tip := r.chain.BestSnapshot().Height
	v := api.Address{Address: a.String(), Utxos: []api.Utxo{}, History: []api.AddressTx{}, Pending: []api.AddressTx{}}
	mine := map[chain.OutPoint]uint64{}
	for _, u := range utxos {
		_, spent := r.pool.Spender(u.OutPoint)
		v.Utxos = append(v.Utxos, api.Utxo{TxID: u.OutPoint.Hash.String(), Index: u.OutPoint.Index, Value: u.Value,
			Height: u.Height, Coinbase: u.IsCoinbase, Confirmations: tip - u.Height + 1, SpentInPool: spent})
		v.Balance += u.Value
		mine[u.OutPoint] = u.Value
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		v.History = append(v.History, api.AddressTx{TxID: h.TxID.String(), Height: h.Height, Received: h.Received, Sent: h.Sent})
	}
	v.TxCount = len(hist)
	script := a.Script()
	for _, d := range r.pool.Ordered() {
		var recv, sent uint64
		for i, out := range d.Tx.TxOut {
			if string(out.PkScript) == string(script) {
				recv += out.Value
				mine[chain.OutPoint{Hash: d.TxID, Index: uint32(i)}] = out.Value
			}
		}
		for _, in := range d.Tx.TxIn {
			sent += mine[in.PrevOut]
		}
		if recv > 0 || sent > 0 {
			v.Pending = append(v.Pending, api.AddressTx{TxID: d.TxID.String(), Height: -1, Received: recv, Sent: sent})
			v.Unconfirmed += int64(recv) - int64(sent)
		}
	}
	return v, nil
}

// MempoolView lists the pool in fee-rate order, with each transaction's
// encoding only when withHex (the explorer shows none).
func (r *Reader) MempoolView(withHex bool) api.Mempool {
	out := api.Mempool{Transactions: []api.MempoolTx{}}
	for _, d := range r.pool.Ordered() {
		t := api.MempoolTx{TxID: d.TxID.String(), Size: d.Size, Fee: d.Fee, FeeRate: d.FeeRate(), Time: d.Added.Unix()}
		if withHex {
			t.Hex = hex.EncodeToString(d.Tx.Serialize())
		}
		out.Transactions = append(out.Transactions, t)
		out.Bytes += d.Size
	}
	out.Count = len(out.Transactions)
	return out
}

// Peers lists the connected peers.
func (r *Reader) Peers() api.Peers {
	out := api.Peers{Peers: []api.Peer{}}
	if r.net == nil {
		return out
	}
	for _, p := range r.net.Peers() {
		out.Peers = append(out.Peers, PeerView(p))
	}
	out.Count = len(out.Peers)
	return out
}

// PeerView is the view of a connected peer.
func PeerView(p p2p.PeerInfo) api.Peer {
	return api.Peer{ID: p.ID, Addrs: p.Addrs, Direction: strings.ToLower(p.Direction),
		LatencyMs: float64(p.Latency.Microseconds()) / 1000, BestHeight: p.BestHeight, UserAgent: p.UserAgent}
}

// Balances lists every address holding coins, richest first, with the
// total.
func (r *Reader) Balances() (api.Balances, error) {
	bal, err := r.chain.Balances()
	if err != nil {
		return api.Balances{}, err
	}
	out := api.Balances{Balances: []api.AddressBalance{}}
	for pkh, v := range bal {
		out.Balances = append(out.Balances, api.AddressBalance{Address: wallet.NewAddress(pkh, r.params).String(), Balance: v})
		out.Total += v
	}
	sort.Slice(out.Balances, func(i, j int) bool {
		if out.Balances[i].Balance != out.Balances[j].Balance {
			return out.Balances[i].Balance > out.Balances[j].Balance
		}
		return out.Balances[i].Address < out.Balances[j].Address
	})
	out.Count = len(out.Balances)
	return out, nil
}

// Height is the main chain's height.
func (r *Reader) Height() api.Height { return api.Height{Height: r.chain.BestSnapshot().Height} }

// LatestBlock is the full view of the tip.
func (r *Reader) LatestBlock() (api.Block, error) { return r.BlockByHash(r.chain.BestSnapshot().Hash) }
