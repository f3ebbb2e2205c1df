// Package client is a Go client of the node's HTTP JSON API. The command
// line uses it, and it implements wallet.Ledger so a local wallet can see
// its coins through a remote node.
//
// # Errors
//
// A response with an error status is an *Error carrying the HTTP status and
// the API's stable code; transport failures are returned as they are.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/wallet"
)

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	base   string
	token  string
	http   *http.Client
	params *chain.Params
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status) }

// New returns a client of the node at baseURL (e.g. http://127.0.0.1:8080)
// on network p. token is needed only for protected calls.
func New(baseURL, token string, p *chain.Params) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: strings.TrimSpace(token), params: p,
		http: &http.Client{Timeout: 10 * time.Minute}}
}

// maxResponse bounds what the client reads from a node.
const maxResponse = 64 << 20

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return apiError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// Status is GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	var v api.Status
	return v, c.do(ctx, "GET", "/api/v1/status", nil, &v)
}

// Block is GET /api/v1/blocks/{id} (a height, a hash or "latest").
func (c *Client) Block(ctx context.Context, id string) (api.Block, error) {
	var v api.Block
	return v, c.do(ctx, "GET", "/api/v1/blocks/"+url.PathEscape(id), nil, &v)
}

// Blocks is GET /api/v1/blocks?from=H&limit=N.
func (c *Client) Blocks(ctx context.Context, from int32, limit int) (api.BlockList, error) {
	var v api.BlockList
	return v, c.do(ctx, "GET", "/api/v1/blocks?from="+strconv.Itoa(int(from))+"&limit="+strconv.Itoa(limit), nil, &v)
}

// Tx is GET /api/v1/tx/{txid}.
func (c *Client) Tx(ctx context.Context, txid string) (api.Tx, error) {
	var v api.Tx
	return v, c.do(ctx, "GET", "/api/v1/tx/"+url.PathEscape(txid), nil, &v)
}

// Proof is GET /api/v1/tx/{txid}/proof.
func (c *Client) Proof(ctx context.Context, txid string) (api.Proof, error) {
	var v api.Proof
	return v, c.do(ctx, "GET", "/api/v1/tx/"+url.PathEscape(txid)+"/proof", nil, &v)
}

// Address is GET /api/v1/address/{address}.
func (c *Client) Address(ctx context.Context, addr string) (api.Address, error) {
	var v api.Address
	return v, c.do(ctx, "GET", "/api/v1/address/"+url.PathEscape(addr), nil, &v)
}

// Balances is GET /api/v1/balances.
func (c *Client) Balances(ctx context.Context) (api.Balances, error) {
	var v api.Balances
	return v, c.do(ctx, "GET", "/api/v1/balances", nil, &v)
}

// Mempool is GET /api/v1/mempool.
func (c *Client) Mempool(ctx context.Context) (api.Mempool, error) {
	var v api.Mempool
	return v, c.do(ctx, "GET", "/api/v1/mempool", nil, &v)
}

// SubmitTx is POST /api/v1/tx.
func (c *Client) SubmitTx(ctx context.Context, tx *chain.Tx) (string, error) {
	var v api.TxID
	err := c.do(ctx, "POST", "/api/v1/tx", api.SubmitTx{Hex: hex.EncodeToString(tx.Serialize())}, &v)
	return v.TxID, err
}

// Send is POST /api/v1/wallet/send (token).
func (c *Client) Send(ctx context.Context, req api.Send) (api.Sent, error) {
	var v api.Sent
	return v, c.do(ctx, "POST", "/api/v1/wallet/send", req, &v)
}

// Wallet is GET /api/v1/wallet (token).
func (c *Client) Wallet(ctx context.Context) (api.Wallet, error) {
	var v api.Wallet
	return v, c.do(ctx, "GET", "/api/v1/wallet", nil, &v)
}

// NewAddress is POST /api/v1/wallet/addresses (token).
func (c *Client) NewAddress(ctx context.Context) (api.NewAddress, error) {
	var v api.NewAddress
	return v, c.do(ctx, "POST", "/api/v1/wallet/addresses", struct{}{}, &v)
}

// StartMining is POST /api/v1/mining/start (token).
func (c *Client) StartMining(ctx context.Context) (api.Mining, error) {
	var v api.Mining
	return v, c.do(ctx, "POST", "/api/v1/mining/start", struct{}{}, &v)
}

// StopMining is POST /api/v1/mining/stop (token).
func (c *Client) StopMining(ctx context.Context) (api.Mining, error) {
	var v api.Mining
	return v, c.do(ctx, "POST", "/api/v1/mining/stop", struct{}{}, &v)
}

// Generate is POST /api/v1/mining/generate (token).
func (c *Client) Generate(ctx context.Context, blocks int) ([]string, error) {
	var v api.Generated
	return v.Blocks, c.do(ctx, "POST", "/api/v1/mining/generate", api.Generate{Blocks: blocks}, &v)
}

// Shutdown is POST /api/v1/admin/shutdown (token).
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, "POST", "/api/v1/admin/shutdown", struct{}{}, nil)
}

// apiError turns an error answer into an *Error: the API's code and
// message, or the body itself when it is not the API's JSON.
func apiError(status int, body []byte) error {
	var e api.Error
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return &Error{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	return &Error{Status: status, Code: "http_error", Message: strings.TrimSpace(string(body))}
}

// Validate is POST /api/v1/chain/validate (token), streaming progress to
// the callback (which may be nil).
func (c *Client) Validate(ctx context.Context, progress func(done, total int32)) (api.Validation, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/chain/validate", nil)
	if err != nil {
		return api.Validation{}, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return api.Validation{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return api.Validation{}, err
		}
		return api.Validation{}, apiError(resp.StatusCode, data)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxResponse))
	for sc.Scan() {
		var line api.Progress
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return api.Validation{}, fmt.Errorf("decode progress: %w", err)
		}
		switch {
		case line.Error != nil:
			return api.Validation{}, &Error{Status: 500, Code: line.Error.Code, Message: line.Error.Message}
		case line.Result != nil:
			return *line.Result, nil
		case line.Progress != nil && progress != nil:
			progress(line.Progress.Done, line.Progress.Total)
		}
	}
	if err := sc.Err(); err != nil {
		return api.Validation{}, err
	}
	return api.Validation{}, fmt.Errorf("the node closed the stream without a result")
}

// Ledger returns the client as a wallet.Ledger: the wallet's view of the
// chain and pool through this node.
func (c *Client) Ledger(ctx context.Context) wallet.Ledger { return &remoteLedger{c: c, ctx: ctx} }

// remoteLedger reads each address and the pool once per ledger, so one
// wallet operation sees one consistent state and asks the node once.
type remoteLedger struct {
	c       *Client
	ctx     context.Context
	pending []*chain.Tx
	fetched bool
	addrs   map[[20]byte]api.Address
}

func (l *remoteLedger) address(pkh [20]byte) (api.Address, error) {
	if a, ok := l.addrs[pkh]; ok {
		return a, nil
	}
	a, err := l.c.Address(l.ctx, wallet.NewAddress(pkh, l.c.params).String())
	if err != nil {
		return a, err
	}
	if l.addrs == nil {
		l.addrs = make(map[[20]byte]api.Address)
	}
	l.addrs[pkh] = a
	return a, nil
}

func (l *remoteLedger) TipHeight() (int32, error) {
	var v api.Height
	return v.Height, l.c.do(l.ctx, "GET", "/api/v1/height", nil, &v)
}

func (l *remoteLedger) AddressUtxos(pkh [20]byte) ([]chain.AddressUtxo, error) {
	a, err := l.address(pkh)
	if err != nil {
		return nil, err
	}
	out := make([]chain.AddressUtxo, 0, len(a.Utxos))
	for _, u := range a.Utxos {
		h, err := chain.ParseHash(u.TxID)
		if err != nil {
			return nil, fmt.Errorf("node sent a bad txid: %w", err)
		}
		out = append(out, chain.AddressUtxo{OutPoint: chain.OutPoint{Hash: h, Index: u.Index},
			Value: u.Value, Height: u.Height, IsCoinbase: u.Coinbase})
	}
	return out, nil
}

func (l *remoteLedger) AddressHistory(pkh [20]byte) ([]chain.AddressTx, error) {
	a, err := l.address(pkh)
	if err != nil {
		return nil, err
	}
	out := make([]chain.AddressTx, 0, len(a.History))
	for _, h := range a.History {
		id, err := chain.ParseHash(h.TxID)
		if err != nil {
			return nil, fmt.Errorf("node sent a bad txid: %w", err)
		}
		out = append(out, chain.AddressTx{TxID: id, Height: h.Height, Received: h.Received, Sent: h.Sent})
	}
	return out, nil
}

// PendingTxs fetches the pool once per ledger.
func (l *remoteLedger) PendingTxs() ([]*chain.Tx, error) {
	if l.fetched {
		return l.pending, nil
	}
	mp, err := l.c.Mempool(l.ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range mp.Transactions {
		raw, err := hex.DecodeString(t.Hex)
		if err != nil {
			return nil, fmt.Errorf("node sent bad transaction hex: %w", err)
		}
		tx, err := chain.DecodeTx(raw, l.c.params.MaxTxSize())
		if err != nil {
			return nil, fmt.Errorf("node sent a bad transaction: %w", err)
		}
		l.pending = append(l.pending, tx)
	}
	l.fetched = true
	return l.pending, nil
}

// Peers is GET /api/v1/peers.
func (c *Client) Peers(ctx context.Context) (api.Peers, error) {
	var v api.Peers
	return v, c.do(ctx, "GET", "/api/v1/peers", nil, &v)
}

// AddPeer is POST /api/v1/peers (token): the peer and what the call did.
func (c *Client) AddPeer(ctx context.Context, multiaddr string) (api.PeerAdded, error) {
	var v api.PeerAdded
	return v, c.do(ctx, "POST", "/api/v1/peers", api.AddPeer{Multiaddr: multiaddr}, &v)
}
