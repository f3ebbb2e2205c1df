package chain

import (
	"context"
	"errors"
	"sync"
)

// EventType says what happened to the chain.
type EventType int

// Event types, in the order they are published for one change of tip: the
// blocks disconnected (tip first), the blocks connected (lowest first), then
// one TipChanged.
const (
	BlockConnected EventType = iota + 1
	BlockDisconnected
	TipChanged
)

var eventTypeNames = map[EventType]string{
	BlockConnected: "block_connected", BlockDisconnected: "block_disconnected", TipChanged: "tip_changed",
}

// String names the event type.
func (t EventType) String() string { return eventTypeNames[t] }

// Event is one change of the main chain. Block is set for BlockConnected and
// BlockDisconnected; for TipChanged, Hash and Height name the new tip and
// ReorgDepth counts the blocks disconnected on the way (0 for a plain
// extension).
type Event struct {
	Type       EventType
	Hash       Hash
	Height     int32
	Block      *Block
	ReorgDepth int
}

// ErrLagged is returned once by Subscription.Next after the subscriber fell
// so far behind that events were dropped; it should resynchronise from the
// chain's current state.
var ErrLagged = errors.New("chain: subscriber lagged, events were dropped")

// ErrSubscriptionClosed is returned by Next after Close.
var ErrSubscriptionClosed = errors.New("chain: subscription closed")

// eventHub fans events out to subscriptions. Publishing appends to each
// subscriber's own queue and never blocks, so a slow subscriber cannot stall
// block processing; a subscriber whose queue is full loses its oldest events
// and is told so.
type eventHub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription is a queue of chain events for one consumer. It is safe for
// concurrent use.
type Subscription struct {
	hub    *eventHub
	max    int
	notify chan struct{}

	mu     sync.Mutex
	queue  []Event
	lagged bool
	closed bool
}

func newEventHub() *eventHub { return &eventHub{subs: make(map[*Subscription]struct{})} }

// DefaultSubscriptionQueue is the queue length Subscribe uses for 0.
const DefaultSubscriptionQueue = 4096

func (h *eventHub) subscribe(max int) *Subscription {
	if max <= 0 {
		max = DefaultSubscriptionQueue
	}
	s := &Subscription{hub: h, max: max, notify: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *eventHub) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(events)
	}
}

func (s *Subscription) push(events []Event) {
	s.mu.Lock()
	s.queue = append(s.queue, events...)
	if over := len(s.queue) - s.max; over > 0 {
		s.queue = append(s.queue[:0:0], s.queue[over:]...)
		s.lagged = true
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting until one arrives or ctx ends. After
// events were dropped it returns ErrLagged once before going on.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return Event{}, ErrSubscriptionClosed
		case s.lagged:
			s.lagged = false
			s.mu.Unlock()
			return Event{}, ErrLagged
		case len(s.queue) > 0:
			ev := s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-s.notify:
		}
	}
}

// Close stops delivery; a pending or later Next returns
// ErrSubscriptionClosed.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
