package node

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minichain/minichain/node/api"
)

// Limits of the HTTP server.
const (
	maxSmallBody = 64 << 10 // JSON requests other than a raw transaction
)

func (n *Node) maxTxBody() int64 { return int64(2*n.params.MaxTxSize() + 1024) }

// newServer builds the HTTP server: the JSON API under /api/v1/, the
// metrics at /metrics.
func (n *Node) newServer() *http.Server {
	mux := http.NewServeMux()
	open := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, n.handler(h, false, maxSmallBody))
	}
	token := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, n.handler(h, true, maxSmallBody))
	}
	open("GET /api/v1/status", n.handleStatus)
	open("GET /api/v1/height", n.handleHeight)
	open("GET /api/v1/blocks/latest", n.handleLatestBlock)
	open("GET /api/v1/blocks/{id}", n.handleBlock)
	open("GET /api/v1/blocks", n.handleBlocks)
	open("GET /api/v1/tx/{txid}", n.handleTx)
	open("GET /api/v1/tx/{txid}/proof", n.handleProof)
	mux.Handle("POST /api/v1/tx", n.handler(n.handleSubmitTx, false, n.maxTxBody())) // a transaction, in hex
	open("GET /api/v1/address/{address}", n.handleAddress)
	open("GET /api/v1/balances", n.handleBalances)
	open("GET /api/v1/mempool", n.handleMempool)
	open("GET /api/v1/peers", n.handlePeers)
	token("POST /api/v1/peers", n.handleAddPeer)
	token("GET /api/v1/wallet", n.handleWallet)
	token("POST /api/v1/wallet/addresses", n.handleNewAddress)
	token("POST /api/v1/wallet/send", n.handleSend)
	token("POST /api/v1/mining/start", n.handleMiningStart)
	token("POST /api/v1/mining/stop", n.handleMiningStop)
	token("POST /api/v1/mining/generate", n.handleGenerate)
	token("POST /api/v1/chain/validate", n.handleValidate)
	token("POST /api/v1/admin/shutdown", n.handleShutdown)
	mux.Handle("/api/", n.handler(func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no endpoint %s %s", r.Method, r.URL.Path)
	}, false, maxSmallBody))
	n.registerGauges()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	n.registerExplorer(mux)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
}

// handler wraps an API handler: token check, a body of at most limit
// bytes, and the one error-to-JSON translation.
func (n *Node) handler(h func(w http.ResponseWriter, r *http.Request) error, needToken bool, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if needToken && !n.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="minichain"`)
			writeJSON(w, http.StatusUnauthorized, api.Error{Error: api.ErrorBody{Code: "unauthorized",
				Message: "this call needs the API token: Authorization: Bearer <token from " + tokenFileName + ">"}})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r); err != nil {
			status, code, msg := classify(err)
			if status == http.StatusInternalServerError {
				n.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeJSON(w, status, api.Error{Error: api.ErrorBody{Code: code, Message: msg}})
		}
	})
}

func (n *Node) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(n.token)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func ok(w http.ResponseWriter, v any) error {
	writeJSON(w, http.StatusOK, v)
	return nil
}

// readJSON decodes a request body into v, strictly: unknown fields, trailing
// data and an oversized body are errors.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return badRequest("malformed_json", "the request body is empty; a JSON object is expected")
		}
		return badRequest("malformed_json", "malformed JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("malformed_json", "unexpected data after the JSON object")
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
	}
	return nil
}
