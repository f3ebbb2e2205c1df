package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/miner/sha256d"
	"github.com/minichain/minichain/wallet"
)

// Config configures a node.
type Config struct {
	// Params is the network; required.
	Params *chain.Params
	// DataDir holds the chain store, the wallet, the API token and the
	// node's identity; required.
	DataDir string
	// APIAddr is where the HTTP API listens (default 127.0.0.1:8080;
	// port 0 picks a free port).
	APIAddr string
	// APIHosts are host names, besides IP addresses, localhost and
	// APIAddr's host, that the API and explorer answer to in the Host
	// header (a reverse proxy's public name, a Docker service name); any
	// other name is refused, which closes DNS rebinding. "*" allows any.
	APIHosts []string
	// Mine starts the miner at once.
	Mine bool
	// MinerAddress receives block rewards (default: the first address of
	// the node's wallet).
	MinerAddress string
	// MinerThreads is the number of hashing workers (default GOMAXPROCS).
	MinerThreads int
	// MinerKernel is the miner's nonce-scan kernel; the zero value,
	// sha256d.Auto, is the fastest the CPU supports. New fails when the
	// CPU cannot run the one asked for.
	MinerKernel sha256d.Kernel
	// MinerInterval is the least time continuous mining leaves between its
	// blocks; negative means the network's default (1 s on regtest, where
	// blocks cost a couple of hashes; none on devnet, where difficulty sets
	// the pace).
	MinerInterval time.Duration
	// P2PListen are the multiaddrs the p2p host listens on; empty runs
	// the node without a network (a single machine, tests).
	P2PListen []string
	// Bootstrap are peers to join the network through (full multiaddrs).
	Bootstrap []string
	// P2PKeyFile is the node's identity key; it must exist. Empty uses
	// <datadir>/p2p.key, created on first start.
	P2PKeyFile string
	// P2PTargetPeers is how many peers discovery keeps (default 8).
	P2PTargetPeers int
	// P2PMaxPeers is the connection count above which the connection
	// manager trims (default 32); inbound connections are limited to
	// P2PMaxPeers - P2PTargetPeers.
	P2PMaxPeers int
	// P2PMaxInboundPerIP and P2PMaxInboundPerSubnet limit inbound
	// connections from one address and one /16 (defaults 4 and 8;
	// docs/PROTOCOL.md says which addresses are exempt).
	P2PMaxInboundPerIP     int
	P2PMaxInboundPerSubnet int
	// P2PStatusInterval is how often peers' chain status is polled
	// (default 15 s).
	P2PStatusInterval time.Duration
	// WalletPassphrase encrypts the node's wallet; nil stores it
	// unencrypted (with a warning at every start).
	WalletPassphrase []byte
	// MaxFeeRate is the highest fee rate, in base units per byte, the
	// node's wallet pays unless a payment is forced (default
	// wallet.DefaultMaxFeeRate).
	MaxFeeRate uint64
	// UtxoCacheBytes bounds the chain-state cache: UTXO set and index
	// changes kept in memory and flushed to the store when it is full,
	// every UtxoFlushInterval and at shutdown (default
	// DefaultUtxoCacheMiB MiB; docs/STORAGE.md).
	UtxoCacheBytes int64
	// UtxoFlushInterval is how often the cache is flushed even when not
	// full, bounding what a crash makes the node replay (default 60 s).
	UtxoFlushInterval time.Duration
	// Version is reported by the status endpoint.
	Version string
	// Logger receives the node's log lines (default: discard).
	Logger *slog.Logger
}

// Files and directories inside the data directory.
const (
	chainDirName   = "chain"
	walletFileName = "wallet.json"
	tokenFileName  = "api.token"
	keyFileName    = "p2p.key"
	peersFileName  = "peers.json" // the p2p address book
)

// ChainDir returns where the chain store of a data directory lives.
func ChainDir(dataDir string) string { return filepath.Join(dataDir, chainDirName) }

// WalletPath returns where the node's wallet of a data directory lives.
func WalletPath(dataDir string) string { return filepath.Join(dataDir, walletFileName) }

// TokenPath returns where the node writes its API token.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, tokenFileName) }

// DefaultDataDir is ~/.minichain/<network>.
func DefaultDataDir(network string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".minichain", network)
}

// DefaultUtxoCacheMiB is the default chain-state cache size, in MiB: small
// enough for the node's memory budget, large enough that blocks connect
// without a disk sync each.
const DefaultUtxoCacheMiB = 32

// defaultUtxoFlushInterval is how often the chain-state cache is flushed
// when it does not fill up first.
const defaultUtxoFlushInterval = time.Minute

// DefaultAPIAddr is where the API listens unless told otherwise: loopback.
const DefaultAPIAddr = "127.0.0.1:8080"

func (c *Config) setDefaults() error {
	if c.Params == nil {
		return errors.New("node: Params is required")
	}
	if c.DataDir == "" {
		return errors.New("node: DataDir is required")
	}
	if c.APIAddr == "" {
		c.APIAddr = DefaultAPIAddr
	}
	if c.UtxoCacheBytes < 0 {
		return fmt.Errorf("node: UTXO cache size %d is negative", c.UtxoCacheBytes)
	}
	if c.UtxoCacheBytes == 0 {
		c.UtxoCacheBytes = DefaultUtxoCacheMiB << 20
	}
	if c.UtxoFlushInterval <= 0 {
		c.UtxoFlushInterval = defaultUtxoFlushInterval
	}
	if c.MinerThreads < 0 {
		return fmt.Errorf("node: miner threads %d is negative", c.MinerThreads)
	}
	if c.MinerInterval < 0 {
		c.MinerInterval = 0
		if c.Params.NoRetarget {
			c.MinerInterval = time.Second
		}
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxFeeRate == 0 {
		c.MaxFeeRate = wallet.DefaultMaxFeeRate
	}
	return nil
}
