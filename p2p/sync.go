package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
	msmux "github.com/multiformats/go-multistream"

	"github.com/minichain/minichain/chain"
)

// Timing of the sync protocol.
const (
	serveTimeout     = 20 * time.Second // the server's deadline on a stream
	blocksPerRequest = 32
	retryStalledPeer = time.Minute // a peer that stalled is not asked again before this
)

// Why a sync job ended badly.
var (
	// errInvalid: the peer served data that breaks the rules; it is banned.
	errInvalid = errors.New("peer served invalid data")
	// errUnhelpful: the peer stalled or did not serve what it announced;
	// it is disconnected and another peer is tried.
	errUnhelpful = errors.New("peer did not serve what it announced")
)

// request runs one request/response exchange with a peer.
func (hst *Host) request(ctx context.Context, p peer.ID, req []byte) (typ byte, body []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, hst.cfg.RequestTimeout)
	defer cancel()
	s, err := hst.h.NewStream(ctx, p, protocol.ID(hst.names.sync))
	if err != nil {
		return 0, nil, err
	}
	ok := false
	defer func() {
		if ok {
			s.Close()
		} else {
			s.Reset()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		_ = s.SetDeadline(dl)
	}
	if err := msgio.NewVarintWriter(s).WriteMsg(req); err != nil {
		return 0, nil, err
	}
	if err := s.CloseWrite(); err != nil {
		return 0, nil, err
	}
	r := msgio.NewVarintReaderSize(s, maxResponseSize)
	msg, err := r.ReadMsg()
	if err != nil {
		return 0, nil, err
	}
	resp := append([]byte(nil), msg...)
	r.ReleaseMsg(msg)
	if len(resp) == 0 {
		return 0, nil, fmt.Errorf("%w: empty response", errMalformed)
	}
	ok = true
	if resp[0] == msgError {
		return 0, nil, fmt.Errorf("peer answered with an error: %s", decodeError(resp[1:]))
	}
	return resp[0], resp[1:], nil
}

// handleStream serves one sync request.
func (hst *Host) handleStream(s network.Stream) {
	_ = s.Scope().SetService("minichain.sync")
	_ = s.SetDeadline(time.Now().Add(serveTimeout))
	r := msgio.NewVarintReaderSize(s, maxRequestSize)
	req, err := r.ReadMsg()
	if err != nil || len(req) == 0 {
		s.Reset()
		return
	}
	var resp []byte
	if req[0] == msgPushTxs {
		resp = hst.servePush(s.Conn().RemotePeer(), req[1:])
	} else {
		resp = hst.serve(req[0], req[1:])
	}
	r.ReleaseMsg(req)
	if err := msgio.NewVarintWriter(s).WriteMsg(resp); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// serve answers a request from the chain and the pool.
func (hst *Host) serve(typ byte, body []byte) []byte {
	c := hst.cfg.Chain
	switch typ {
	case msgStatus:
		return encodeStatus(hst.ourStatus())
	case msgGetHeaders:
		loc, stop, err := decodeGetHeaders(body)
		if err != nil {
			return encodeError(err.Error())
		}
		return encodeHeaders(c.LocateHeaders(loc, stop, maxHeaders))
	case msgGetBlocks:
		hashes, err := decodeGetBlocks(body)
		if err != nil {
			return encodeError(err.Error())
		}
		var raws [][]byte
		size := 0
		for _, h := range hashes {
			if size > blocksRespBytes {
				break
			}
			b, err := c.BlockByHash(h)
			if err != nil {
				break // the client asks again for what is missing
			}
			raw := b.Serialize()
			raws = append(raws, raw)
			size += len(raw)
		}
		return encodeRaws(msgBlocks, raws)
	case msgPushTxs:
		// Handled by handleStream, which knows the sender.
		return encodeError("push outside a stream")
	case msgGetMempool:
		return encodeTxs(msgTxs, hst.cfg.Handler.PendingTxs())
	}
	return encodeError(fmt.Sprintf("unknown request type %#02x", typ))
}

// servePush takes transactions a peer offers (re-announcements after a
// reorganisation) as if gossiped.
func (hst *Host) servePush(from peer.ID, body []byte) []byte {
	txs, err := decodeTxs(body, hst.cfg.Params.MaxTxSize())
	if err != nil {
		return encodeError(err.Error())
	}
	ctx, cancel := context.WithTimeout(hst.lifetime(), serveTimeout)
	defer cancel()
	for _, tx := range txs {
		hst.cfg.Handler.HandleTx(ctx, from, tx)
	}
	return []byte{msgAck}
}

// lifetime is the context of the running host: work a stream handler
// starts (libp2p calls it on goroutines of its own) ends when Run does.
func (hst *Host) lifetime() context.Context {
	hst.mu.Lock()
	defer hst.mu.Unlock()
	if hst.runCtx == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // not running: nothing should start
		return ctx
	}
	return hst.runCtx
}

// encodeTxs encodes a message of type typ carrying transactions, as many as
// fit in mempoolBytes, in order.
func encodeTxs(typ byte, txs []*chain.Tx) []byte {
	var raws [][]byte
	size := 0
	for _, tx := range txs {
		raw := tx.Serialize()
		if size+len(raw) > mempoolBytes {
			break
		}
		raws = append(raws, raw)
		size += len(raw)
	}
	return encodeRaws(typ, raws)
}

// decodeTxs decodes the transactions of a message body; an undecodable one
// is errInvalid.
func decodeTxs(body []byte, maxTx int) ([]*chain.Tx, error) {
	raws, err := decodeRaws(body, maxTx)
	if err != nil {
		return nil, err
	}
	txs := make([]*chain.Tx, 0, len(raws))
	for _, raw := range raws {
		tx, err := chain.DecodeTx(raw, maxTx)
		if err != nil {
			return nil, fmt.Errorf("%w: undecodable transaction: %v", errInvalid, err)
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

// PushTxs offers transactions to every connected peer over the sync
// protocol. Gossip cannot re-announce a transaction the network has seen
// within its seen-cache window (two minutes), which is exactly the case of
// transactions a reorganisation returned to the pool; a direct push can.
// It returns at once; Run's push loop does the sending.
func (hst *Host) PushTxs(txs []*chain.Tx) {
	if len(txs) == 0 {
		return
	}
	select {
	case hst.pushQ <- txs:
	default:
		hst.log.Warn("push queue full; transactions not re-announced", "count", len(txs))
	}
}

// pushLoop sends the pushes PushTxs queued.
func (hst *Host) pushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case txs := <-hst.pushQ:
			hst.push(ctx, txs)
		}
	}
}

func (hst *Host) push(ctx context.Context, txs []*chain.Tx) {
	req := encodeTxs(msgPushTxs, txs)
	var wg sync.WaitGroup
	for _, p := range hst.h.Network().Peers() {
		wg.Go(func() {
			if _, _, err := hst.request(ctx, p, req); err != nil {
				hst.log.Debug("push transactions", "peer", p.String(), "err", err)
			}
		})
	}
	wg.Wait()
}

func (hst *Host) ourStatus() Status {
	best := hst.cfg.Chain.BestSnapshot()
	return Status{Genesis: hst.cfg.Params.GenesisHash, Tip: best.Hash, Height: best.Height, Work: best.WorkSum}
}

func (hst *Host) requestStatus(ctx context.Context, p peer.ID) (Status, error) {
	typ, body, err := hst.request(ctx, p, []byte{msgStatus})
	if err != nil {
		return Status{}, err
	}
	if typ != msgStatusResp {
		return Status{}, fmt.Errorf("%w: status answered with type %#02x", errMalformed, typ)
	}
	return decodeStatus(body)
}

func (hst *Host) requestHeaders(ctx context.Context, p peer.ID, locator []chain.Hash) ([]chain.Header, error) {
	if len(locator) > maxLocator {
		locator = append(locator[:maxLocator-1], locator[len(locator)-1])
	}
	typ, body, err := hst.request(ctx, p, encodeGetHeaders(locator, chain.Hash{}))
	if err != nil {
		return nil, err
	}
	if typ != msgHeaders {
		return nil, fmt.Errorf("%w: headers answered with type %#02x", errMalformed, typ)
	}
	return decodeHeaders(body)
}

func (hst *Host) requestBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) ([]*chain.Block, error) {
	typ, body, err := hst.request(ctx, p, encodeGetBlocks(hashes))
	if err != nil {
		return nil, err
	}
	if typ != msgBlocks {
		return nil, fmt.Errorf("%w: blocks answered with type %#02x", errMalformed, typ)
	}
	raws, err := decodeRaws(body, hst.cfg.Params.MaxBlockSize)
	if err != nil {
		return nil, err
	}
	out := make([]*chain.Block, 0, len(raws))
	for _, raw := range raws {
		b, err := chain.DecodeBlock(raw, hst.cfg.Params.MaxBlockSize)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errInvalid, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func (hst *Host) requestMempool(ctx context.Context, p peer.ID) ([]*chain.Tx, error) {
	typ, body, err := hst.request(ctx, p, []byte{msgGetMempool})
	if err != nil {
		return nil, err
	}
	if typ != msgTxs {
		return nil, fmt.Errorf("%w: mempool answered with type %#02x", errMalformed, typ)
	}
	return decodeTxs(body, hst.cfg.Params.MaxTxSize())
}

// SyncInfo says whether the node is catching up.
type SyncInfo struct {
	Syncing         bool
	PeerBestHeight  int32
	BlocksPerSecond float64
	Progress        float64 // our height / the best peer height, 0..1
}

// syncer is the sync manager. Its run loop is the single owner of the sync
// state (which peers to sync from, the one running job); other goroutines
// talk to it through events. Peer statuses and progress figures, read by
// the API, are guarded by mu.
type syncer struct {
	hst    *Host
	events chan syncEvent
	synced atomic.Uint64 // blocks received over sync

	mu       sync.Mutex
	status   map[peer.ID]Status
	syncing  bool
	rate     float64 // blocks per second, smoothed
	peerBest int32
}

type eventKind int

const (
	evConnected eventKind = iota
	evDisconnected
	evStatus
	evOrphan
	evRefetch
)

type syncEvent struct {
	kind   eventKind
	peer   peer.ID
	hash   chain.Hash
	status Status
}

func newSyncer(hst *Host) *syncer {
	return &syncer{hst: hst, events: make(chan syncEvent, 1024), status: make(map[peer.ID]Status)}
}

// post hands an event to the loop without blocking: a full queue drops it,
// and the periodic status poll makes up for it.
func (s *syncer) post(ev syncEvent) {
	select {
	case s.events <- ev:
	default:
		s.hst.log.Debug("sync event dropped", "kind", ev.kind)
	}
}

func (s *syncer) peerConnected(p peer.ID)    { s.post(syncEvent{kind: evConnected, peer: p}) }
func (s *syncer) peerDisconnected(p peer.ID) { s.post(syncEvent{kind: evDisconnected, peer: p}) }

// orphanFrom asks to sync from the peer that sent a block whose ancestor
// is missing.
func (s *syncer) orphanFrom(p peer.ID, missing chain.Hash) {
	s.post(syncEvent{kind: evOrphan, peer: p, hash: missing})
}

// refetch asks for a block by hash from peers other than the one that sent
// a bad copy.
func (s *syncer) refetch(h chain.Hash, exclude peer.ID) {
	s.post(syncEvent{kind: evRefetch, peer: exclude, hash: h})
}

func (s *syncer) peerHeight(p peer.ID) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.status[p]; ok {
		return st.Height
	}
	return -1
}

func (s *syncer) info() SyncInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	ours := s.hst.cfg.Chain.BestSnapshot().Height
	si := SyncInfo{PeerBestHeight: s.peerBest, BlocksPerSecond: s.rate, Progress: 1}
	si.Syncing = s.syncing && s.peerBest > ours
	if s.peerBest > ours && s.peerBest > 0 {
		si.Progress = float64(ours) / float64(s.peerBest)
	}
	return si
}

// SyncInfo reports the sync progress.
func (hst *Host) SyncInfo() SyncInfo { return hst.sync.info() }

type jobResult struct {
	peer peer.ID
	err  error
}

// run is the sync manager's loop.
func (s *syncer) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	spawn := func(f func()) { wg.Go(f) }
	tick := time.NewTicker(s.hst.cfg.StatusInterval)
	defer tick.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()

	var (
		jobPeer    peer.ID
		jobCancel  context.CancelFunc
		jobDone    = make(chan jobResult, 1)
		hints      = map[peer.ID]bool{}
		stalled    = map[peer.ID]time.Time{}
		askedPool  = map[peer.ID]bool{}
		lastSynced uint64
		lastLog    time.Time
	)
	askStatus := func(p peer.ID) {
		spawn(func() {
			st, err := s.hst.requestStatus(ctx, p)
			if err != nil {
				if ctx.Err() == nil && notOurProtocol(err) {
					s.hst.log.Info("peer does not speak this network's sync protocol; disconnecting", "peer", p.String())
					_ = s.hst.h.Network().ClosePeer(p)
				}
				return
			}
			select {
			case s.events <- syncEvent{kind: evStatus, peer: p, status: st}:
			case <-ctx.Done():
			}
		})
	}
	maybeStart := func() {
		if jobCancel != nil {
			return
		}
		ours := s.hst.cfg.Chain.BestSnapshot()
		var best peer.ID
		s.mu.Lock()
		for p := range hints {
			if _, ok := s.status[p]; ok || s.hst.h.Network().Connectedness(p) == network.Connected {
				best = p
				break
			}
		}
		if best == "" {
			bestWork := ours.WorkSum
			for p, st := range s.status {
				if t, bad := stalled[p]; bad && time.Since(t) < retryStalledPeer {
					continue
				}
				if st.Work.Cmp(bestWork) > 0 {
					best, bestWork = p, st.Work
				}
			}
		}
		s.syncing = best != ""
		s.mu.Unlock()
		if best == "" {
			return
		}
		delete(hints, best)
		jctx, cancel := context.WithCancel(ctx)
		jobPeer, jobCancel = best, cancel
		spawn(func() { jobDone <- jobResult{peer: best, err: s.syncFrom(jctx, best)} })
	}

	for {
		select {
		case <-ctx.Done():
			if jobCancel != nil {
				jobCancel()
			}
			return
		case ev := <-s.events:
			switch ev.kind {
			case evConnected:
				askStatus(ev.peer)
			case evDisconnected:
				if s.hst.h.Network().Connectedness(ev.peer) != network.Connected {
					s.mu.Lock()
					delete(s.status, ev.peer)
					s.mu.Unlock()
					delete(hints, ev.peer)
					delete(askedPool, ev.peer)
				}
			case evStatus:
				if ev.status.Genesis != s.hst.cfg.Params.GenesisHash {
					s.hst.BanPeer(ev.peer, s.hst.cfg.BanDuration, "peer is on another network (genesis "+ev.status.Genesis.String()+")")
					continue
				}
				s.mu.Lock()
				s.status[ev.peer] = ev.status
				s.peerBest = 0
				for _, st := range s.status {
					s.peerBest = max(s.peerBest, st.Height)
				}
				s.hst.metrics.peerBest.Set(float64(s.peerBest))
				s.mu.Unlock()
				if !askedPool[ev.peer] {
					askedPool[ev.peer] = true
					p := ev.peer
					spawn(func() { s.syncMempool(ctx, p) })
				}
				maybeStart()
			case evOrphan:
				hints[ev.peer] = true
				s.hst.metrics.orphanFetch.Inc()
				maybeStart()
			case evRefetch:
				h, exclude := ev.hash, ev.peer
				spawn(func() { s.refetchBlock(ctx, h, exclude) })
			}
		case r := <-jobDone:
			jobPeer, jobCancel = "", nil
			switch {
			case r.err == nil || ctx.Err() != nil:
			case errors.Is(r.err, errInvalid):
				s.hst.BanPeer(r.peer, s.hst.cfg.BanDuration, r.err.Error())
			default:
				s.hst.log.Info("sync from peer failed; trying another", "peer", r.peer.String(), "err", r.err)
				stalled[r.peer] = time.Now()
				_ = s.hst.h.Network().ClosePeer(r.peer)
			}
			maybeStart()
		case <-tick.C:
			for p, t := range stalled {
				if time.Since(t) >= retryStalledPeer {
					delete(stalled, p) // forgiven: do not keep every peer ever seen
				}
			}
			for _, p := range s.hst.h.Network().Peers() {
				askStatus(p)
			}
			maybeStart()
		case <-second.C:
			n := s.synced.Load()
			s.mu.Lock()
			s.rate = 0.7*s.rate + 0.3*float64(n-lastSynced)
			syncing := s.syncing
			s.mu.Unlock()
			lastSynced = n
			info := s.info()
			if syncing {
				s.hst.metrics.syncing.Set(1)
			} else {
				s.hst.metrics.syncing.Set(0)
			}
			if jobPeer != "" && info.Syncing && time.Since(lastLog) >= 5*time.Second {
				lastLog = time.Now()
				s.hst.log.Info("syncing", "progress", fmt.Sprintf("%.1f%%", 100*info.Progress),
					"height", s.hst.cfg.Chain.BestSnapshot().Height, "peer_best", info.PeerBestHeight,
					"blocks_per_second", fmt.Sprintf("%.0f", info.BlocksPerSecond), "peer", jobPeer.String())
			}
		}
	}
}

// syncFrom downloads, headers first, the blocks a peer has beyond our main
// chain, and hands each to the node as it arrives, until the peer has
// nothing more.
func (s *syncer) syncFrom(ctx context.Context, p peer.ID) error {
	c := s.hst.cfg.Chain
	for {
		hdrs, err := s.hst.requestHeaders(ctx, p, c.BlockLocator())
		if err != nil {
			if errors.Is(err, errMalformed) {
				return fmt.Errorf("%w: %v", errInvalid, err)
			}
			return fmt.Errorf("%w: headers: %v", errUnhelpful, err)
		}
		if len(hdrs) == 0 {
			return nil
		}
		if err := s.checkHeaders(hdrs); err != nil {
			return err
		}
		var need []chain.Hash
		for i := range hdrs {
			if h := hdrs[i].BlockHash(); !c.HaveBlock(h) {
				need = append(need, h)
			}
		}
		if len(need) == 0 {
			return nil // we have them all; the chain chose by work
		}
		if err := s.fetchBlocks(ctx, p, need); err != nil {
			return err
		}
	}
}

// checkHeaders checks that a batch of headers links to a block we have and
// to each other, and that each meets its own target.
func (s *syncer) checkHeaders(hdrs []chain.Header) error {
	if !s.hst.cfg.Chain.HaveBlock(hdrs[0].PrevBlock) {
		return fmt.Errorf("%w: headers start from unknown block %s", errInvalid, hdrs[0].PrevBlock)
	}
	for i := range hdrs {
		h := hdrs[i].BlockHash()
		if i > 0 && hdrs[i].PrevBlock != hdrs[i-1].BlockHash() {
			return fmt.Errorf("%w: header %s does not link to the one before", errInvalid, h)
		}
		if err := chain.CheckProofOfWork(h, hdrs[i].Bits, s.hst.cfg.Params.PowLimit); err != nil {
			return fmt.Errorf("%w: header %s: %v", errInvalid, h, err)
		}
	}
	return nil
}

// fetchBlocks downloads blocks by hash in batches, the next batch in flight
// while the current one is processed, and hands them to the node in order.
func (s *syncer) fetchBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) error {
	type batch struct {
		want   []chain.Hash
		blocks []*chain.Block
		err    error
	}
	fctx, cancel := context.WithCancel(ctx)
	results := make(chan batch, 1)
	var fwg sync.WaitGroup
	defer func() { cancel(); fwg.Wait() }()
	fwg.Go(func() {
		defer close(results)
		for i := 0; i < len(hashes); i += blocksPerRequest {
			want := hashes[i:min(i+blocksPerRequest, len(hashes))]
			blocks, err := s.hst.requestBlocks(fctx, p, want)
			select {
			case results <- batch{want: want, blocks: blocks, err: err}:
			case <-fctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})
	for r := range results {
		if r.err != nil {
			if errors.Is(r.err, errInvalid) || errors.Is(r.err, errMalformed) {
				return fmt.Errorf("%w: %v", errInvalid, r.err)
			}
			return fmt.Errorf("%w: blocks: %v", errUnhelpful, r.err)
		}
		if len(r.blocks) == 0 {
			return fmt.Errorf("%w: asked for %d blocks, got none", errUnhelpful, len(r.want))
		}
		for i, b := range r.blocks {
			if i >= len(r.want) || b.BlockHash() != r.want[i] {
				return fmt.Errorf("%w: sent block %s, which was not asked for", errInvalid, b.BlockHash())
			}
			out := s.hst.cfg.Handler.HandleBlock(ctx, p, b)
			if out.Verdict == Reject {
				return fmt.Errorf("%w: block %s breaks the rules", errInvalid, b.BlockHash())
			}
			s.synced.Add(1)
			s.hst.metrics.syncBlocks.Inc()
		}
		if len(r.blocks) < len(r.want) {
			return nil // the server trimmed the batch; the next headers round asks again
		}
	}
	return nil
}

// syncMempool learns a new peer's pending transactions.
func (s *syncer) syncMempool(ctx context.Context, p peer.ID) {
	txs, err := s.hst.requestMempool(ctx, p)
	if err != nil {
		s.hst.log.Debug("mempool request failed", "peer", p.String(), "err", err)
		return
	}
	accepted := 0
	for _, tx := range txs {
		if s.hst.cfg.Handler.HandleTx(ctx, p, tx) == Accept {
			accepted++
		}
	}
	if accepted > 0 {
		s.hst.log.Info("learned pending transactions from a peer", "peer", p.String(), "offered", len(txs), "accepted", accepted)
	}
}

// refetchBlock asks other peers for a block whose copy from exclude was
// damaged.
func (s *syncer) refetchBlock(ctx context.Context, h chain.Hash, exclude peer.ID) {
	for _, p := range s.hst.h.Network().Peers() {
		if p == exclude || s.hst.cfg.Chain.HaveBlock(h) {
			continue
		}
		blocks, err := s.hst.requestBlocks(ctx, p, []chain.Hash{h})
		if err != nil || len(blocks) != 1 || blocks[0].BlockHash() != h {
			continue
		}
		s.hst.cfg.Handler.HandleBlock(ctx, p, blocks[0])
		return
	}
}

// notOurProtocol reports whether a request failed because the peer does not
// speak this network's sync protocol (another network, or not minichain).
func notOurProtocol(err error) bool {
	return errors.Is(err, msmux.ErrNotSupported[protocol.ID]{})
}
