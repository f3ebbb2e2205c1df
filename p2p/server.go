package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

// The server side of the sync protocol. A request costs its sender one
// token of its request bucket before a byte of it is read; its frame is
// checked against its type's limit and its memory reserved with the
// stream's resource-manager scope before it is read; a response of blocks or
// transactions is built within the sender's byte allowance and its memory
// reserved before it is built.

const (
	// serveTimeout is the server's deadline on a whole exchange.
	serveTimeout = 20 * time.Second
	// requestTimeout is how long a client has to send its whole request:
	// an honest one writes it at once. One that holds a stream open
	// without finishing its request has stalled.
	requestTimeout = 5 * time.Second
	// syncService names the sync protocol's streams in the resource
	// manager.
	syncService = "minichain.sync"
)

// handleStream serves one sync request.
func (hst *Host) handleStream(s network.Stream) {
	p := s.Conn().RemotePeer()
	_ = s.Scope().SetService(syncService)
	_ = s.SetDeadline(time.Now().Add(serveTimeout))
	_ = s.SetReadDeadline(time.Now().Add(requestTimeout))
	scope := s.Scope()
	reserved := 0
	reserve := func(n int) error {
		if err := scope.ReserveMemory(n, network.ReservationPriorityMedium); err != nil {
			return fmt.Errorf("%w: %v", errBusy, err)
		}
		reserved += n
		return nil
	}
	defer func() { scope.ReleaseMemory(reserved) }()
	resp, off := hst.serveRequest(p, bufio.NewReader(s), reserve)
	if off != nil {
		hst.penalise(p, off.off, "sync request: "+off.err.Error())
	}
	if resp == nil {
		s.Reset()
		return
	}
	if err := writeFrame(s, resp); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// errBusy: the node cannot take the request now (its memory limits for the
// protocol are reached); not the sender's fault.
var errBusy = errors.New("busy")

// serveRequest reads one request and returns the response (nil: reset the
// stream without one) and the offence the request committed, if any.
// reserve, when not nil, reserves memory for the request and the response.
func (hst *Host) serveRequest(p peer.ID, r *bufio.Reader, reserve func(int) error) ([]byte, *faultError) {
	if !hst.limiter.request(p) {
		return encodeError("rate limited"), &faultError{OffenceRateLimit, errors.New("request over the rate limit")}
	}
	req, err := readFrame(r, maxRequest, requestLimit, reserve)
	if err != nil {
		if errors.Is(err, errBusy) {
			return encodeError("busy"), nil
		}
		if o, ok := offenceOf(err); ok {
			if o == OffenceStall {
				err = fmt.Errorf("the request was not sent within %s", requestTimeout)
			}
			return nil, &faultError{o, err}
		}
		return nil, nil // the stream broke: nobody to blame
	}
	resp, err := hst.respond(p, req[0], req[1:], reserve)
	if err != nil {
		var f *faultError
		switch {
		case errors.As(err, &f):
			return encodeError(err.Error()), f
		case errors.Is(err, errBusy):
			return encodeError("busy"), nil
		}
		if o, ok := offenceOf(err); ok {
			return encodeError(err.Error()), &faultError{o, err}
		}
		return encodeError(err.Error()), nil
	}
	return resp, nil
}

// respond answers a request from the chain and the pool.
func (hst *Host) respond(p peer.ID, typ byte, body []byte, reserve func(int) error) ([]byte, error) {
	c := hst.cfg.Chain
	switch typ {
	case msgStatus:
		return encodeStatus(hst.ourStatus()), nil
	case msgGetHeaders:
		loc, stop, err := decodeGetHeaders(body)
		if err != nil {
			return nil, err
		}
		return encodeHeaders(c.LocateHeaders(loc, stop, maxHeaders)), nil
	case msgGetBlocks:
		hashes, err := decodeGetBlocks(body)
		if err != nil {
			return nil, err
		}
		return hst.serveBlocks(p, hashes, reserve)
	case msgGetMempool:
		budget, err := hst.byteBudget(p, mempoolBytes)
		if err != nil {
			return nil, err
		}
		if reserve != nil {
			if err := reserve(budget); err != nil {
				return nil, err
			}
		}
		resp := encodeTxs(msgTxs, hst.cfg.Handler.PendingTxs(), budget)
		return resp, hst.sendBytes(p, len(resp))
	case msgPushTxs:
		if err := hst.sendBytes(p, len(body)); err != nil {
			return nil, err
		}
		return hst.servePush(p, body)
	}
	return nil, fmt.Errorf("%w: unknown request type %#02x", errMalformed, typ)
}

// byteBudget is how many bytes a response to p may carry: at most limit,
// within p's byte allowance. A peer whose allowance is spent is over its
// rate limit.
func (hst *Host) byteBudget(p peer.ID, limit int) (int, error) {
	budget := min(limit, hst.limiter.byteAllowance(p))
	if budget <= 0 {
		return 0, fault(OffenceRateLimit, "byte allowance spent")
	}
	return budget, nil
}

// sendBytes takes n bytes of p's allowance, waiting out the debt.
func (hst *Host) sendBytes(p peer.ID, n int) error {
	wait, ok := hst.limiter.takeBytes(p, n)
	if !ok {
		return fault(OffenceRateLimit, "%d bytes over the byte rate", n)
	}
	if wait > 0 {
		defer hst.limiter.doneWaiting(p)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-hst.lifetime().Done():
			return errBusy
		case <-t.C:
		}
	}
	return nil
}

// serveBlocks answers a blocks request: the blocks asked for, in order,
// stopping before the budget is exceeded (at least one block when the
// budget allows one), at the first block not stored, or when no more memory
// can be reserved for the answer.
func (hst *Host) serveBlocks(p peer.ID, hashes []chain.Hash, reserve func(int) error) ([]byte, error) {
	budget, err := hst.byteBudget(p, blocksRespBytes)
	if err != nil {
		return nil, err
	}
	var raws [][]byte
	size := 0
	for _, h := range hashes {
		b, err := hst.cfg.Chain.BlockByHash(h)
		if err != nil {
			break // the client asks again for what is missing
		}
		n := b.SerializeSize()
		if size+n > budget && len(raws) > 0 {
			break
		}
		if reserve != nil {
			// Twice: the block's bytes, then the response they are
			// copied into.
			if err := reserve(2 * n); err != nil {
				if len(raws) == 0 {
					return nil, err
				}
				break
			}
		}
		raws = append(raws, b.Serialize())
		size += n
	}
	resp := encodeRaws(msgBlocks, raws)
	return resp, hst.sendBytes(p, len(resp))
}

// servePush takes transactions a peer offers (re-announcements after a
// reorganisation) as if gossiped.
func (hst *Host) servePush(from peer.ID, body []byte) ([]byte, error) {
	txs, err := decodeTxs(body, hst.cfg.Params.MaxTxSize())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(hst.lifetime(), serveTimeout)
	defer cancel()
	for _, tx := range txs {
		if v := hst.cfg.Handler.HandleTx(ctx, from, tx); v == Reject {
			return nil, fault(OffenceInvalidTx, "pushed transaction %s breaks the rules", tx.TxHash())
		}
	}
	return []byte{msgAck}, nil
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

func (hst *Host) ourStatus() Status {
	best := hst.cfg.Chain.BestSnapshot()
	return Status{Genesis: hst.cfg.Params.GenesisHash, Tip: best.Hash, Height: best.Height, Work: best.WorkSum}
}

// encodeTxs encodes a message of type typ carrying transactions, in order,
// as many as fit in limit bytes with their framing.
func encodeTxs(typ byte, txs []*chain.Tx, limit int) []byte {
	var raws [][]byte
	size := 1 + maxVarint
	for _, tx := range txs {
		raw := tx.Serialize()
		if size+maxVarint+len(raw) > limit {
			break
		}
		raws = append(raws, raw)
		size += maxVarint + len(raw)
	}
	return encodeRaws(typ, raws)
}

// decodeTxs decodes the transactions of a message body; an undecodable one
// is malformed.
func decodeTxs(body []byte, maxTx int) ([]*chain.Tx, error) {
	raws, err := decodeRaws(body, maxTx)
	if err != nil {
		return nil, err
	}
	txs := make([]*chain.Tx, 0, len(raws))
	for _, raw := range raws {
		tx, err := chain.DecodeTx(raw, maxTx)
		if err != nil {
			return nil, fmt.Errorf("%w: undecodable transaction: %v", errMalformed, err)
		}
		txs = append(txs, tx)
	}
	return txs, nil
}
