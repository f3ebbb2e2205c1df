package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/miner/sha256d"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/p2p"
	"github.com/minichain/minichain/wallet"
)

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// newLogger builds the slog logger of --log-level and --log-format.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// defaultMemoryLimit is the Go heap limit the node sets unless GOMEMLIMIT is
// given: Badger's caches and the block index stay well inside it, and it
// keeps memory-mapped growth from pushing the heap along.
const defaultMemoryLimit = 1 << 30

func runNode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("node", stderr)
	network := fs.String("network", "devnet", "network: devnet or regtest")
	datadir := fs.String("datadir", "", "data directory (default ~/.minichain/<network>)")
	apiAddr := fs.String("api-addr", node.DefaultAPIAddr, "address of the HTTP API and explorer (0.0.0.0:PORT listens on every interface)")
	var apiHosts stringList
	fs.Var(&apiHosts, "api-host", "a host name the API and explorer answer to, besides IP addresses, localhost and the --api-addr host:\n"+
		"a reverse proxy's public name or a Docker service name (repeatable; * allows any; other names are refused against DNS rebinding)")
	mine := fs.Bool("mine", false, "mine from the start")
	minerAddr := fs.String("miner-address", "", "address that receives block rewards (default: the node wallet's first address)")
	threads := fs.Int("miner-threads", 0, "hashing threads (default: all cores)")
	kernelName := fs.String("miner-kernel", envOr("MINICHAIN_MINER_KERNEL", "auto"),
		"nonce-scan kernel: auto (the fastest this CPU supports), avx512, avx2 or portable (or MINICHAIN_MINER_KERNEL)")
	interval := fs.Duration("miner-interval", -1, "least time between mined blocks (default: 1s on regtest, none on devnet)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	passFile := fs.String("wallet-passphrase-file", "", "file holding the node wallet's passphrase (or MINICHAIN_WALLET_PASSPHRASE)")
	listen := &stringList{values: []string{p2p.DefaultListenAddr}}
	fs.Var(listen, "p2p-listen", "multiaddr the p2p host listens on (repeatable)")
	var bootstrap stringList
	fs.Var(&bootstrap, "bootstrap", "multiaddr of a peer to join the network through, /p2p/<id> included (repeatable; /dns4/... allowed)")
	keyFile := fs.String("p2p-key-file", "", "start from this identity key (default <datadir>/p2p.key, created on first start)")
	noP2P := fs.Bool("no-p2p", false, "run without a network")
	targetPeers := fs.Int("target-peers", 8, "peers to keep connected")
	maxPeers := fs.Int("max-peers", 32, "connections above which the least useful are closed; inbound ones are limited to max-peers - target-peers")
	perIP := fs.Int("max-inbound-per-ip", 4, "inbound connections accepted from one IP address (127.0.0.1 and ::1 are not limited)")
	perSubnet := fs.Int("max-inbound-per-subnet", 8, "inbound connections accepted from one /16 (IPv4) or /32 (IPv6) of public addresses")
	maxFeeRate := fs.Uint64("max-fee-rate", wallet.DefaultMaxFeeRate, "highest fee rate, in base units per byte, the node's wallet pays unless a payment is forced")
	utxoCache := fs.Int("utxo-cache", node.DefaultUtxoCacheMiB, "MiB of chain-state changes (UTXO set, indexes) kept in memory before they are flushed to disk; more is faster, a crash replays more blocks")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	if *utxoCache < 1 || *utxoCache > 1<<16 {
		return usagef("--utxo-cache %d: give a size in MiB from 1 to 65536", *utxoCache)
	}
	p, err := chain.NetworkParams(*network)
	if err != nil {
		return usageError{err.Error()}
	}
	kernel, err := minerKernel(*kernelName)
	if err != nil {
		return err
	}
	log, err := newLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		return err
	}
	dir := expandHome(*datadir)
	if dir == "" {
		dir = node.DefaultDataDir(p.Name)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	pass, err := passphraseFrom(*passFile)
	if err != nil {
		return err
	}
	cfg := node.Config{Params: p, DataDir: dir, APIAddr: *apiAddr, APIHosts: apiHosts.values, Mine: *mine,
		MinerAddress: *minerAddr, MinerThreads: *threads, MinerKernel: kernel, MinerInterval: *interval, WalletPassphrase: pass, Version: version,
		Logger: log, MaxFeeRate: *maxFeeRate, P2PListen: listen.values, Bootstrap: bootstrap.values,
		P2PKeyFile: expandHome(*keyFile), P2PTargetPeers: *targetPeers, P2PMaxPeers: *maxPeers,
		P2PMaxInboundPerIP: *perIP, P2PMaxInboundPerSubnet: *perSubnet, UtxoCacheBytes: int64(*utxoCache) << 20}
	if *noP2P {
		cfg.P2PListen = nil
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	log.Info("API listening", "url", "http://"+n.APIAddr(), "token_file", node.TokenPath(dir))
	return runUntilSignal(n, log)
}

// runUntilSignal runs the node until it stops by itself or SIGINT/SIGTERM
// arrives, then gives it 10 s to stop.
func runUntilSignal(n *node.Node, log *slog.Logger) error {
	ctx, cancel := signalContext(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("stopping (SIGINT/SIGTERM)")
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("the node did not stop within 10 s")
	}
}

func runReset(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reset", stderr)
	network := fs.String("network", "devnet", "network: devnet or regtest (for the default data directory)")
	datadir := fs.String("datadir", "", "data directory of the stopped node (default ~/.minichain/<network>)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := parse(fs, args); err != nil {
		return err
	}
	datadirPath, err := dataDir(*datadir, *network)
	if err != nil {
		return err
	}
	*datadir = datadirPath
	err = node.ResetChain(datadirPath, func(dir string) error {
		if *yes {
			return nil
		}
		fmt.Fprintf(stderr, "This deletes the chain state in %s (blocks, UTXO set, mempool).\n"+
			"The wallet and the node's identity are kept. Type 'yes' to go on: ", dir)
		answer, err := stdinLine()
		if err != nil || strings.TrimSpace(answer) != "yes" {
			return errors.New("not confirmed; nothing was deleted")
		}
		return nil
	})
	if errors.Is(err, node.ErrNoChainState) {
		fmt.Fprintf(stdout, "nothing to reset: %s has no chain state\n", *datadir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chain state removed from %s; the node will start again from genesis\n", *datadir)
	return nil
}

// dataDir is --datadir with ~ expanded, or the network's default.
func dataDir(datadir, network string) (string, error) {
	if datadir != "" {
		return expandHome(datadir), nil
	}
	p, err := chain.NetworkParams(network)
	if err != nil {
		return "", usageError{err.Error()}
	}
	return node.DefaultDataDir(p.Name), nil
}

// runToken prints the API token of a data directory: the way to read it in
// a container whose image has no shell.
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	network := fs.String("network", "devnet", "network: devnet or regtest (for the default data directory)")
	datadir := fs.String("datadir", "", "the node's data directory (default ~/.minichain/<network>)")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := dataDir(*datadir, *network)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(node.TokenPath(dir))
	if err != nil {
		return fmt.Errorf("read the API token (has the node started?): %w", err)
	}
	_, err = fmt.Fprintln(stdout, strings.TrimSpace(string(b)))
	return err
}

// runHealth checks that a node answers its API: the container image's
// healthcheck (the image has no shell and no curl).
func runHealth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("health", stderr)
	apiAddr := fs.String("api-addr", node.DefaultAPIAddr, "the node's API address (a wildcard host means this machine)")
	if err := parse(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*apiAddr)
	if err != nil {
		return usagef("--api-addr %q: %v", *apiAddr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/api/v1/status")
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: status answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// envOr returns the environment variable name, or def when it is unset or
// empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// minerKernel parses --miner-kernel and checks that this CPU can run it.
func minerKernel(name string) (sha256d.Kernel, error) {
	k, err := sha256d.Parse(name)
	if err != nil {
		return k, usageError{"--miner-kernel: " + err.Error()}
	}
	if _, err := k.Resolve(); err != nil {
		return k, fmt.Errorf("--miner-kernel=%s: %w", name, err)
	}
	return k, nil
}
