package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/query"
)

// The endpoints that need the token: the node's wallet, mining, a full
// re-validation and shutdown.

func (s *Server) handleWallet(w http.ResponseWriter, r *http.Request) error {
	v, err := s.n.WalletView()
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleNewAddress(w http.ResponseWriter, r *http.Request) error {
	v, err := s.n.NewAddress()
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) error {
	var req api.Send
	if err := readJSON(r, &req); err != nil {
		return err
	}
	out, err := s.n.Send(r.Context(), req)
	if err != nil {
		return err
	}
	return ok(w, out)
}

func (s *Server) handleMiningStart(w http.ResponseWriter, r *http.Request) error {
	s.n.StartMining()
	s.log.Info("mining started")
	return ok(w, s.n.Mining())
}

func (s *Server) handleMiningStop(w http.ResponseWriter, r *http.Request) error {
	s.n.StopMining()
	s.log.Info("mining stopped")
	return ok(w, s.n.Mining())
}

// maxGenerate bounds one generate call.
const maxGenerate = 1000

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) error {
	var req api.Generate
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Blocks < 1 || req.Blocks > maxGenerate {
		return query.BadRequest("invalid_blocks", "blocks must be 1 to %d", maxGenerate)
	}
	extendWriteDeadline(w, 10*time.Minute)
	hashes, err := s.n.Generate(r.Context(), req.Blocks)
	if err != nil {
		return err
	}
	out := api.Generated{Blocks: []string{}}
	for _, h := range hashes {
		out.Blocks = append(out.Blocks, h.String())
	}
	return ok(w, out)
}

// handleValidate re-validates the whole chain. With "Accept:
// application/x-ndjson" it streams progress lines and then the result;
// otherwise it answers with the result alone.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) error {
	stream := strings.Contains(r.Header.Get("Accept"), "application/x-ndjson")
	rc := http.NewResponseController(w)
	start := time.Now()
	var (
		mu       sync.Mutex
		enc      *json.Encoder
		lastSent time.Time
	)
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc = json.NewEncoder(w)
	}
	progress := func(done, total int32) {
		if !stream {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done != total && time.Since(lastSent) < 200*time.Millisecond {
			return
		}
		lastSent = time.Now()
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		_ = enc.Encode(api.Progress{Progress: &api.ProgressBody{Done: done + 1, Total: total + 1}})
		_ = rc.Flush()
	}
	extendWriteDeadline(w, time.Hour)
	rep, err := s.n.ValidateChain(r.Context(), progress)
	res := api.Validation{Valid: rep.Valid, Tip: rep.Tip.String(), Height: rep.Height, Blocks: rep.Blocks,
		Utxos: rep.Utxos, BadHeight: rep.BadHeight, Error: rep.Error, Seconds: time.Since(start).Seconds()}
	if stream {
		if err != nil {
			_, code, msg := query.Classify(err)
			return enc.Encode(api.Progress{Error: &api.ErrorBody{Code: code, Message: msg}})
		}
		return enc.Encode(api.Progress{Result: &res})
	}
	if err != nil {
		return err
	}
	s.log.Info("chain validated", "valid", res.Valid, "height", res.Height, "seconds", res.Seconds)
	return ok(w, res)
}

func (s *Server) handleShutdown(w http.ResponseWriter, r *http.Request) error {
	s.log.Info("shutdown requested through the API")
	writeJSON(w, http.StatusOK, api.Shutdown{ShuttingDown: true})
	s.n.RequestShutdown()
	return nil
}
