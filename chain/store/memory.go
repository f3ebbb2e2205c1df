package store

import (
	"bytes"
	"sort"
	"strings"
	"sync"
)

// Memory is a DB held in a map, for tests and the simulator. Updates are
// serialized and applied atomically; Views read a consistent state.
type Memory struct {
	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

var _ DB = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{data: make(map[string][]byte)} }

// View runs fn under a read lock.
func (m *Memory) View(fn func(Txn) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return fn(&memTxn{m: m})
}

// Update runs fn against a private overlay and applies it if fn succeeds.
func (m *Memory) Update(fn func(Txn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := &memTxn{m: m, writes: make(map[string][]byte), writable: true}
	if err := fn(t); err != nil {
		return err
	}
	for k, v := range t.writes {
		if v == nil {
			delete(m.data, k)
		} else {
			m.data[k] = v
		}
	}
	return nil
}

// Close marks the store closed; later calls return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

type memTxn struct {
	m        *Memory
	writes   map[string][]byte // nil value: deleted
	writable bool
}

func (t *memTxn) Get(key []byte) ([]byte, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, ErrNotFound
		}
		return bytes.Clone(v), nil
	}
	v, ok := t.m.data[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTxn) Set(key, value []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	t.writes[string(key)] = bytes.Clone(value)
	return nil
}

func (t *memTxn) Delete(key []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	t.writes[string(key)] = nil
	return nil
}

func (t *memTxn) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	p := string(prefix)
	seen := make(map[string][]byte)
	for k, v := range t.m.data {
		if strings.HasPrefix(k, p) {
			seen[k] = v
		}
	}
	for k, v := range t.writes {
		if strings.HasPrefix(k, p) {
			seen[k] = v
		}
	}
	keys := make([]string, 0, len(seen))
	for k, v := range seen {
		if v != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn([]byte(k), seen[k]); err != nil {
			return err
		}
	}
	return nil
}
