// Package api holds the types of the node's HTTP JSON API: what each
// endpoint returns and accepts, and the error body. The server (package
// node), the Go client (package node/client) and the command line share
// them; docs/API.md documents each endpoint with an example.
//
// Amounts are integers in base units (1 coin = 10^8 units). Hashes are
// strings in display order (byte-reversed hex), as Bitcoin shows them.
package api

// Error is the body of every error response:
//
//	{"error": {"code": "double_spend", "message": "input 0 spends ..."}}
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the code (stable, for programs) and message (for people) of
// an error.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Status is GET /api/v1/status.
type Status struct {
	Network       string      `json:"network"`
	Version       string      `json:"version"`
	Genesis       string      `json:"genesis"`
	Height        int32       `json:"height"`
	Tip           string      `json:"tip"`
	TipTime       int64       `json:"tip_time"`
	Bits          string      `json:"bits"`
	Difficulty    float64     `json:"difficulty"`
	ChainWork     string      `json:"chain_work"`
	NetworkHashps float64     `json:"network_hashps"`
	Mining        bool        `json:"mining"`
	Hashrate      float64     `json:"hashrate"`
	MinerThreads  int         `json:"miner_threads"`
	MinerKernel   string      `json:"miner_kernel"` // avx512, avx2 or portable: the miner's nonce-scan kernel
	BlocksMined   uint64      `json:"blocks_mined"`
	Mempool       MempoolInfo `json:"mempool"`
	Orphans       int         `json:"orphans"`
	Peers         int         `json:"peers"`
	// PeerID is the node's libp2p identity and Multiaddrs the addresses
	// it listens on, each ending in /p2p/<PeerID>: what another node's
	// --bootstrap or POST /api/v1/peers takes. Both are absent on a node
	// without a network (--no-p2p).
	PeerID        string   `json:"peer_id,omitempty"`
	Multiaddrs    []string `json:"multiaddrs,omitempty"`
	Sync          SyncInfo `json:"sync"`
	UptimeSeconds int64    `json:"uptime_seconds"`
	// UtxoCache is the chain-state cache (docs/STORAGE.md).
	UtxoCache UtxoCacheInfo `json:"utxo_cache"`
}

// UtxoCacheInfo describes the write-back chain-state cache: the UTXO set,
// index and tip changes kept in memory until they are flushed to disk.
type UtxoCacheInfo struct {
	LimitBytes int64 `json:"limit_bytes"` // flushed when it holds more
	Bytes      int64 `json:"bytes"`       // approximate memory used now
	Records    int   `json:"records"`     // changes not yet on disk
	// HitRate is the share of UTXO lookups answered from the cache since
	// start (0 with none); Hits and Misses are the counts.
	HitRate float64 `json:"hit_rate"`
	Hits    uint64  `json:"hits"`
	Misses  uint64  `json:"misses"`
	// Flushes counts flushes since start. The last one wrote the chain
	// state at LastFlushHeight/LastFlushHash (what a restart after a
	// crash starts from; later blocks are replayed) at LastFlushTime
	// (Unix seconds; 0 before the first flush).
	Flushes         uint64 `json:"flushes"`
	LastFlushHeight int32  `json:"last_flush_height"`
	LastFlushHash   string `json:"last_flush_hash,omitempty"`
	LastFlushTime   int64  `json:"last_flush_time"`
}

// SyncInfo says whether the node is catching up with its peers.
type SyncInfo struct {
	Syncing         bool    `json:"syncing"`
	PeerBestHeight  int32   `json:"peer_best_height"`
	BlocksPerSecond float64 `json:"blocks_per_second"`
	Progress        float64 `json:"progress"` // 0..1
}

// MempoolInfo sums the transaction pool.
type MempoolInfo struct {
	Count   int `json:"count"`
	Bytes   int `json:"bytes"`
	Orphans int `json:"orphans"`
}

// Height is GET /api/v1/height.
type Height struct {
	Height int32 `json:"height"`
}

// BlockSummary is a block without its transactions.
type BlockSummary struct {
	Hash          string  `json:"hash"`
	Height        int32   `json:"height"`
	MainChain     bool    `json:"main_chain"`
	Status        string  `json:"status"`
	Confirmations int32   `json:"confirmations"`
	Version       int32   `json:"version"`
	PreviousHash  string  `json:"previous_hash"`
	NextHash      string  `json:"next_hash,omitempty"`
	MerkleRoot    string  `json:"merkle_root"`
	Time          uint32  `json:"time"`
	Bits          string  `json:"bits"`
	Nonce         uint32  `json:"nonce"`
	Difficulty    float64 `json:"difficulty"`
	Target        string  `json:"target"`
	Work          string  `json:"work"`
	ChainWork     string  `json:"chain_work"`
	Size          int     `json:"size"`
	TxCount       int     `json:"tx_count"`
	Reward        uint64  `json:"reward"`
	Fees          uint64  `json:"fees"`
}

// Block is GET /api/v1/blocks/{height-or-hash} and /blocks/latest.
type Block struct {
	BlockSummary
	Transactions []Tx `json:"transactions"`
}

// BlockList is GET /api/v1/blocks?from=H&limit=N.
type BlockList struct {
	From   int32          `json:"from"`
	Blocks []BlockSummary `json:"blocks"`
}

// Tx is a transaction as the API shows it; Hex is its canonical encoding,
// what is hashed and signed.
type Tx struct {
	TxID          string     `json:"txid"`
	Version       int32      `json:"version"`
	LockTime      uint32     `json:"locktime"`
	Size          int        `json:"size"`
	Coinbase      bool       `json:"coinbase"`
	Fee           *uint64    `json:"fee,omitempty"` // unknown when an input's value is unknown
	Inputs        []TxInput  `json:"inputs"`
	Outputs       []TxOutput `json:"outputs"`
	BlockHash     string     `json:"block_hash,omitempty"`
	BlockHeight   *int32     `json:"block_height,omitempty"`
	Confirmations int32      `json:"confirmations"`
	InMempool     bool       `json:"in_mempool"`
	Hex           string     `json:"hex,omitempty"`
}

// TxInput is one input, with the output it spends when known.
type TxInput struct {
	PrevTxID  string  `json:"prev_txid,omitempty"`
	PrevIndex uint32  `json:"prev_index"`
	ScriptSig string  `json:"script_sig"`
	ScriptAsm string  `json:"script_asm"`
	Sequence  uint32  `json:"sequence"`
	Coinbase  bool    `json:"coinbase,omitempty"`
	Height    *int32  `json:"coinbase_height,omitempty"`
	Value     *uint64 `json:"value,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// TxOutput is one output.
type TxOutput struct {
	Index        uint32 `json:"index"`
	Value        uint64 `json:"value"`
	ScriptPubKey string `json:"script_pubkey"`
	ScriptAsm    string `json:"script_asm"`
	Type         string `json:"type"`
	Address      string `json:"address,omitempty"`
}

// Proof is GET /api/v1/tx/{txid}/proof: what an SPV client needs to check
// that a transaction is in a block.
type Proof struct {
	TxID          string   `json:"txid"`
	BlockHash     string   `json:"block_hash"`
	BlockHeight   int32    `json:"block_height"`
	Header        string   `json:"header"` // the 80-byte header, hex
	MerkleRoot    string   `json:"merkle_root"`
	Index         uint32   `json:"index"`
	TxCount       uint32   `json:"tx_count"`
	Branch        []string `json:"branch"`
	Confirmations int32    `json:"confirmations"`
}

// Address is GET /api/v1/address/{address}.
type Address struct {
	Address     string      `json:"address"`
	Balance     uint64      `json:"balance"`     // confirmed
	Unconfirmed int64       `json:"unconfirmed"` // net effect of pool transactions
	TxCount     int         `json:"tx_count"`
	Utxos       []Utxo      `json:"utxos"`
	History     []AddressTx `json:"history"`
	Pending     []AddressTx `json:"pending"`
}

// Utxo is an unspent output of an address.
type Utxo struct {
	TxID          string `json:"txid"`
	Index         uint32 `json:"index"`
	Value         uint64 `json:"value"`
	Height        int32  `json:"height"`
	Coinbase      bool   `json:"coinbase"`
	Confirmations int32  `json:"confirmations"`
	SpentInPool   bool   `json:"spent_in_mempool"`
}

// AddressTx is a transaction touching an address.
type AddressTx struct {
	TxID     string `json:"txid"`
	Height   int32  `json:"height"` // -1 while in the pool
	Received uint64 `json:"received"`
	Sent     uint64 `json:"sent"`
}

// Balances is GET /api/v1/balances.
type Balances struct {
	Count    int              `json:"count"`
	Total    uint64           `json:"total"`
	Balances []AddressBalance `json:"balances"`
}

// AddressBalance is one address's confirmed balance.
type AddressBalance struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
}

// Mempool is GET /api/v1/mempool.
type Mempool struct {
	Count        int         `json:"count"`
	Bytes        int         `json:"bytes"`
	Transactions []MempoolTx `json:"transactions"`
}

// MempoolTx is a pool transaction; Hex lets a client rebuild it.
type MempoolTx struct {
	TxID string `json:"txid"`
	// Size is the encoded size in bytes.
	Size int `json:"size"`
	// Fee is inputs minus outputs, in base units; FeeRate is Fee/Size,
	// the order miners take transactions in.
	Fee     uint64  `json:"fee"`
	FeeRate float64 `json:"fee_rate"`
	// Time is when this node accepted it (Unix seconds).
	Time int64  `json:"time"`
	Hex  string `json:"hex"`
}

// SubmitTx is the body of POST /api/v1/tx.
type SubmitTx struct {
	Hex string `json:"hex"`
}

// TxID is the answer to a submitted or sent transaction.
type TxID struct {
	TxID string `json:"txid"`
}

// Send is the body of POST /api/v1/wallet/send.
type Send struct {
	To string `json:"to"`
	// Amount is in base units, at most the money supply.
	Amount uint64 `json:"amount"`
	// FeeRate is in base units per byte (0 or absent: 1).
	FeeRate uint64 `json:"fee_rate"`
	// Force pays a fee rate above the node's maximum (--max-fee-rate).
	Force bool `json:"force,omitempty"`
}

// Sent is the answer to POST /api/v1/wallet/send.
type Sent struct {
	TxID          string `json:"txid"`
	Fee           uint64 `json:"fee"`
	Change        uint64 `json:"change"`
	ChangeAddress string `json:"change_address,omitempty"`
}

// Wallet is GET /api/v1/wallet.
type Wallet struct {
	Encrypted bool            `json:"encrypted"`
	Balance   WalletBalance   `json:"balance"`
	Addresses []WalletAddress `json:"addresses"`
}

// WalletBalance sums the node wallet's money.
type WalletBalance struct {
	Confirmed   uint64 `json:"confirmed"`
	Immature    uint64 `json:"immature"`
	Unconfirmed uint64 `json:"unconfirmed"`
	Spendable   uint64 `json:"spendable"`
	PendingOut  uint64 `json:"pending_out"`
}

// WalletAddress is one of the node wallet's addresses.
type WalletAddress struct {
	Address string `json:"address"`
	Path    string `json:"path"`
	Change  bool   `json:"change"`
	Balance uint64 `json:"balance"`
}

// NewAddress is the answer to POST /api/v1/wallet/addresses.
type NewAddress struct {
	Address string `json:"address"`
	Path    string `json:"path"`
}

// Generate is the body of POST /api/v1/mining/generate.
type Generate struct {
	Blocks int `json:"blocks"`
}

// Generated is the answer to POST /api/v1/mining/generate.
type Generated struct {
	Blocks []string `json:"blocks"`
}

// Mining is the answer to POST /api/v1/mining/start and /stop.
type Mining struct {
	Mining   bool    `json:"mining"`
	Threads  int     `json:"threads"`
	Hashrate float64 `json:"hashrate"`
}

// Validation is the answer to POST /api/v1/chain/validate. With
// "Accept: application/x-ndjson" the server first streams Progress lines.
type Validation struct {
	Valid     bool    `json:"valid"`
	Tip       string  `json:"tip"`
	Height    int32   `json:"height"`
	Blocks    int     `json:"blocks_checked"`
	Utxos     int     `json:"utxos"`
	BadHeight int32   `json:"bad_height"`
	Error     string  `json:"error,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// Progress is one line of a streamed long operation.
type Progress struct {
	Progress *ProgressBody `json:"progress,omitempty"`
	Result   *Validation   `json:"result,omitempty"`
	Error    *ErrorBody    `json:"error,omitempty"`
}

// ProgressBody says how far a long operation is.
type ProgressBody struct {
	Done  int32 `json:"done"`
	Total int32 `json:"total"`
}

// Shutdown is the answer to POST /api/v1/admin/shutdown.
type Shutdown struct {
	ShuttingDown bool `json:"shutting_down"`
}

// Peer is one connected peer, in GET /api/v1/peers.
type Peer struct {
	ID         string   `json:"id"`
	Addrs      []string `json:"addrs"`
	Direction  string   `json:"direction"` // inbound or outbound
	LatencyMs  float64  `json:"latency_ms"`
	BestHeight int32    `json:"best_height"`
	UserAgent  string   `json:"user_agent,omitempty"`
}

// Peers is GET /api/v1/peers.
type Peers struct {
	Count int    `json:"count"`
	Peers []Peer `json:"peers"`
}

// AddPeer is the body of POST /api/v1/peers.
type AddPeer struct {
	Multiaddr string `json:"multiaddr"`
}

// What POST /api/v1/peers did (PeerAdded.Result).
const (
	// PeerConnected: the node dialled the given address and is now
	// connected to the peer.
	PeerConnected = "connected"
	// PeerAlreadyConnected: the node was connected to the peer already,
	// through another address; the given address was dialled and answers,
	// and the node keeps the connection it had.
	PeerAlreadyConnected = "already_connected"
)

// PeerAdded is the answer to POST /api/v1/peers: the peer as GET
// /api/v1/peers shows it, and what the call did.
type PeerAdded struct {
	Peer
	// Result is PeerConnected or PeerAlreadyConnected.
	Result string `json:"result"`
	// Message says the same for people, with the addresses involved.
	Message string `json:"message"`
}
