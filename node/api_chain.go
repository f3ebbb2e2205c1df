package node

import (
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
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
func (n *Node) Status() api.Status {
	best := n.chain.BestSnapshot()
	ms := n.miner.Stats()
	s := api.Status{
		Network: n.params.Name, Version: n.cfg.Version, Genesis: n.params.GenesisHash.String(),
		Height: best.Height, Tip: best.Hash.String(), TipTime: best.Timestamp,
		Bits: strconv.FormatUint(uint64(best.Bits), 16), Difficulty: n.difficulty(best.Bits),
		ChainWork: best.WorkSum.Text(16), NetworkHashps: n.networkHashrate(20),
		Mining: ms.Mining, Hashrate: ms.HashesPerSec, MinerThreads: ms.Workers, BlocksMined: ms.BlocksFound,
		Mempool: api.MempoolInfo{Count: n.mempool.Count(), Bytes: n.mempool.Bytes(), Orphans: n.mempool.OrphanCount()},
		Orphans: n.chain.OrphanCount(), UptimeSeconds: int64(time.Since(n.started).Seconds()),
	}
	if n.p2p != nil {
		s.PeerID = n.p2p.ID().String()
		s.Multiaddrs = n.p2p.Addrs()
		s.Peers = len(n.p2p.Peers())
		si := n.p2p.SyncInfo()
		s.Sync = api.SyncInfo{Syncing: si.Syncing, PeerBestHeight: si.PeerBestHeight,
			BlocksPerSecond: si.BlocksPerSecond, Progress: si.Progress}
	}
	return s
}

// networkHashrate estimates the network's hashes per second from the work
// and time span of the last `window` blocks.
func (n *Node) networkHashrate(window int32) float64 {
	best := n.chain.BestSnapshot()
	if best.Height < 2 {
		return 0
	}
	from := best.Height - window
	if from < 0 {
		from = 0
	}
	hdrs := n.chain.MainChainHeaders(from, best.Height)
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

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) error { return ok(w, n.Status()) }

func (n *Node) handleHeight(w http.ResponseWriter, r *http.Request) error {
	return ok(w, api.Height{Height: n.chain.BestSnapshot().Height})
}

// resolveBlockID reads a height (digits) or a block hash (64 hex digits).
func (n *Node) resolveBlockID(id string) (chain.Hash, error) {
	if len(id) == 2*chain.HashSize {
		h, err := chain.ParseHash(id)
		if err != nil {
			return chain.Hash{}, badRequest("invalid_hash", "%q is not a block hash: %v", id, err)
		}
		return h, nil
	}
	height, err := strconv.ParseInt(id, 10, 32)
	if err != nil || height < 0 {
		return chain.Hash{}, badRequest("invalid_block_id", "%q is neither a height nor a 64-digit block hash", id)
	}
	h, err := n.chain.BlockHashByHeight(int32(height))
	if err != nil {
		return chain.Hash{}, notFound("no block at height %d (the tip is at %d)", height, n.chain.BestSnapshot().Height)
	}
	return h, nil
}

// BlockByID returns the full view of a block by height or hash.
func (n *Node) BlockByID(id string) (api.Block, error) {
	h, err := n.resolveBlockID(id)
	if err != nil {
		return api.Block{}, err
	}
	return n.blockByHash(h)
}

func (n *Node) blockByHash(h chain.Hash) (api.Block, error) {
	bi, err := n.chain.BlockInfo(h)
	if err != nil {
		return api.Block{}, notFound("block %s is not known", h)
	}
	b, err := n.chain.BlockByHash(h)
	if err != nil {
		return api.Block{}, err
	}
	return n.blockView(bi, b)
}

func (n *Node) handleBlock(w http.ResponseWriter, r *http.Request) error {
	v, err := n.BlockByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (n *Node) handleLatestBlock(w http.ResponseWriter, r *http.Request) error {
	v, err := n.blockByHash(n.chain.BestSnapshot().Hash)
	if err != nil {
		return err
	}
	return ok(w, v)
}

// maxBlocksPerPage bounds GET /api/v1/blocks.
const maxBlocksPerPage = 100

// BlockRange returns summaries of main-chain blocks from height `from`
// upwards, at most limit of them.
func (n *Node) BlockRange(from int32, limit int) (api.BlockList, error) {
	out := api.BlockList{From: from, Blocks: []api.BlockSummary{}}
	infos, blocks, err := n.mainBlocks(from, limit)
	for i := range infos {
		out.Blocks = append(out.Blocks, n.blockSummary(infos[i], blocks[i]))
	}
	return out, err
}

// mainBlocks reads main-chain blocks from height `from` upwards, at most
// limit of them, with their index entries.
func (n *Node) mainBlocks(from int32, limit int) ([]chain.BlockInfo, []*chain.Block, error) {
	var infos []chain.BlockInfo
	var blocks []*chain.Block
	tip := n.chain.BestSnapshot().Height
	for h := from; h <= tip && len(infos) < limit; h++ {
		hash, err := n.chain.BlockHashByHeight(h)
		if err != nil {
			break // the chain shrank under us
		}
		bi, err := n.chain.BlockInfo(hash)
		if err != nil {
			break
		}
		b, err := n.chain.BlockByHash(hash)
		if err != nil {
			return infos, blocks, err
		}
		infos, blocks = append(infos, bi), append(blocks, b)
	}
	return infos, blocks, nil
}

func (n *Node) handleBlocks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	tip := n.chain.BestSnapshot().Height
	limit := 10
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxBlocksPerPage {
			return badRequest("invalid_limit", "limit must be 1 to %d", maxBlocksPerPage)
		}
		limit = v
	}
	from := tip - int32(limit) + 1
	if from < 0 {
		from = 0
	}
	if s := q.Get("from"); s != "" {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil || v < 0 {
			return badRequest("invalid_from", "from must be a height (0 or more)")
		}
		from = int32(v)
	}
	v, err := n.BlockRange(from, limit)
	if err != nil {
		return err
	}
	return ok(w, v)
}

func parseTxID(s string) (chain.Hash, error) {
	h, err := chain.ParseHash(s)
	if err != nil {
		return h, badRequest("invalid_txid", "%q is not a txid: %v", s, err)
	}
	return h, nil
}

// TxByID returns the view of a pool or main-chain transaction.
func (n *Node) TxByID(txid chain.Hash) (api.Tx, error) {
	if d, ok := n.mempool.Get(txid); ok {
		prev := make([]*chain.UtxoEntry, len(d.Tx.TxIn))
		for i, in := range d.Tx.TxIn {
			prev[i] = n.poolPrevOut(in.PrevOut)
		}
		v := n.txView(d.Tx, prev)
		v.InMempool, v.Hex = true, hex.EncodeToString(d.Tx.Serialize())
		return v, nil
	}
	tx, blk, loc, err := n.chain.TxByID(txid)
	if errors.Is(err, chain.ErrTxNotFound) {
		return api.Tx{}, notFound("transaction %s is neither in the mempool nor in the main chain", txid)
	}
	if err != nil {
		return api.Tx{}, err
	}
	spent, err := n.spentOutputs(loc.BlockHash, blk)
	if err != nil {
		return api.Tx{}, err
	}
	v := n.txView(tx, spent[loc.Index])
	v.Hex = hex.EncodeToString(tx.Serialize())
	height := loc.Height
	v.BlockHash, v.BlockHeight, v.Confirmations = loc.BlockHash.String(), &height, loc.Confirmations
	return v, nil
}

// poolPrevOut returns the output a pool transaction's input spends: from a
// pool parent or the UTXO set.
func (n *Node) poolPrevOut(op chain.OutPoint) *chain.UtxoEntry {
	if d, ok := n.mempool.Get(op.Hash); ok && int(op.Index) < len(d.Tx.TxOut) {
		out := d.Tx.TxOut[op.Index]
		return &chain.UtxoEntry{Value: out.Value, PkScript: out.PkScript}
	}
	e, _ := n.chain.FetchUtxo(op)
	return e
}

func (n *Node) handleTx(w http.ResponseWriter, r *http.Request) error {
	txid, err := parseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	v, err := n.TxByID(txid)
	if err != nil {
		return err
	}
	return ok(w, v)
}

// TxProof returns the Merkle proof of a main-chain transaction.
func (n *Node) TxProof(txid chain.Hash) (api.Proof, error) {
	proof, hdr, loc, err := n.chain.TxProof(txid)
	if errors.Is(err, chain.ErrTxNotFound) {
		if n.mempool.Has(txid) {
			return api.Proof{}, notFound("transaction %s is in the mempool: it has no proof until it is mined", txid)
		}
		return api.Proof{}, notFound("transaction %s is not in the main chain", txid)
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

func (n *Node) handleProof(w http.ResponseWriter, r *http.Request) error {
	txid, err := parseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	p, err := n.TxProof(txid)
	if err != nil {
		return err
	}
	return ok(w, p)
}

func (n *Node) handleSubmitTx(w http.ResponseWriter, r *http.Request) error {
	var req api.SubmitTx
	if err := readJSON(r, &req); err != nil {
		return err
	}
	raw, err := hex.DecodeString(req.Hex)
	if err != nil || len(raw) == 0 {
		return badRequest("invalid_hex", "hex must be the transaction's encoding in hexadecimal")
	}
	tx, err := chain.DecodeTx(raw, n.params.MaxTxSize())
	if err != nil {
		return err
	}
	if _, err := n.SubmitTx(r.Context(), tx, true); err != nil {
		return err
	}
	return ok(w, api.TxID{TxID: tx.TxHash().String()})
}

// AddressInfo returns an address's balance, coins and history, confirmed
// and pending.
func (n *Node) AddressInfo(s string) (api.Address, error) {
	a, err := wallet.DecodeAddress(s, n.params)
	if err != nil {
		return api.Address{}, err
	}
	utxos, err := n.chain.AddressUtxos(a.PKH)
	if err != nil {
		return api.Address{}, err
	}
	hist, err := n.chain.AddressHistory(a.PKH)
	if err != nil {
		return api.Address{}, err
	}
	tip := n.chain.BestSnapshot().Height
	v := api.Address{Address: a.String(), Utxos: []api.Utxo{}, History: []api.AddressTx{}, Pending: []api.AddressTx{}}
	mine := map[chain.OutPoint]uint64{}
	for _, u := range utxos {
		_, spent := n.mempool.Spender(u.OutPoint)
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
	for _, d := range n.mempool.Ordered() {
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

func (n *Node) handleAddress(w http.ResponseWriter, r *http.Request) error {
	v, err := n.AddressInfo(r.PathValue("address"))
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (n *Node) handleBalances(w http.ResponseWriter, r *http.Request) error {
	bal, err := n.chain.Balances()
	if err != nil {
		return err
	}
	out := api.Balances{Balances: []api.AddressBalance{}}
	for pkh, v := range bal {
		out.Balances = append(out.Balances, api.AddressBalance{Address: wallet.NewAddress(pkh, n.params).String(), Balance: v})
		out.Total += v
	}
	sort.Slice(out.Balances, func(i, j int) bool {
		if out.Balances[i].Balance != out.Balances[j].Balance {
			return out.Balances[i].Balance > out.Balances[j].Balance
		}
		return out.Balances[i].Address < out.Balances[j].Address
	})
	out.Count = len(out.Balances)
	return ok(w, out)
}

// MempoolView lists the pool in fee-rate order.
func (n *Node) MempoolView() api.Mempool { return n.mempoolView(true) }

// mempoolView is MempoolView, with each transaction's encoding only when
// withHex (the explorer shows none).
func (n *Node) mempoolView(withHex bool) api.Mempool {
	out := api.Mempool{Transactions: []api.MempoolTx{}}
	for _, d := range n.mempool.Ordered() {
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

func (n *Node) handleMempool(w http.ResponseWriter, r *http.Request) error {
	return ok(w, n.MempoolView())
}

// Peers lists the connected peers.
func (n *Node) Peers() api.Peers {
	out := api.Peers{Peers: []api.Peer{}}
	if n.p2p == nil {
		return out
	}
	for _, p := range n.p2p.Peers() {
		out.Peers = append(out.Peers, peerView(p))
	}
	out.Count = len(out.Peers)
	return out
}

func peerView(p p2p.PeerInfo) api.Peer {
	return api.Peer{ID: p.ID, Addrs: p.Addrs, Direction: strings.ToLower(p.Direction),
		LatencyMs: float64(p.Latency.Microseconds()) / 1000, BestHeight: p.BestHeight, UserAgent: p.UserAgent}
}

func (n *Node) handlePeers(w http.ResponseWriter, r *http.Request) error { return ok(w, n.Peers()) }

// handleAddPeer connects to a peer by multiaddr: the seeds' add_peer and
// nodes/register.
func (n *Node) handleAddPeer(w http.ResponseWriter, r *http.Request) error {
	var req api.AddPeer
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if n.p2p == nil {
		return &apiError{status: http.StatusConflict, code: "p2p_disabled", message: "this node runs without a network (no --p2p-listen)"}
	}
	if _, err := p2p.ParseBootstrap([]string{req.Multiaddr}); err != nil {
		return badRequest("invalid_multiaddr", "%v", err)
	}
	p, err := n.p2p.Connect(r.Context(), req.Multiaddr)
	if err != nil {
		return &apiError{status: http.StatusBadGateway, code: "connect_failed", message: err.Error()}
	}
	n.log.Info("peer added through the API", "peer", p.ID)
	return ok(w, peerView(p))
}
