package apiserver

import (
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/query"
	"github.com/minichain/minichain/p2p"
)

// The read endpoints: chain, transactions, addresses, pool, peers; and the
// submission of a raw transaction.

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) error {
	return ok(w, s.v.Status())
}

func (s *Server) handleHeight(w http.ResponseWriter, r *http.Request) error {
	return ok(w, s.v.Height())
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) error {
	v, err := s.v.BlockByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleLatestBlock(w http.ResponseWriter, r *http.Request) error {
	v, err := s.v.LatestBlock()
	if err != nil {
		return err
	}
	return ok(w, v)
}

// maxBlocksPerPage bounds GET /api/v1/blocks.
const maxBlocksPerPage = 100

func (s *Server) handleBlocks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	tip := s.v.Height().Height
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxBlocksPerPage {
			return query.BadRequest("invalid_limit", "limit must be 1 to %d", maxBlocksPerPage)
		}
		limit = n
	}
	from := max(tip-int32(limit)+1, 0)
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return query.BadRequest("invalid_from", "from must be a height (0 or more)")
		}
		from = int32(n)
	}
	v, err := s.v.BlockRange(from, limit)
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleTx(w http.ResponseWriter, r *http.Request) error {
	txid, err := query.ParseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	v, err := s.v.TxByID(txid)
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleProof(w http.ResponseWriter, r *http.Request) error {
	txid, err := query.ParseTxID(r.PathValue("txid"))
	if err != nil {
		return err
	}
	p, err := s.v.TxProof(txid)
	if err != nil {
		return err
	}
	return ok(w, p)
}

func (s *Server) handleSubmitTx(w http.ResponseWriter, r *http.Request) error {
	var req api.SubmitTx
	if err := readJSON(r, &req); err != nil {
		return err
	}
	raw, err := hex.DecodeString(req.Hex)
	if err != nil || len(raw) == 0 {
		return query.BadRequest("invalid_hex", "hex must be the transaction's encoding in hexadecimal")
	}
	tx, err := chain.DecodeTx(raw, s.cfg.MaxTxSize)
	if err != nil {
		return err
	}
	if err := s.n.SubmitLocalTx(r.Context(), tx); err != nil {
		return err
	}
	return ok(w, api.TxID{TxID: tx.TxHash().String()})
}

func (s *Server) handleAddress(w http.ResponseWriter, r *http.Request) error {
	v, err := s.v.AddressInfo(r.PathValue("address"))
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleBalances(w http.ResponseWriter, r *http.Request) error {
	v, err := s.v.Balances()
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleMempool(w http.ResponseWriter, r *http.Request) error {
	return ok(w, s.v.MempoolView(true))
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) error { return ok(w, s.v.Peers()) }

// handleAddPeer connects to a peer by multiaddr: the seeds' add_peer and
// nodes/register.
func (s *Server) handleAddPeer(w http.ResponseWriter, r *http.Request) error {
	var req api.AddPeer
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if _, err := p2p.ParseBootstrap([]string{req.Multiaddr}); err != nil {
		return query.BadRequest("invalid_multiaddr", "%v", err)
	}
	p, err := s.n.AddPeer(r.Context(), req.Multiaddr)
	if err != nil {
		return err
	}
	s.log.Info("peer added through the API", "peer", p.ID)
	return ok(w, p)
}
