package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/miner"
	"github.com/minichain/minichain/node/apiserver"
	"github.com/minichain/minichain/node/badgerdb"
	"github.com/minichain/minichain/node/explorer"
	"github.com/minichain/minichain/node/query"
	"github.com/minichain/minichain/p2p"
	"github.com/minichain/minichain/wallet"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Node is one running minichain node.
//
// Fields are set by New and never change, except where a comment says
// otherwise; every component is safe for concurrent use.
type Node struct {
	cfg     Config
	params  *chain.Params
	log     *slog.Logger
	db      *badgerdb.DB
	chain   *chain.Chain
	mempool *mempool.Mempool
	wallet  *wallet.Wallet
	miner   *miner.Miner
	p2p     *p2p.Host // nil when the node runs without a network
	metrics *metrics
	token   string
	started time.Time

	views    *query.Reader // what the API and the explorer read
	listener net.Listener
	server   *http.Server

	shutdown     chan struct{} // closed by RequestShutdown
	shutdownOnce sync.Once
	poolChanged  chan struct{} // a pool change for the miner (capacity 1)
	sendMu       sync.Mutex    // serializes wallet payments so they never pick the same coins
}

// New opens (or creates) the node's data directory: the chain store, the
// mempool saved by the last run, the wallet (created on first start, its
// backup phrase written once to a 0600 file beside it) and a fresh API token; it binds the
// API address. Nothing runs until Run.
//
// Every error names what is wrong and what to do, in one line; whatever New
// opened before it failed (the store above all) is closed again.
func New(cfg Config) (_ *Node, err error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := checkAPIAddr(cfg.APIAddr); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	n := &Node{cfg: cfg, params: cfg.Params, log: cfg.Logger, started: time.Now(),
		shutdown: make(chan struct{}), poolChanged: make(chan struct{}, 1)}
	n.metrics = newMetrics()
	// The API address first: a port in use fails the start before
	// anything in the data directory is touched.
	if n.listener, err = listenAPI(cfg.APIAddr); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.close()
		}
	}()

	loaded, err := n.openChain()
	if err != nil {
		return nil, err
	}
	if err := n.openWallet(); err != nil {
		return nil, err
	}
	if err := n.newMiner(); err != nil {
		return nil, err
	}
	if len(cfg.P2PListen) > 0 {
		if err := n.openP2P(); err != nil {
			return nil, err
		}
	}
	if n.token, err = writeToken(TokenPath(cfg.DataDir)); err != nil {
		return nil, err
	}
	n.server = apiserver.NewHTTPServer(n.newHandler())
	if cfg.Mine {
		n.miner.Start()
	}
	best := n.chain.BestSnapshot()
	cfg.Logger.Info("node ready", "network", cfg.Params.Name, "height", best.Height, "tip", best.Hash,
		"mempool", loaded, "api", n.listener.Addr().String(), "datadir", cfg.DataDir)
	return n, nil
}

// listenAPI binds the API address; an error says what to do.
func listenAPI(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("the API address %s is in use (another node?): stop that program or choose another address with --api-addr", addr)
	case err != nil:
		return nil, fmt.Errorf("cannot listen on the API address %s: %v; choose another with --api-addr", addr, err)
	}
	return l, nil
}

// openChain opens the chain store, the chain and the mempool, and loads the
// pool saved by the last run; it returns how many transactions it loaded.
func (n *Node) openChain() (loaded int, err error) {
	cfg := n.cfg
	n.db, err = badgerdb.Open(ChainDir(cfg.DataDir), badgerdb.Options{Logger: cfg.Logger})
	if err != nil {
		return 0, fmt.Errorf("cannot open the chain store in %s: is another node using this data directory? "+
			"Stop it, or give this one another --datadir (%w)", ChainDir(cfg.DataDir), err)
	}
	// One signature cache for the chain and the mempool: a transaction
	// verified on entering the pool is not verified again in its block.
	sigs := chain.NewSigCache(0)
	n.chain, err = chain.New(chain.Config{Params: cfg.Params, DB: n.db, SigCache: sigs, Logger: cfg.Logger.With("component", "chain"),
		StateCacheBytes: cfg.UtxoCacheBytes, Clock: time.Now})
	if err != nil {
		return 0, err
	}
	n.mempool, err = mempool.New(mempool.Config{Params: cfg.Params, Chain: n.chain, DB: n.db, SigCache: sigs,
		Logger: cfg.Logger.With("component", "mempool")})
	if err != nil {
		return 0, err
	}
	loaded, err = n.mempool.Load()
	if err != nil {
		return 0, fmt.Errorf("load mempool: %w", err)
	}
	return loaded, nil
}

// newMiner makes the node's miner, paying to the node's wallet; the blocks
// it finds are submitted and announced like any other.
func (n *Node) newMiner() error {
	payTo, err := n.minerScript()
	if err != nil {
		return err
	}
	cfg := n.cfg
	n.miner, err = miner.New(miner.Config{Params: cfg.Params, Chain: n.chain, Mempool: n.mempool, PayTo: payTo,
		Workers: cfg.MinerThreads, Kernel: cfg.MinerKernel, MinInterval: cfg.MinerInterval, Logger: cfg.Logger.With("component", "miner"),
		Submit: func(b *chain.Block) error {
			res, err := n.SubmitBlock(b)
			if err == nil && !res.Orphan {
				n.announceBlock(b)
			}
			return err
		}})
	return err
}

// openWallet opens the node's wallet, creating it on first start.
func (n *Node) openWallet() error {
	path := WalletPath(n.cfg.DataDir)
	_, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, os.ErrNotExist):
		w, mnemonic, err := wallet.Create(path, n.params, wallet.CreateOptions{Passphrase: n.cfg.WalletPassphrase})
		if err != nil {
			return fmt.Errorf("create wallet: %w", err)
		}
		n.wallet = w
		backup, err := writeBackupPhrase(n.cfg.DataDir, mnemonic)
		if err != nil {
			return fmt.Errorf("write the new wallet's backup phrase: %w", err)
		}
		// The phrase itself never goes to the log: logs are kept, shipped
		// and shown (docker compose logs); a file of mode 0600 is not.
		n.cfg.Logger.Warn("a new wallet was created; its backup phrase is in a file only you can read: "+
			"write the phrase down, in order, then delete the file (anyone who has it can spend the wallet's coins)",
			"wallet", path, "backup_phrase_file", backup)
	case statErr != nil:
		return fmt.Errorf("wallet: %w", statErr)
	default:
		w, err := wallet.Open(path, n.params)
		if err != nil {
			return fmt.Errorf("open the node's wallet: %w", err)
		}
		if w.Encrypted() {
			if n.cfg.WalletPassphrase == nil {
				return fmt.Errorf("the node's wallet %s is encrypted and no passphrase was given: set MINICHAIN_WALLET_PASSPHRASE or --wallet-passphrase-file", path)
			}
			if err := w.Unlock(n.cfg.WalletPassphrase); errors.Is(err, wallet.ErrWrongPassphrase) {
				return fmt.Errorf("the passphrase does not open the node's wallet %s: check MINICHAIN_WALLET_PASSPHRASE or --wallet-passphrase-file (%w)", path, err)
			} else if err != nil {
				return fmt.Errorf("unlock the node's wallet %s: %w", path, err)
			}
		}
		n.wallet = w
	}
	if !n.wallet.Encrypted() {
		n.cfg.Logger.Warn("THE NODE'S WALLET IS NOT ENCRYPTED: anyone who can read " + path +
			" can spend its coins. Set MINICHAIN_WALLET_PASSPHRASE or --wallet-passphrase-file to encrypt a new wallet.")
	}
	return nil
}

// BackupPhraseFile is where a node writes the backup phrase of the wallet
// it creates on first start, in its data directory.
const BackupPhraseFile = "wallet-backup-phrase.txt"

// writeBackupPhrase writes a new wallet's mnemonic to a file of mode 0600
// in dataDir and returns its path. An existing file (the phrase of an
// earlier wallet) is never overwritten: the new one gets a numbered name.
func writeBackupPhrase(dataDir, mnemonic string) (string, error) {
	text := "The backup phrase of the wallet this node created. Write it down, in order, and\n" +
		"delete this file: anyone who has the phrase can spend the wallet's coins.\n\n" + mnemonic + "\n"
	for i := 1; ; i++ {
		name := BackupPhraseFile
		if i > 1 {
			name = fmt.Sprintf("wallet-backup-phrase-%d.txt", i)
		}
		path := filepath.Join(dataDir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.WriteString(text); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	}
}

// checkAPIAddr checks that the API address is host:port with a numeric
// port, before anything is opened.
func checkAPIAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("the API address %q is not host:port (for example 127.0.0.1:8080, or 0.0.0.0:8080 to listen on every interface): fix --api-addr", addr)
	}
	return nil
}

// minerScript returns the locking script block rewards pay.
func (n *Node) minerScript() ([]byte, error) {
	if n.cfg.MinerAddress != "" {
		a, err := wallet.DecodeAddress(n.cfg.MinerAddress, n.params)
		if err != nil {
			return nil, fmt.Errorf("--miner-address %q: %v; give an address of the %s network, or leave the flag out to mine to the node's wallet",
				n.cfg.MinerAddress, err, n.params.Name)
		}
		return a.Script(), nil
	}
	a, err := n.wallet.DefaultAddress()
	if err != nil {
		return nil, err
	}
	return a.Script(), nil
}

// openP2P creates the node's libp2p host.
func (n *Node) openP2P() error {
	keyFile := n.cfg.P2PKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(n.cfg.DataDir, keyFileName)
	} else if _, err := os.Stat(keyFile); err != nil {
		return fmt.Errorf("p2p key file: %w", err)
	}
	h, err := p2p.New(p2p.Config{Params: n.params, Chain: n.chain, Handler: p2pHandler{n}, KeyFile: keyFile,
		ListenAddrs: n.cfg.P2PListen, Bootstrap: n.cfg.Bootstrap, TargetPeers: n.cfg.P2PTargetPeers,
		MaxPeers: n.cfg.P2PMaxPeers, MaxInboundPerIP: n.cfg.P2PMaxInboundPerIP, MaxInboundPerSubnet: n.cfg.P2PMaxInboundPerSubnet,
		PeersFile:      filepath.Join(n.cfg.DataDir, peersFileName),
		StatusInterval: n.cfg.P2PStatusInterval,
		UserAgent:      "minichain/" + n.cfg.Version, Logger: n.cfg.Logger.With("component", "p2p"),
		Registerer: n.metrics.reg})
	if err != nil {
		return err
	}
	n.p2p = h
	n.cfg.Logger.Info("p2p identity", "peer_id", h.ID().String(), "multiaddrs", h.Addrs())
	return nil
}

// P2P returns the node's network host, or nil without a network.
func (n *Node) P2P() *p2p.Host { return n.p2p }

// writeToken writes a fresh random API token (mode 0600) and returns it.
func writeToken(path string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	return tok, nil
}

// newHandler wires what the node serves over HTTP: the JSON API under
// /api/, the Prometheus metrics at /metrics and the block explorer at /,
// all behind the Host check (apiserver.HostFilter, against DNS rebinding).
func (n *Node) newHandler() http.Handler {
	qc := query.Config{Params: n.params, Chain: n.chain, Pool: n.mempool, Miner: n.miner,
		Version: n.cfg.Version, Started: n.started}
	if n.p2p != nil {
		qc.Network = n.p2p
	}
	n.views = query.New(qc)
	mux := http.NewServeMux()
	apiserver.New(apiserver.Config{Views: n.views, Node: actions{n}, Token: n.token, TokenFile: tokenFileName,
		MaxTxSize: n.params.MaxTxSize(), Logger: n.log}).Register(mux)
	n.registerGauges()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	explorer.New(n.views, n.log.With("component", "explorer")).Register(mux)
	return apiserver.HostFilter(mux, n.cfg.APIAddr, n.cfg.APIHosts)
}

// Views returns the node's read model: what its API and explorer show.
func (n *Node) Views() *query.Reader { return n.views }

// APIAddr returns the address the API listens on.
func (n *Node) APIAddr() string { return n.listener.Addr().String() }

// Token returns the API token.
func (n *Node) Token() string { return n.token }

// Chain returns the node's chain.
func (n *Node) Chain() *chain.Chain { return n.chain }

// Mempool returns the node's transaction pool.
func (n *Node) Mempool() *mempool.Mempool { return n.mempool }

// Wallet returns the node's wallet.
func (n *Node) Wallet() *wallet.Wallet { return n.wallet }

// Miner returns the node's miner.
func (n *Node) Miner() *miner.Miner { return n.miner }

// RequestShutdown asks Run to stop; it returns at once.
func (n *Node) RequestShutdown() {
	n.shutdownOnce.Do(func() { close(n.shutdown) })
}

// Run runs the node until ctx ends or RequestShutdown is called: the API
// server, the chain follower, the mempool's persister and the miner. It
// returns after every goroutine has stopped and the store is closed; the
// node cannot be run again.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-n.shutdown:
			n.log.Info("shutdown requested")
		}
		cancel()
		// Let requests in flight finish for up to 3 s, then cut the rest:
		// the node must be down within 5 s of a signal.
		sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer scancel()
		if err := n.server.Shutdown(sctx); err != nil {
			n.log.Warn("API requests still running at shutdown were cut", "err", err)
			n.server.Close()
		}
		return nil
	})
	g.Go(func() error { return n.followChain(gctx) })
	g.Go(func() error { return n.mempool.Run(gctx) })
	g.Go(func() error { return n.miner.Run(gctx) })
	g.Go(func() error {
		// The API answers once the miner runs, so an early
		// mining/generate call cannot find it idle.
		if err := n.miner.WaitRunning(gctx); err != nil {
			return nil
		}
		if err := n.server.Serve(n.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("API server: %w", err)
		}
		return nil
	})
	g.Go(func() error { return n.refreshMiner(gctx) })
	g.Go(func() error { return n.flushChainState(gctx) })
	if n.p2p != nil {
		g.Go(func() error { return n.p2p.Run(gctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Stopped while a part was still starting (a signal right after
		// "node ready"): that part saw the cancellation as its error, but
		// the stop was asked for and is clean.
		err = nil
	}
	if cerr := n.close(); err == nil {
		err = cerr
	}
	n.log.Info("node stopped")
	return err
}

// close releases what the node holds: the API listener (Serve may never
// have started if Run failed early; closing it twice is harmless), the p2p
// host and the store.
func (n *Node) close() error {
	if n.listener != nil {
		n.listener.Close()
	}
	if n.p2p != nil {
		n.p2p.Close()
	}
	if n.chain != nil {
		// Everything that writes to the chain has stopped: write the
		// chain-state cache so the next start replays nothing. A failure
		// loses nothing (the blocks are stored and the next start
		// reconnects them), so it is logged, not returned.
		if err := n.chain.Flush(); err != nil {
			n.log.Error("could not flush the chain state at shutdown; the next start replays the blocks since the last flush", "err", err)
		}
	}
	if n.db != nil {
		return n.db.Close()
	}
	return nil
}

// flushChainState flushes the chain-state cache every UtxoFlushInterval
// until ctx ends, so a crash replays at most that much. A failed flush is
// logged; the chain keeps the cache and the next flush retries it.
func (n *Node) flushChainState(ctx context.Context) error {
	t := time.NewTicker(n.cfg.UtxoFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := n.chain.Flush(); err != nil {
				n.log.Error("could not flush the chain state; will retry", "err", err)
			}
		}
	}
}

// followChain applies chain events to the mempool (through its Follower,
// the rule the simulator runs too), the miner and the metrics; transactions
// a reorganisation returned to the pool are re-announced.
func (n *Node) followChain(ctx context.Context) error {
	sub := n.chain.Subscribe(0)
	defer sub.Close()
	follow := mempool.NewFollower(n.mempool)
	for {
		ev, err := sub.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, chain.ErrLagged):
			n.log.Warn("chain events were dropped; revalidating the mempool")
			follow.Lagged()
			n.miner.Refresh()
			continue
		case err != nil:
			return err
		}
		pending := follow.Pending()
		back := follow.Apply(ev)
		switch ev.Type {
		case chain.BlockConnected:
			n.metrics.blocksConnected.Inc()
		case chain.TipChanged:
			if pending > 0 {
				n.log.Info("transactions of disconnected blocks returned to the mempool", "offered", pending, "accepted", len(back))
				n.reannounceTxs(back)
			}
			if ev.ReorgDepth > 0 {
				n.metrics.reorgs.Inc()
				n.metrics.reorgDepth.Observe(float64(ev.ReorgDepth))
			}
			n.metrics.height.Set(float64(ev.Height))
			n.miner.Refresh()
			n.log.Debug("new tip", "height", ev.Height, "hash", ev.Hash)
		}
	}
}

// refreshMiner gives the miner a new template when the pool changed, at
// most every 250 ms so a burst of transactions costs one rebuild.
func (n *Node) refreshMiner(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.poolChanged:
		}
		n.miner.Refresh()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (n *Node) notifyPoolChanged() {
	select {
	case n.poolChanged <- struct{}{}:
	default:
	}
}

// SubmitBlock is the way a block mined here or submitted through the API
// enters the chain.
func (n *Node) SubmitBlock(b *chain.Block) (chain.ProcessResult, error) {
	return n.SubmitBlockFrom(b, chain.BlockOrigin{Requested: true})
}

// SubmitBlockFrom is the single way a block enters the chain: origin says
// who sent it and whether this node asked for it (chain.BlockOrigin).
func (n *Node) SubmitBlockFrom(b *chain.Block, origin chain.BlockOrigin) (chain.ProcessResult, error) {
	res, err := n.chain.ProcessBlockFrom(b, time.Now(), origin)
	if err != nil {
		n.metrics.blocksRejected.WithLabelValues(reasonOf(err)).Inc()
		return res, err
	}
	n.metrics.blocksAccepted.Inc()
	n.metrics.orphans.Set(float64(n.chain.OrphanCount()))
	return res, nil
}

// SubmitTx adds a transaction to the pool. A local one (from the API or the
// wallet) must have known parents, is acknowledged idempotently if already
// in the pool, and is on disk before SubmitTx returns.
func (n *Node) SubmitTx(ctx context.Context, tx *chain.Tx, local bool) (mempool.AcceptResult, error) {
	var (
		res mempool.AcceptResult
		err error
	)
	if local {
		res, err = n.mempool.AcceptLocalTx(tx)
		if errors.Is(err, mempool.ErrAlreadyHave) {
			return res, n.mempool.Sync(ctx)
		}
	} else {
		res, err = n.mempool.AcceptTx(tx)
	}
	if err != nil {
		n.metrics.txsRejected.WithLabelValues(reasonOf(err)).Inc()
		return res, err
	}
	n.metrics.txsAccepted.Add(float64(len(res.Accepted)))
	if len(res.Accepted) > 0 {
		n.notifyPoolChanged()
	}
	if local {
		if err := n.mempool.Sync(ctx); err != nil {
			return res, fmt.Errorf("persist transaction: %w", err)
		}
		n.announceTxs(res.Accepted)
	}
	return res, nil
}
