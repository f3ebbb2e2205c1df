package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/minichain/minichain/chain"
)

// Peer-score thresholds (LIBP2P-NOTES 1.5.1). A peer whose messages keep
// failing validation falls below the graylist and is then banned.
var scoreThresholds = &pubsub.PeerScoreThresholds{
	GossipThreshold:             -500,
	PublishThreshold:            -1000,
	GraylistThreshold:           -2500,
	AcceptPXThreshold:           100,
	OpportunisticGraftThreshold: 5,
}

func topicScore() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                  1,
		TimeInMeshWeight:             0.01,
		TimeInMeshQuantum:            time.Second,
		TimeInMeshCap:                300,
		FirstMessageDeliveriesWeight: 1,
		FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:    50,
		// No mesh-delivery penalty: a quiet block topic would punish
		// honest peers.
		MeshMessageDeliveriesWeight: 0,
		// Each invalid message counts; the penalty is the count squared
		// times the weight, so five invalid messages reach the graylist.
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

// messageID is the gossip message ID: the block hash for a block (the hash
// of its first 80 bytes) and the txid for a transaction (the hash of its
// canonical encoding), as DESIGN.md fixes. A block body that was tampered
// with shares its header's ID; when such a copy is rejected the real block is
// fetched over the sync protocol (BlockOutcome.Refetch).
func (hst *Host) messageID(m *pb.Message) string {
	data := m.GetData()
	if m.GetTopic() == hst.names.blockTopic && len(data) >= chain.HeaderSize {
		h := chain.DoubleSHA256(data[:chain.HeaderSize])
		return string(h[:])
	}
	h := chain.DoubleSHA256(data)
	return string(h[:])
}

// GossipSubParams are the mesh parameters of the node's gossipsub router
// (D, D_lo, D_hi, D_lazy, the heartbeat, the message cache window for
// IHAVE/IWANT). The simulator models the mesh with the same values, so a
// change here changes the model too.
func GossipSubParams() pubsub.GossipSubParams { return pubsub.DefaultGossipSubParams() }

// startGossip creates the gossipsub router, registers the validators and
// joins both topics.
func (hst *Host) startGossip(ctx context.Context) error {
	params := &pubsub.PeerScoreParams{
		Topics:            map[string]*pubsub.TopicScoreParams{hst.names.blockTopic: topicScore(), hst.names.txTopic: topicScore()},
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		// Nodes in tests and in a compose network share IP addresses or
		// a subnet: colocation is not a sign of a Sybil here.
		IPColocationFactorWeight:  0,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               10 * time.Minute,
	}
	ps, err := pubsub.NewGossipSub(ctx, hst.h,
		pubsub.WithGossipSubParams(GossipSubParams()),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(hst.messageID),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(true),
		pubsub.WithMaxMessageSize(MaxMessageSize(hst.cfg.Params)),
		pubsub.WithPeerOutboundQueueSize(256),
		pubsub.WithValidateQueueSize(256),
		pubsub.WithPeerScore(params, scoreThresholds),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(hst.inspectScores), time.Second),
		pubsub.WithLogger(hst.log.With("component", "gossipsub")),
	)
	if err != nil {
		return fmt.Errorf("start gossipsub: %w", err)
	}
	if err := ps.RegisterTopicValidator(hst.names.blockTopic, hst.validateBlock); err != nil {
		return err
	}
	if err := ps.RegisterTopicValidator(hst.names.txTopic, hst.validateTx); err != nil {
		return err
	}
	bt, err := ps.Join(hst.names.blockTopic)
	if err != nil {
		return err
	}
	tt, err := ps.Join(hst.names.txTopic)
	if err != nil {
		return err
	}
	hst.mu.Lock()
	hst.blockTopic, hst.txTopic = bt, tt
	hst.mu.Unlock()
	return nil
}

// inspectScores bans peers whose score fell below the graylist: gossipsub
// already ignores them; banning also drops the connection.
func (hst *Host) inspectScores(scores map[peer.ID]float64) {
	for p, s := range scores {
		if s < scoreThresholds.GraylistThreshold && !hst.gater.isBanned(p) {
			hst.BanPeer(p, hst.cfg.BanDuration, fmt.Sprintf("gossip score %.0f is below the graylist", s))
		}
	}
}

func toResult(v Verdict) pubsub.ValidationResult {
	switch v {
	case Accept:
		return pubsub.ValidationAccept
	case Reject:
		return pubsub.ValidationReject
	}
	return pubsub.ValidationIgnore
}

// validateBlock decodes and checks a gossiped block before it is relayed.
// Our own publications were checked when they were made.
func (hst *Host) validateBlock(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == hst.h.ID() {
		return pubsub.ValidationAccept
	}
	b, err := chain.DecodeBlock(m.Data, hst.cfg.Params.MaxBlockSize)
	if err != nil {
		hst.metrics.gossipIn("block", Reject)
		hst.log.Debug("undecodable block from peer", "peer", from.String(), "err", err)
		return pubsub.ValidationReject
	}
	out := hst.cfg.Handler.HandleBlock(ctx, from, b)
	hst.metrics.gossipIn("block", out.Verdict)
	if out.Missing != nil {
		hst.sync.orphanFrom(from, *out.Missing)
	}
	if out.Refetch {
		hst.sync.refetch(b.BlockHash(), from)
	}
	return toResult(out.Verdict)
}

// validateTx decodes and checks a gossiped transaction before it is
// relayed.
func (hst *Host) validateTx(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == hst.h.ID() {
		return pubsub.ValidationAccept
	}
	tx, err := chain.DecodeTx(m.Data, hst.cfg.Params.MaxTxSize())
	if err != nil {
		hst.metrics.gossipIn("tx", Reject)
		return pubsub.ValidationReject
	}
	v := hst.cfg.Handler.HandleTx(ctx, from, tx)
	hst.metrics.gossipIn("tx", v)
	return toResult(v)
}

// readLoop drains a topic subscription. Everything is processed in the
// validators before delivery, so delivered messages only need counting; the
// subscription is what makes the node part of the topic's mesh.
func (hst *Host) readLoop(ctx context.Context, t *pubsub.Topic) {
	sub, err := t.Subscribe(pubsub.WithBufferSize(256))
	if err != nil {
		hst.log.Error("subscribe", "topic", t.String(), "err", err)
		return
	}
	defer sub.Cancel()
	for {
		if _, err := sub.Next(ctx); err != nil {
			return
		}
	}
}

// PublishBlock announces a block to the network (NEW_BLOCK).
func (hst *Host) PublishBlock(ctx context.Context, b *chain.Block) error {
	data := b.Serialize()
	if len(data) > hst.cfg.Params.MaxBlockSize {
		return fmt.Errorf("%w: block of %d bytes", ErrTooLarge, len(data))
	}
	return hst.publish(ctx, "block", data)
}

// PublishTx announces a transaction to the network (NEW_TX).
func (hst *Host) PublishTx(ctx context.Context, tx *chain.Tx) error {
	data := tx.Serialize()
	if len(data) > hst.cfg.Params.MaxTxSize() {
		return fmt.Errorf("%w: transaction of %d bytes", ErrTooLarge, len(data))
	}
	return hst.publish(ctx, "tx", data)
}

func (hst *Host) publish(ctx context.Context, kind string, data []byte) error {
	hst.mu.Lock()
	t := hst.txTopic
	if kind == "block" {
		t = hst.blockTopic
	}
	running := hst.running
	hst.mu.Unlock()
	if !running || t == nil {
		return ErrNotRunning
	}
	if err := t.Publish(ctx, data); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil // shutting down: nothing went out, nothing to report
		}
		return fmt.Errorf("publish %s: %w", kind, err)
	}
	hst.metrics.gossipOut(kind)
	return nil
}
