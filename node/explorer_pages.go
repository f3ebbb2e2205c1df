package node

import (
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
	"github.com/minichain/minichain/wallet"
)

// The explorer's pages. Each handler reads the same views the JSON API
// serves (n.Status, n.BlockByID, n.TxByID, n.TxProof, n.AddressInfo,
// n.MempoolView, n.Peers) and only adds presentation: pagination, totals,
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

func (n *Node) newPage(title, page string) explorerPage {
	return explorerPage{Title: title, Page: page, Network: n.params.Name,
		Height: n.chain.BestSnapshot().Height, Now: time.Now().Unix()}
}

// liveKey names the state the live parts show: the tip, the pool's size,
// the peer count, the sync state, and how many blocks the index holds (so a
// stale block arriving, which moves none of the others, still redraws the
// block tree). explorer.js polls it from /live/state every 2 s and fetches
// the live part again when it changes, so it reads only counters.
func (n *Node) liveKey() string {
	best := n.chain.BestSnapshot()
	peers, syncing := 0, false
	if n.p2p != nil {
		peers, syncing = len(n.p2p.Peers()), n.p2p.SyncInfo().Syncing
	}
	return fmt.Sprintf("%s|%d|%d|%t|%d", best.Hash, n.mempool.Count(), peers, syncing, n.chain.IndexLen())
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

func (n *Node) homeLive() (homeLive, error) {
	s := n.Status()
	v := homeLive{Now: time.Now().Unix(), Status: s, Networked: s.PeerID != ""}
	infos, blocks, err := n.mainBlocks(max(s.Height-homeBlocks+1, 0), homeBlocks)
	if err != nil {
		return v, err
	}
	for i := len(infos) - 1; i >= 0; i-- { // newest first
		v.Blocks = append(v.Blocks, n.blockSummary(infos[i], blocks[i]))
		if len(v.Txs) >= homeTxs {
			continue
		}
		blk, err := n.blockView(infos[i], blocks[i])
		if err != nil {
			return v, err
		}
		for j := len(blk.Transactions) - 1; j >= 0 && len(v.Txs) < homeTxs; j-- {
			v.Txs = append(v.Txs, newTxRow(j, blk.Transactions[j]))
		}
	}
	mp := n.mempoolView(false)
	v.Pending = mp.Transactions[:min(len(mp.Transactions), homePending)]
	v.PendingMore = len(mp.Transactions) - len(v.Pending)
	v.Chart = n.intervalChart()
	v.Tree = n.blockTree(s.Height-treeHeights+1, s.Height+2, "")
	v.Tips = n.chainTips()
	return v, nil
}

func (n *Node) handleExplorerHome(w http.ResponseWriter, r *http.Request) error {
	live, err := n.homeLive()
	if err != nil {
		return err
	}
	d := homeData{explorerPage: n.newPage("Home", "home"), Live: live}
	d.LiveKey = n.liveKey()
	return n.renderPage(w, http.StatusOK, "home", d)
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

func (n *Node) handleExplorerBlock(w http.ResponseWriter, r *http.Request) error {
	b, err := n.BlockByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d := blockData{explorerPage: n.newPage(fmt.Sprintf("Block %d", b.Height), "block"), B: b,
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
	if !b.MainChain || len(n.chain.BlockTree(b.Height, b.Height)) > 1 {
		t := n.blockTree(b.Height-neighbourRadius, b.Height+neighbourRadius, b.Hash)
		d.Tree = &t
	}
	return n.renderPage(w, http.StatusOK, "block", d)
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

func (n *Node) handleExplorerTx(w http.ResponseWriter, r *http.Request) error {
	txid, err := parseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	t, err := n.TxByID(txid)
	if err != nil {
		return err
	}
	d := txData{explorerPage: n.newPage("Transaction "+shortHash(t.TxID), "tx"), T: t, InKnown: !t.Coinbase}
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
			if hdr, _, err := n.chain.HeaderByHash(bh); err == nil {
				d.BlockTime = int64(hdr.Timestamp)
			}
		}
		if p, err := n.TxProof(txid); err == nil {
			d.Proof = &p
			if pic, err := proofPicture(txid, p); err == nil {
				d.Merkle = &pic
			}
		}
	}
	return n.renderPage(w, http.StatusOK, "tx", d)
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

func (n *Node) handleExplorerAddress(w http.ResponseWriter, r *http.Request) error {
	a, err := n.AddressInfo(r.PathValue("address"))
	if err != nil {
		return err
	}
	d := addressData{explorerPage: n.newPage("Address "+a.Address, "address"), A: a}
	d.Utxos = a.Utxos[:min(len(a.Utxos), addressUtxoRows)]
	d.UtxosMore = len(a.Utxos) - len(d.Utxos)
	lo, hi, p := paginate(len(a.History), addressHistoryPerPage, queryInt(r, "page", 1), func(page int) string {
		return "/address/" + url.PathEscape(a.Address) + "?page=" + strconv.Itoa(page)
	})
	d.History, d.Pager = a.History[lo:hi], p
	return n.renderPage(w, http.StatusOK, "address", d)
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

func (n *Node) mempoolLive() mempoolLive {
	mp := n.mempoolView(false)
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

func (n *Node) handleExplorerMempool(w http.ResponseWriter, r *http.Request) error {
	d := mempoolData{explorerPage: n.newPage("Mempool", "mempool"), Live: n.mempoolLive()}
	d.LiveKey = n.liveKey()
	return n.renderPage(w, http.StatusOK, "mempool", d)
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

func (n *Node) peersLive() peersLive {
	s := n.Status()
	return peersLive{Status: s, Networked: s.PeerID != "", Peers: n.Peers()}
}

func (n *Node) handleExplorerPeers(w http.ResponseWriter, r *http.Request) error {
	d := peersData{explorerPage: n.newPage("Peers", "peers"), Live: n.peersLive()}
	d.LiveKey = n.liveKey()
	return n.renderPage(w, http.StatusOK, "peers", d)
}

// ---- live parts ----

// handleExplorerLive renders the live part of a page alone, or the state
// key, for explorer.js.
func (n *Node) handleExplorerLive(w http.ResponseWriter, r *http.Request) error {
	switch page := r.PathValue("page"); page {
	case "state":
		writeJSON(w, http.StatusOK, liveState{Key: n.liveKey()})
		return nil
	case "home":
		live, err := n.homeLive()
		if err != nil {
			return err
		}
		return renderTemplate(w, http.StatusOK, "home", "home-live", live)
	case "mempool":
		return renderTemplate(w, http.StatusOK, "mempool", "mempool-live", n.mempoolLive())
	case "peers":
		return renderTemplate(w, http.StatusOK, "peers", "peers-live", n.peersLive())
	}
	return notFound("there is no live page %q", clip(r.PathValue("page"), 40))
}

// ---- search ----

// handleExplorerSearch sends the visitor to what the search names: a height,
// a block hash, a txid or an address; anything else is the not-found page.
func (n *Node) handleExplorerSearch(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	target, err := n.searchTarget(q)
	if err != nil {
		return err
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// errNoMatch is a search that names nothing known.
var errNoMatch = notFound("Nothing on this chain matches it. Search for a block height, a block hash, a transaction id or an address.")

// searchTarget resolves a search to the path of its page. The path is built
// from the parsed value, never from the raw text.
func (n *Node) searchTarget(q string) (string, error) {
	if len(q) > maxSearchLen {
		return "", errNoMatch
	}
	if h, err := strconv.ParseUint(q, 10, 31); err == nil {
		if _, err := n.chain.BlockHashByHeight(int32(h)); err != nil {
			return "", notFound("There is no block at height %d yet: the tip is at %d.", h, n.chain.BestSnapshot().Height)
		}
		return "/block/" + strconv.FormatUint(h, 10), nil
	}
	if len(q) == 2*chain.HashSize {
		if h, err := chain.ParseHash(q); err == nil {
			if _, _, err := n.chain.HeaderByHash(h); err == nil {
				return "/block/" + h.String(), nil
			}
			if n.mempool.Has(h) {
				return "/tx/" + h.String(), nil
			}
			if ok, err := n.chain.HaveTx(h); err != nil {
				return "", err
			} else if ok {
				return "/tx/" + h.String(), nil
			}
			return "", notFound("No block or transaction has this hash.")
		}
	}
	a, err := wallet.DecodeAddress(q, n.params)
	if errors.Is(err, wallet.ErrWrongNetwork) {
		return "", notFound("%v", err)
	}
	if err == nil {
		return "/address/" + url.PathEscape(a.String()), nil
	}
	return "", errNoMatch
}
