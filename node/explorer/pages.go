package explorer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/query"
	"github.com/minichain/minichain/wallet"
)

// The explorer's pages. Each handler reads the same views the JSON API
// serves (e.Status, e.BlockByID, e.TxByID, e.TxProof, e.AddressInfo,
// e.MempoolView, e.Peers) and only adds presentation: pagination, totals,
// pictures. Every list is bounded so a page costs the same on a long chain.

// Bounds of the pages.
const (
	homeBlocks            = 10  // latest blocks on the home page
	homeTxs               = 10  // latest confirmed transactions on the home page
	homePending           = 10  // pool transactions on the home page
	blockTxsPerPage       = 100 // transactions per page of a block
	addressUtxoRows       = 100 // coins listed on an address page
	addressHistoryPerPage = 50  // history rows per page of an address
	mempoolRows           = 300 // pool transactions listed on the mempool page
	maxSearchLen          = 120 // longer searches match nothing
)

// explorerPage is what the layout needs on every page.
type explorerPage struct {
	Title   string
	Page    string // body data-page and the current navigation entry
	Network string
	Height  int32
	Query   string // the search box's text
	LiveKey string // the state the live part was rendered at (see explorer.js)
	Now     int64
}

func (e *Explorer) newPage(title, page string) explorerPage {
	return explorerPage{Title: title, Page: page, Network: e.params.Name,
		Height: e.chain.BestSnapshot().Height, Now: time.Now().Unix()}
}

// liveKey names the state the live parts show: the tip, the pool's size,
// the peer count, the sync state, and how many blocks the index holds (so a
// stale block arriving, which moves none of the others, still redraws the
// block tree). explorer.js polls it from /live/state every 2 s and fetches
// the live part again when it changes, so it reads only counters.
func (e *Explorer) liveKey() string {
	best := e.chain.BestSnapshot()
	peers, syncing := 0, false
	if e.net != nil {
		peers, syncing = len(e.net.Peers()), e.net.SyncInfo().Syncing
	}
	return fmt.Sprintf("%s|%d|%d|%t|%d", best.Hash, e.pool.Count(), peers, syncing, e.chain.IndexLen())
}

// liveState is the answer of /live/state.
type liveState struct {
	Key string `json:"key"`
}

// queryInt reads a positive integer query parameter; anything else gives def.
func queryInt(r *http.Request, name string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || v < 0 {
		return def
	}
	return v
}

// pager is one page of a long list.
type pager struct {
	Page, Pages, Total int
	PrevURL, NextURL   string
}

// paginate returns the bounds of page (1-based, clamped) of total items.
func paginate(total, perPage, page int, urlOf func(page int) string) (lo, hi int, p pager) {
	p.Total = total
	p.Pages = max((total+perPage-1)/perPage, 1)
	p.Page = min(max(page, 1), p.Pages)
	lo = (p.Page - 1) * perPage
	hi = min(lo+perPage, total)
	if p.Page > 1 {
		p.PrevURL = urlOf(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = urlOf(p.Page + 1)
	}
	return lo, hi, p
}

// txRow is a transaction in a list: the home page's latest, a block's.
type txRow struct {
	Index    int
	TxID     string
	Height   int32
	Size     int
	Fee      *uint64
	Out      uint64
	Inputs   int
	Outputs  int
	Coinbase bool
}

func newTxRow(i int, t api.Tx) txRow {
	r := txRow{Index: i, TxID: t.TxID, Size: t.Size, Fee: t.Fee, Inputs: len(t.Inputs), Outputs: len(t.Outputs), Coinbase: t.Coinbase}
	if t.BlockHeight != nil {
		r.Height = *t.BlockHeight
	}
	for _, o := range t.Outputs {
		r.Out += o.Value
	}
	return r
}

// ---- home ----

// homeLive is the part of the home page that refreshes itself.
type homeLive struct {
	Now         int64
	Status      api.Status
	Networked   bool
	Blocks      []api.BlockSummary // newest first
	Txs         []txRow
	Pending     []api.MempoolTx
	PendingMore int
	Chart       diagram
	Tree        diagram
	Tips        []tipRow
}

type homeData struct {
	explorerPage
	Live homeLive
}

func (e *Explorer) homeLive() (homeLive, error) {
	s := e.v.Status()
	v := homeLive{Now: time.Now().Unix(), Status: s, Networked: s.PeerID != ""}
	infos, blocks, err := e.v.MainBlocks(max(s.Height-homeBlocks+1, 0), homeBlocks)
	if err != nil {
		return v, err
	}
	for i := len(infos) - 1; i >= 0; i-- { // newest first
		v.Blocks = append(v.Blocks, e.v.BlockSummary(infos[i], blocks[i]))
		if len(v.Txs) >= homeTxs {
			continue
		}
		blk, err := e.v.BlockView(infos[i], blocks[i])
		if err != nil {
			return v, err
		}
		for j := len(blk.Transactions) - 1; j >= 0 && len(v.Txs) < homeTxs; j-- {
			v.Txs = append(v.Txs, newTxRow(j, blk.Transactions[j]))
		}
	}
	mp := e.v.MempoolView(false)
	v.Pending = mp.Transactions[:min(len(mp.Transactions), homePending)]
	v.PendingMore = len(mp.Transactions) - len(v.Pending)
	v.Chart = e.intervalChart()
	v.Tree = e.blockTree(s.Height-treeHeights+1, s.Height+2, "")
	v.Tips = e.chainTips()
	return v, nil
}

func (e *Explorer) handleHome(w http.ResponseWriter, r *http.Request) error {
	live, err := e.homeLive()
	if err != nil {
		return err
	}
	d := homeData{explorerPage: e.newPage("Home", "home"), Live: live}
	d.LiveKey = e.liveKey()
	return e.renderPage(w, http.StatusOK, "home", d)
}

// ---- block ----

type blockData struct {
	explorerPage
	B      api.Block
	Hash   hashParts
	Target hashParts
	Rows   []txRow
	Pager  pager
	Merkle merklePicture
	Tree   *diagram // the tree around the block, when it has competitors
}

func (e *Explorer) handleBlock(w http.ResponseWriter, r *http.Request) error {
	b, err := e.v.BlockByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d := blockData{explorerPage: e.newPage(fmt.Sprintf("Block %d", b.Height), "block"), B: b,
		Hash: splitLeadingZeros(b.Hash), Target: splitLeadingZeros(b.Target)}
	lo, hi, p := paginate(len(b.Transactions), blockTxsPerPage, queryInt(r, "page", 1), func(page int) string {
		return "/block/" + b.Hash + "?page=" + strconv.Itoa(page)
	})
	d.Pager = p
	for i := lo; i < hi; i++ {
		d.Rows = append(d.Rows, newTxRow(i, b.Transactions[i]))
	}
	leaves := make([]chain.Hash, 0, len(b.Transactions))
	for _, t := range b.Transactions {
		h, err := chain.ParseHash(t.TxID)
		if err != nil {
			return fmt.Errorf("explorer: txid of block %s: %w", b.Hash, err)
		}
		leaves = append(leaves, h)
	}
	root, err := chain.ParseHash(b.MerkleRoot)
	if err != nil {
		return fmt.Errorf("explorer: merkle root of block %s: %w", b.Hash, err)
	}
	d.Merkle = blockMerkle(leaves, queryInt(r, "tx", len(leaves)-1), root)
	if !b.MainChain || len(e.chain.BlockTree(b.Height, b.Height)) > 1 {
		t := e.blockTree(b.Height-neighbourRadius, b.Height+neighbourRadius, b.Hash)
		d.Tree = &t
	}
	return e.renderPage(w, http.StatusOK, "block", d)
}

// ---- transaction ----

type txData struct {
	explorerPage
	T         api.Tx
	In, Out   uint64
	InKnown   bool
	BlockTime int64
	Proof     *api.Proof
	Merkle    *merklePicture
}

func (e *Explorer) handleTx(w http.ResponseWriter, r *http.Request) error {
	txid, err := query.ParseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	t, err := e.v.TxByID(txid)
	if err != nil {
		return err
	}
	d := txData{explorerPage: e.newPage("Transaction "+shortHash(t.TxID), "tx"), T: t, InKnown: !t.Coinbase}
	for _, in := range t.Inputs {
		if in.Value == nil {
			d.InKnown = false
			continue
		}
		d.In += *in.Value
	}
	for _, o := range t.Outputs {
		d.Out += o.Value
	}
	if t.BlockHash != "" {
		if bh, err := chain.ParseHash(t.BlockHash); err == nil {
			if hdr, _, err := e.chain.HeaderByHash(bh); err == nil {
				d.BlockTime = int64(hdr.Timestamp)
			}
		}
		if p, err := e.v.TxProof(txid); err == nil {
			d.Proof = &p
			if pic, err := proofPicture(txid, p); err == nil {
				d.Merkle = &pic
			}
		}
	}
	return e.renderPage(w, http.StatusOK, "tx", d)
}

// proofPicture draws an API proof as the path up the tree.
func proofPicture(txid chain.Hash, p api.Proof) (merklePicture, error) {
	root, err := chain.ParseHash(p.MerkleRoot)
	if err != nil {
		return merklePicture{}, err
	}
	proof := chain.MerkleProof{Index: p.Index, TxCount: p.TxCount}
	for _, s := range p.Branch {
		h, err := chain.ParseHash(s)
		if err != nil {
			return merklePicture{}, err
		}
		proof.Branch = append(proof.Branch, h)
	}
	return merklePath(txid, proof, root), nil
}

// ---- address ----

type addressData struct {
	explorerPage
	A         api.Address
	Utxos     []api.Utxo
	UtxosMore int
	History   []api.AddressTx
	Pager     pager
}

func (e *Explorer) handleAddress(w http.ResponseWriter, r *http.Request) error {
	a, err := e.v.AddressInfo(r.PathValue("address"))
	if err != nil {
		return err
	}
	d := addressData{explorerPage: e.newPage("Address "+a.Address, "address"), A: a}
	d.Utxos = a.Utxos[:min(len(a.Utxos), addressUtxoRows)]
	d.UtxosMore = len(a.Utxos) - len(d.Utxos)
	lo, hi, p := paginate(len(a.History), addressHistoryPerPage, queryInt(r, "page", 1), func(page int) string {
		return "/address/" + url.PathEscape(a.Address) + "?page=" + strconv.Itoa(page)
	})
	d.History, d.Pager = a.History[lo:hi], p
	return e.renderPage(w, http.StatusOK, "address", d)
}

// ---- mempool ----

type mempoolLive struct {
	Now              int64
	Count, Bytes     int
	Rows             []api.MempoolTx
	More             int
	MinRate, MaxRate float64
	MedianRate       float64
	Fees             uint64
}

type mempoolData struct {
	explorerPage
	Live mempoolLive
}

func (e *Explorer) mempoolLive() mempoolLive {
	mp := e.v.MempoolView(false)
	v := mempoolLive{Now: time.Now().Unix(), Count: mp.Count, Bytes: mp.Bytes}
	v.Rows = mp.Transactions[:min(len(mp.Transactions), mempoolRows)]
	v.More = len(mp.Transactions) - len(v.Rows)
	if len(mp.Transactions) > 0 {
		rates := make([]float64, len(mp.Transactions))
		for i, t := range mp.Transactions {
			rates[i] = t.FeeRate
			v.Fees += t.Fee
		}
		sort.Float64s(rates)
		v.MinRate, v.MaxRate, v.MedianRate = rates[0], rates[len(rates)-1], rates[len(rates)/2]
	}
	return v
}

func (e *Explorer) handleMempool(w http.ResponseWriter, r *http.Request) error {
	d := mempoolData{explorerPage: e.newPage("Mempool", "mempool"), Live: e.mempoolLive()}
	d.LiveKey = e.liveKey()
	return e.renderPage(w, http.StatusOK, "mempool", d)
}

// ---- peers ----

type peersLive struct {
	Status    api.Status
	Networked bool
	Peers     api.Peers
}

type peersData struct {
	explorerPage
	Live peersLive
}

func (e *Explorer) peersLive() peersLive {
	s := e.v.Status()
	return peersLive{Status: s, Networked: s.PeerID != "", Peers: e.v.Peers()}
}

func (e *Explorer) handlePeers(w http.ResponseWriter, r *http.Request) error {
	d := peersData{explorerPage: e.newPage("Peers", "peers"), Live: e.peersLive()}
	d.LiveKey = e.liveKey()
	return e.renderPage(w, http.StatusOK, "peers", d)
}

// ---- live parts ----

// handleLive renders the live part of a page alone, or the state
// key, for explorer.js.
func (e *Explorer) handleLive(w http.ResponseWriter, r *http.Request) error {
	switch page := r.PathValue("page"); page {
	case "state":
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(liveState{Key: e.liveKey()})
	case "home":
		live, err := e.homeLive()
		if err != nil {
			return err
		}
		return renderTemplate(w, http.StatusOK, "home", "home-live", live)
	case "mempool":
		return renderTemplate(w, http.StatusOK, "mempool", "mempool-live", e.mempoolLive())
	case "peers":
		return renderTemplate(w, http.StatusOK, "peers", "peers-live", e.peersLive())
	}
	return query.NotFound("there is no live page %q", clip(r.PathValue("page"), 40))
}

// ---- search ----

// handleSearch sends the visitor to what the search names: a height,
// a block hash, a txid or an address; anything else is the not-found page.
func (e *Explorer) handleSearch(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	target, err := e.searchTarget(q)
	if err != nil {
		return err
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// errNoMatch is a search that names nothing known.
var errNoMatch = query.NotFound("Nothing on this chain matches it. Search for a block height, a block hash, a transaction id or an address.")

// searchTarget resolves a search to the path of its page. The path is built
// from the parsed value, never from the raw text.
func (e *Explorer) searchTarget(q string) (string, error) {
	if len(q) > maxSearchLen {
		return "", errNoMatch
	}
	if h, err := strconv.ParseUint(q, 10, 31); err == nil {
		if _, err := e.chain.BlockHashByHeight(int32(h)); err != nil {
			return "", query.NotFound("There is no block at height %d yet: the tip is at %d.", h, e.chain.BestSnapshot().Height)
		}
		return "/block/" + strconv.FormatUint(h, 10), nil
	}
	if len(q) == 2*chain.HashSize {
		if h, err := chain.ParseHash(q); err == nil {
			if _, _, err := e.chain.HeaderByHash(h); err == nil {
				return "/block/" + h.String(), nil
			}
			if e.pool.Has(h) {
				return "/tx/" + h.String(), nil
			}
			if ok, err := e.chain.HaveTx(h); err != nil {
				return "", err
			} else if ok {
				return "/tx/" + h.String(), nil
			}
			return "", query.NotFound("No block or transaction has this hash.")
		}
	}
	a, err := wallet.DecodeAddress(q, e.params)
	if errors.Is(err, wallet.ErrWrongNetwork) {
		return "", query.NotFound("%v", err)
	}
	if err == nil {
		return "/address/" + url.PathEscape(a.String()), nil
	}
	return "", errNoMatch
}
