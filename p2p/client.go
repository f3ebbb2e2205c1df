package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/minichain/minichain/chain"
)

// The client side of the sync protocol: one request, one response, each
// bounded in bytes by the type asked for and in time by RequestTimeout.

// errPeerRefused is an error answer from the server (busy, over its rate
// limit, a request it could not read): no fault of ours to punish, no data
// either.
var errPeerRefused = errors.New("peer refused the request")

// faultError is a sync failure that is the peer's fault: it carries the
// offence to charge.
type faultError struct {
	off Offence
	err error
}

func (e *faultError) Error() string { return e.err.Error() }
func (e *faultError) Unwrap() error { return e.err }

// fault wraps a failure as the peer's offence.
func fault(o Offence, format string, args ...any) error {
	return &faultError{off: o, err: fmt.Errorf(format, args...)}
}

// offenceOf returns the offence a failed request charges the peer with:
// its own fault when it carries one, a stall for a deadline that passed, an
// oversized or malformed frame; false for anything that is nobody's fault
// (a reset, a refused stream, our own shutdown).
func offenceOf(err error) (Offence, bool) {
	var f *faultError
	switch {
	case errors.As(err, &f):
		return f.off, true
	case errors.Is(err, errOversized):
		return OffenceOversized, true
	case errors.Is(err, errUnexpectedType):
		return OffenceUnrequested, true
	case errors.Is(err, errMalformed):
		return OffenceMalformed, true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return OffenceStall, true
	}
	return 0, false
}

// isTimeout reports whether err is a deadline that passed, as the stream
// multiplexer reports it (yamux: "i/o deadline reached").
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// request runs one request/response exchange with a peer and returns the
// body of the response, which is of type want.
func (hst *Host) request(ctx context.Context, p peer.ID, req []byte, want byte) ([]byte, error) {
	if err := hst.pacer.wait(ctx, p); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, hst.cfg.RequestTimeout)
	defer cancel()
	// Never dial for a request: the peer may have been disconnected (or
	// evicted, or refused) since it was chosen, and dialling it back would
	// make an outbound connection no inbound limit holds.
	s, err := hst.h.NewStream(network.WithNoDial(ctx, "sync request"), p, protocol.ID(hst.names.sync))
	if err != nil {
		return nil, err
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
	if err := writeFrame(s, req); err != nil {
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		return nil, err
	}
	resp, err := readFrame(bufio.NewReader(s), maxResponse(want), responseLimit(want), nil)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
			return nil, fmt.Errorf("no answer within %s: %w", hst.cfg.RequestTimeout, context.DeadlineExceeded)
		}
		return nil, err
	}
	ok = true
	if resp[0] == msgError {
		return nil, fmt.Errorf("%w: %s", errPeerRefused, decodeError(resp[1:]))
	}
	return resp[1:], nil
}

func (hst *Host) requestStatus(ctx context.Context, p peer.ID) (Status, error) {
	body, err := hst.request(ctx, p, []byte{msgStatus}, msgStatusResp)
	if err != nil {
		return Status{}, err
	}
	return decodeStatus(body)
}

func (hst *Host) requestHeaders(ctx context.Context, p peer.ID, locator []chain.Hash) ([]chain.Header, error) {
	if len(locator) > maxLocator {
		locator = append(locator[:maxLocator-1:maxLocator-1], locator[len(locator)-1])
	}
	body, err := hst.request(ctx, p, encodeGetHeaders(locator, chain.Hash{}), msgHeaders)
	if err != nil {
		return nil, err
	}
	return decodeHeaders(body)
}

// requestBlocks asks for blocks by hash. The answer must be a prefix of
// what was asked, in order (a server trims a long answer; the client asks
// again for the rest); anything else is the peer's fault.
func (hst *Host) requestBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) ([]*chain.Block, error) {
	body, err := hst.request(ctx, p, encodeGetBlocks(hashes), msgBlocks)
	if err != nil {
		return nil, err
	}
	return decodeBlocksResponse(body, hashes, hst.cfg.Params.MaxBlockSize)
}

// decodeBlocksResponse decodes a blocks response to a request for want.
func decodeBlocksResponse(body []byte, want []chain.Hash, maxBlock int) ([]*chain.Block, error) {
	raws, err := decodeRaws(body, maxBlock)
	if err != nil {
		return nil, err
	}
	if len(raws) > len(want) {
		return nil, fault(OffenceUnrequested, "%d blocks answered to a request for %d", len(raws), len(want))
	}
	out := make([]*chain.Block, 0, len(raws))
	for i, raw := range raws {
		b, err := chain.DecodeBlock(raw, maxBlock)
		if err != nil {
			return nil, fault(OffenceMalformed, "undecodable block: %v", err)
		}
		if h := b.BlockHash(); h != want[i] {
			return nil, fault(OffenceUnrequested, "sent block %s, which was not asked for", h)
		}
		out = append(out, b)
	}
	return out, nil
}

func (hst *Host) requestMempool(ctx context.Context, p peer.ID) ([]*chain.Tx, error) {
	body, err := hst.request(ctx, p, []byte{msgGetMempool}, msgTxs)
	if err != nil {
		return nil, err
	}
	return decodeTxs(body, hst.cfg.Params.MaxTxSize())
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

// push sends txs to every peer, in as many requests as pushBytes needs.
func (hst *Host) push(ctx context.Context, txs []*chain.Tx) {
	var reqs [][]byte
	for len(txs) > 0 {
		req := encodeTxs(msgPushTxs, txs, pushMax)
		n := countRaws(req)
		if n == 0 {
			txs = txs[1:] // one transaction larger than a push: gossip had it
			continue
		}
		reqs = append(reqs, req)
		txs = txs[n:]
	}
	var wg sync.WaitGroup
	for _, p := range hst.h.Network().Peers() {
		wg.Go(func() {
			for _, req := range reqs {
				if _, err := hst.request(ctx, p, req, msgAck); err != nil {
					hst.log.Debug("push transactions", "peer", p.String(), "err", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// countRaws returns how many objects an encodeRaws message carries.
func countRaws(msg []byte) int {
	r := &wreader{b: msg[1:]}
	return int(r.varint())
}
