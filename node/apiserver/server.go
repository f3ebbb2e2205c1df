// Package apiserver is the node's JSON API over HTTP, under /api/v1/, with
// the token check for calls that spend or change the node's state and the
// one translation of errors into JSON (query.Classify). It reads the node
// through query.Reader and changes it through the small Node interface the
// node implements; it holds no state of its own. docs/API.md describes the
// endpoints.
package apiserver

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/query"
)

// Node is what the API changes in the node: everything that spends, mines,
// connects or stops goes through it, so the API has no path into the
// node's components of its own.
type Node interface {
	// SubmitLocalTx takes a transaction a user submitted: into the pool,
	// durable, announced to the network.
	SubmitLocalTx(ctx context.Context, tx *chain.Tx) error
	// Send pays from the node's wallet.
	Send(ctx context.Context, req api.Send) (api.Sent, error)
	// WalletView is the node's wallet: balances and addresses.
	WalletView() (api.Wallet, error)
	// NewAddress hands out a fresh receive address of the node's wallet.
	NewAddress() (api.NewAddress, error)
	// Mining says whether and how the node mines; StartMining and
	// StopMining switch it; Generate mines blocks now.
	Mining() api.Mining
	StartMining()
	StopMining()
	Generate(ctx context.Context, blocks int) ([]chain.Hash, error)
	// AddPeer connects to a peer by its full multiaddr.
	AddPeer(ctx context.Context, multiaddr string) (api.Peer, error)
	// ValidateChain re-validates the stored main chain from genesis.
	ValidateChain(ctx context.Context, progress func(done, total int32)) (chain.ValidationReport, error)
	// RequestShutdown asks the node to stop; it returns at once.
	RequestShutdown()
}

// Config configures a Server.
type Config struct {
	Views *query.Reader
	Node  Node
	// Token authorises the calls that need it (Authorization: Bearer).
	Token string
	// TokenFile names where the token is, for the 401 message.
	TokenFile string
	// MaxTxSize bounds the body of POST /api/v1/tx.
	MaxTxSize int
	Logger    *slog.Logger
}

// Server serves the JSON API.
type Server struct {
	cfg Config
	v   *query.Reader
	n   Node
	log *slog.Logger
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, v: cfg.Views, n: cfg.Node, log: cfg.Logger}
}

// Limits of the HTTP server.
const (
	maxSmallBody = 64 << 10 // JSON requests other than a raw transaction
)

func (s *Server) maxTxBody() int64 { return int64(2*s.cfg.MaxTxSize + 1024) }

// Register mounts the API under /api/ on mux.
func (s *Server) Register(mux *http.ServeMux) {
	open := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, s.handler(h, false, maxSmallBody))
	}
	token := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, s.handler(h, true, maxSmallBody))
	}
	open("GET /api/v1/status", s.handleStatus)
	open("GET /api/v1/height", s.handleHeight)
	open("GET /api/v1/blocks/latest", s.handleLatestBlock)
	open("GET /api/v1/blocks/{id}", s.handleBlock)
	open("GET /api/v1/blocks", s.handleBlocks)
	open("GET /api/v1/tx/{txid}", s.handleTx)
	open("GET /api/v1/tx/{txid}/proof", s.handleProof)
	mux.Handle("POST /api/v1/tx", s.handler(s.handleSubmitTx, false, s.maxTxBody())) // a transaction, in hex
	open("GET /api/v1/address/{address}", s.handleAddress)
	open("GET /api/v1/balances", s.handleBalances)
	open("GET /api/v1/mempool", s.handleMempool)
	open("GET /api/v1/peers", s.handlePeers)
	token("POST /api/v1/peers", s.handleAddPeer)
	token("GET /api/v1/wallet", s.handleWallet)
	token("POST /api/v1/wallet/addresses", s.handleNewAddress)
	token("POST /api/v1/wallet/send", s.handleSend)
	token("POST /api/v1/mining/start", s.handleMiningStart)
	token("POST /api/v1/mining/stop", s.handleMiningStop)
	token("POST /api/v1/mining/generate", s.handleGenerate)
	token("POST /api/v1/chain/validate", s.handleValidate)
	token("POST /api/v1/admin/shutdown", s.handleShutdown)
	mux.Handle("/api/", s.handler(func(w http.ResponseWriter, r *http.Request) error {
		return query.NotFound("no endpoint %s %s", r.Method, r.URL.Path)
	}, false, maxSmallBody))
}

// NewHTTPServer wraps the node's handler in an http.Server with the
// timeouts and header limits every listener of the node uses.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// handler wraps an API handler: token check, a body of at most limit
// bytes, and the one error-to-JSON translation.
func (s *Server) handler(h func(w http.ResponseWriter, r *http.Request) error, needToken bool, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if needToken && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="minichain"`)
			writeJSON(w, http.StatusUnauthorized, api.Error{Error: api.ErrorBody{Code: "unauthorized",
				Message: "this call needs the API token: Authorization: Bearer <token from " + s.cfg.TokenFile + ">"}})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r); err != nil {
			status, code, msg := query.Classify(err)
			if status == http.StatusInternalServerError {
				s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeJSON(w, status, api.Error{Error: api.ErrorBody{Code: code, Message: msg}})
		}
	})
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) == 1
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
			return query.ErrBodyTooLarge
		}
		if errors.Is(err, io.EOF) {
			return query.BadRequest("malformed_json", "the request body is empty; a JSON object is expected")
		}
		return query.BadRequest("malformed_json", "malformed JSON body: %v", err)
	}
	if dec.More() {
		return query.BadRequest("malformed_json", "unexpected data after the JSON object")
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return query.ErrBodyTooLarge
		}
	}
	return nil
}

// extendWriteDeadline lets a long call outlive the server's write timeout.
func extendWriteDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}
