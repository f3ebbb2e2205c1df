package chain

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minichain/minichain/chain/store"
)

// Config configures a Chain.
type Config struct {
	// Params are the consensus parameters; required.
	Params *Params
	// DB is where blocks, the index and the UTXO set live; required.
	DB store.DB
	// ScriptWorkers is how many goroutines verify one block's scripts; 0
	// means GOMAXPROCS.
	ScriptWorkers int
	// SigCache, if set, is consulted and filled when blocks connect; share
	// it with the mempool so a block's transactions seen before are not
	// verified twice. Nil verifies every signature.
	SigCache *SigCache
	// Orphans bounds the pool of blocks waiting for their parent.
	Orphans OrphanLimits
	// Logger receives the chain's log lines; nil discards them.
	Logger *slog.Logger
	// StateCacheBytes bounds the write-back chain-state cache (the UTXO
	// set, indexes and tip changed since the last flush): the chain
	// flushes it when it holds more. 0 means DefaultStateCacheBytes; a
	// tiny value flushes after nearly every block; StateCacheOff turns
	// the cache off.
	StateCacheBytes int64
	// Clock, if set, stamps each flush's FlushInfo.Time for the node's
	// status. It is never used by a consensus rule.
	Clock func() time.Time
}

// BestState is an immutable snapshot of the main chain's tip. Readers get it
// without taking the chain lock.
type BestState struct {
	Hash       Hash
	Height     int32
	Bits       uint32   // bits of the tip
	NextBits   uint32   // bits the next block must carry
	Timestamp  int64    // time of the tip
	MedianTime int64    // median time past of the tip
	WorkSum    *big.Int // cumulative work of the main chain (do not modify)
}

// BlockOrigin says where a block came from. It decides whether a block
// that cannot become the tip is worth disk space, and whose share of the
// orphan pool it takes.
type BlockOrigin struct {
	// Peer identifies the sender; "" for a block mined by this node or
	// submitted through its API.
	Peer string
	// Requested is true for a block this node asked for (its sync
	// fetched it) or made itself. An unrequested block (pushed by gossip)
	// is stored only if its branch has at least as much work as the
	// tip, so it could become the best chain; Bitcoin Core keeps the
	// same rule for blocks it did not request. Anything else is dropped:
	// cheap side branches must not fill the disk.
	Requested bool
}

// localOrigin is the origin of a block mined or submitted here.
var localOrigin = BlockOrigin{Requested: true}

// ProcessResult says what ProcessBlock did with a block.
type ProcessResult struct {
	Hash Hash
	// Stored is true when the block was written to the store and the
	// index. It is false for an orphan and for an unrequested block
	// whose branch has less work than the tip (see BlockOrigin), which
	// is dropped without an error.
	Stored bool
	// Orphan is true when the block's parent is unknown; the block waits in
	// the orphan pool and MissingAncestor is the block to fetch to connect
	// it (the parent of the oldest orphan in its chain).
	Orphan          bool
	MissingAncestor Hash
	// MainChain is true when the block is on the main chain afterwards.
	MainChain bool
	// Height of the block (when not an orphan).
	Height int32
}

// Chain is the block index, the main chain and the UTXO set, with fork
// choice by most cumulative work. ProcessBlock is the single way blocks enter,
// whether mined locally or received from the network.
//
// Lock contract: mu guards every field below it. Methods that change the
// chain take it for writing; readers take it for reading or use
// BestSnapshot, which needs no lock. Events are published after mu is
// released.
type Chain struct {
	// Set by New and never changed.
	params   *Params
	db       store.DB
	log      *slog.Logger
	connOpts ConnectOptions
	events   *eventHub
	best     atomic.Pointer[BestState]
	sc       *stateCache // has its own lock; taken after mu

	// pubMu orders the publication of events: it is taken before mu is
	// released, so events leave in the order their changes were committed.
	pubMu sync.Mutex

	mu         sync.RWMutex
	index      map[Hash]*blockNode
	main       []*blockNode // main[h] is the main-chain block at height h
	candidates map[*blockNode]struct{}
	orphans    *orphanPool
	rejected   *rejectCache
	nextSeq    uint64
	pending    []Event // published when mu is released
}

// ErrBlockNotFound is returned for a block the chain does not have.
var ErrBlockNotFound = errors.New("block not found")

// New opens the chain stored in cfg.DB, writing the genesis block into an
// empty store. It resumes from the stored tip without rescanning blocks; if
// the store holds a branch with more work than its tip (a reorg cut short by
// a crash), it finishes switching to it.
func New(cfg Config) (*Chain, error) {
	if cfg.Params == nil || cfg.DB == nil {
		return nil, errors.New("chain: Params and DB are required")
	}
	if cfg.StateCacheBytes < 0 && cfg.StateCacheBytes != StateCacheOff {
		return nil, fmt.Errorf("chain: StateCacheBytes %d is negative", cfg.StateCacheBytes)
	}
	if cfg.StateCacheBytes == StateCacheOff && !store.Unbounded(cfg.DB) {
		return nil, errors.New("chain: StateCacheOff needs a store whose one update holds a block's chain state whatever its size (store.UnboundedUpdater)")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Chain{
		params:     cfg.Params,
		db:         cfg.DB,
		log:        log,
		connOpts:   ConnectOptions{ScriptWorkers: cfg.ScriptWorkers, SigCache: cfg.SigCache},
		events:     newEventHub(),
		index:      make(map[Hash]*blockNode),
		candidates: make(map[*blockNode]struct{}),
		orphans:    newOrphanPool(cfg.Orphans),
		rejected:   newRejectCache(1024),
		sc:         newStateCache(cfg.DB, cfg.StateCacheBytes, cfg.Clock),
	}
	c.mu.Lock()
	err := c.load()
	c.pending = nil // nobody can be subscribed yet
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Params returns the chain's consensus parameters.
func (c *Chain) Params() *Params { return c.params }

// Subscribe returns a queue of chain events holding up to queueLen events
// (0 for the default). Close it when done.
func (c *Chain) Subscribe(queueLen int) *Subscription { return c.events.subscribe(queueLen) }

// BestSnapshot returns the current tip. Safe for concurrent use; the result
// must not be modified.
func (c *Chain) BestSnapshot() *BestState { return c.best.Load() }

// unlockAndPublish releases mu and publishes the events gathered under it.
// Publishing never blocks (every subscriber has its own queue); pubMu,
// taken before mu is released, keeps two writers' events in commit order.
func (c *Chain) unlockAndPublish() {
	ev := c.pending
	c.pending = nil
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	c.mu.Unlock()
	c.events.publish(ev)
}

// ProcessBlock validates a block mined or submitted locally and adds it to
// the chain: it is checked (sanity, then header context against its parent
// and now), stored, and the main chain moves to the branch with the most
// work, reorganising if needed. A block whose parent is unknown is kept as an
// orphan. Orphans waiting for this block are processed too. Safe for
// concurrent use.
//
// Errors: a *RuleError (errors.Is with an ErrorKind) when the block breaks a
// rule; ErrDuplicateBlock for a block already known; any other error is a
// failure of the store, not a verdict on the block.
func (c *Chain) ProcessBlock(b *Block, now time.Time) (ProcessResult, error) {
	return c.ProcessBlockFrom(b, now, localOrigin)
}

// ProcessBlockFrom is ProcessBlock for a block from elsewhere: o says who
// sent it and whether this node asked for it (see BlockOrigin).
func (c *Chain) ProcessBlockFrom(b *Block, now time.Time, o BlockOrigin) (ProcessResult, error) {
	c.mu.Lock()
	defer c.unlockAndPublish()
	return c.processBlock(b, now, o)
}

func (c *Chain) processBlock(b *Block, now time.Time, origin BlockOrigin) (ProcessResult, error) {
	hash := b.BlockHash()
	res := ProcessResult{Hash: hash}
	if n := c.index[hash]; n != nil {
		if n.status.invalid() {
			return res, ruleError(ErrKnownInvalid, "block %s is known to be invalid (%s)", hash, n.status)
		}
		return res, ruleError(ErrDuplicateBlock, "block %s is already known", hash)
	}
	if c.orphans.has(hash) {
		return res, ruleError(ErrDuplicateBlock, "block %s is already waiting as an orphan", hash)
	}
	if why, bad := c.rejected.get(hash); bad {
		return res, ruleError(ErrKnownInvalid, "block %s was rejected before: %s", hash, why)
	}
	txids, err := checkBlockSanity(b, c.params)
	if err != nil {
		// Not remembered: a block failing sanity may carry a valid
		// header (a mutated Merkle tree, a damaged body), so its hash
		// does not condemn the real block.
		return res, err
	}
	prev := b.Header.PrevBlock
	if why, bad := c.rejected.get(prev); bad {
		c.reject(hash, "parent is invalid")
		return res, ruleError(ErrInvalidAncestor, "block %s builds on rejected block %s (%s)", hash, prev, why)
	}
	parent := c.index[prev]
	if parent == nil {
		res.Orphan = true
		if c.orphans.add(b, hash, origin, now) {
			res.MissingAncestor = c.orphans.missingAncestor(hash)
		} else {
			// Larger than the pool's share for a sender: not kept, but
			// its ancestors are still worth fetching (sync brings it too).
			res.MissingAncestor = prev
		}
		c.log.Debug("orphan block", "hash", hash, "missing", res.MissingAncestor, "peer", origin.Peer)
		return res, nil
	}
	node, err := c.acceptBlock(b, hash, parent, origin, now)
	if err != nil || node == nil {
		return res, err
	}
	res.Stored, res.Height = true, node.height
	cache := map[Hash]blockData{hash: {b, txids}}
	// Orphans that were waiting for this block (and for their children).
	queue := []Hash{hash}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, o := range c.orphans.takeChildren(h) {
			ob, err := c.acceptOrphan(o, c.index[h], now)
			if err != nil {
				c.log.Info("orphan rejected", "hash", o.hash, "peer", o.origin.Peer, "err", err)
				continue
			}
			if ob != nil {
				cache[o.hash] = blockData{block: ob}
				queue = append(queue, o.hash)
			}
		}
	}
	failures, err := c.activateBestChain(cache)
	if err != nil {
		return res, err
	}
	res.MainChain = c.isMain(node)
	if ferr, ok := failures[hash]; ok {
		return res, ferr
	}
	if node.status.invalid() {
		return res, ruleError(ErrInvalidAncestor, "block %s has an ancestor found invalid when connecting it", hash)
	}
	return res, nil
}

// blockData is a block already in memory, with its txids when known.
type blockData struct {
	block *Block
	txids []Hash
}

func (c *Chain) isMain(n *blockNode) bool {
	return int(n.height) < len(c.main) && c.main[n.height] == n
}

func (c *Chain) tip() *blockNode { return c.main[len(c.main)-1] }

// acceptOrphan decodes an orphan whose parent has arrived and accepts it;
// it returns the block when it was stored. Called with mu held.
func (c *Chain) acceptOrphan(o *orphan, parent *blockNode, now time.Time) (*Block, error) {
	b, err := DecodeBlock(o.raw, c.params.MaxBlockSize)
	if err != nil {
		return nil, AssertError("an orphan's stored bytes do not decode: " + err.Error())
	}
	n, err := c.acceptBlock(b, o.hash, parent, o.origin, now)
	if err != nil || n == nil {
		return nil, err
	}
	return b, nil
}

// acceptBlock checks a block against its parent, stores it and adds it to the
// index. It does not connect it. It returns a nil node, and no error, for an
// unrequested block that is not worth storing (see BlockOrigin). Called
// with mu held.
func (c *Chain) acceptBlock(b *Block, hash Hash, parent *blockNode, origin BlockOrigin, now time.Time) (*blockNode, error) {
	if parent.status.invalid() {
		c.reject(hash, "parent is invalid")
		return nil, ruleError(ErrInvalidAncestor, "block %s builds on invalid block %s", hash, parent.hash)
	}
	if err := CheckBlockHeaderContext(&b.Header, parent, c.params, now); err != nil {
		// A block from the future may become acceptable later.
		if !errors.Is(err, ErrTimeTooNew) {
			c.reject(hash, err.Error())
		}
		return nil, err
	}
	if !origin.Requested && addWork(parent.workSum, b.Header.Bits).Cmp(c.tip().workSum) < 0 {
		c.log.Debug("unrequested block on a branch with less work than the tip; not stored",
			"hash", hash, "height", parent.height+1, "peer", origin.Peer)
		return nil, nil
	}
	node := newBlockNode(b.Header, hash, parent, c.nextSeq)
	// Unsynced: the block is durable before the tip moves past it, since
	// the tip moves on disk only in a flush, which syncs (statecache.go).
	// A stored block the disk lost is forgotten at open (forgetBlock).
	err := store.UpdateUnsynced(c.db, func(t store.Txn) error {
		if err := t.Set(hashKey(prefixBlock, hash), b.Serialize()); err != nil {
			return err
		}
		return t.Set(hashKey(prefixIndex, hash), encodeIndexRecord(node, node.status))
	})
	if err != nil {
		return nil, fmt.Errorf("store block %s: %w", hash, err)
	}
	c.nextSeq++
	c.index[hash] = node
	parent.children = append(parent.children, node)
	if parent.status&statusDeferred != 0 {
		node.status |= statusDeferred
	} else if node.workSum.Cmp(c.tip().workSum) > 0 {
		c.candidates[node] = struct{}{}
	}
	return node, nil
}

// reject remembers that the block hash (which is not in the index) is
// invalid, and drops the orphans that build on it: they are invalid too.
// Called with mu held.
func (c *Chain) reject(hash Hash, why string) {
	c.rejected.add(hash, why)
	for _, o := range c.orphans.takeDescendants(hash) {
		c.rejected.add(o.hash, "parent is invalid")
		c.log.Debug("orphan dropped: an ancestor is invalid", "hash", o.hash, "invalid", hash, "peer", o.origin.Peer)
	}
}

func (c *Chain) updateBest() {
	t := c.tip()
	c.best.Store(&BestState{
		Hash:       t.hash,
		Height:     t.height,
		Bits:       t.header.Bits,
		NextBits:   CalcNextRequiredBits(c.params, t),
		Timestamp:  int64(t.header.Timestamp),
		MedianTime: CalcPastMedianTime(t),
		WorkSum:    new(big.Int).Set(t.workSum),
	})
}

// rejectCache remembers recently rejected block hashes that are not in the
// index, so their descendants are rejected without being kept as orphans.
type rejectCache struct {
	max   int
	why   map[Hash]string
	order []Hash
}

func newRejectCache(max int) *rejectCache {
	return &rejectCache{max: max, why: make(map[Hash]string)}
}

func (r *rejectCache) add(h Hash, why string) {
	if _, ok := r.why[h]; ok {
		return
	}
	if len(r.order) >= r.max {
		delete(r.why, r.order[0])
		r.order = r.order[1:]
	}
	r.why[h] = why
	r.order = append(r.order, h)
}

func (r *rejectCache) get(h Hash) (string, bool) {
	why, ok := r.why[h]
	return why, ok
}
