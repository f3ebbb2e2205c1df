package sharedstore

import "strings"

// node is a node of a persistent treap: never modified once built, so any
// number of versions may point at it. The tree is a binary search tree by
// key and a heap by prio, a hash of the key: its shape depends only on the
// keys it holds, not on the order they arrived in.
type node struct {
	key, val    string
	prio        uint64
	left, right *node
}

// priority is the heap priority of a key (FNV-1a, 64 bits): deterministic,
// so the same content gives the same tree on every run.
func priority(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// get returns the value of key in the tree rooted at n.
func get(n *node, key string) (string, bool) {
	for n != nil {
		switch c := strings.Compare(key, n.key); { // one comparison per node, not two
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n.val, true
		}
	}
	return "", false
}

// insert returns a tree with key set to val; n is left unchanged. Every
// node on the path to key is copied, the rest shared.
func insert(n *node, key, val string, prio uint64) *node {
	if n == nil {
		return &node{key: key, val: val, prio: prio}
	}
	c := *n
	switch {
	case key < n.key:
		l := insert(n.left, key, val, prio) // a fresh node: ours to change
		if l.prio > c.prio {
			c.left, l.right = l.right, &c
			return l
		}
		c.left = l
	case key > n.key:
		r := insert(n.right, key, val, prio)
		if r.prio > c.prio {
			c.right, r.left = r.left, &c
			return r
		}
		c.right = r
	default:
		c.val = val
	}
	return &c
}

// remove returns a tree without key, and whether key was there; n is left
// unchanged.
func remove(n *node, key string) (*node, bool) {
	if n == nil {
		return nil, false
	}
	switch {
	case key < n.key:
		l, ok := remove(n.left, key)
		if !ok {
			return n, false
		}
		c := *n
		c.left = l
		return &c, true
	case key > n.key:
		r, ok := remove(n.right, key)
		if !ok {
			return n, false
		}
		c := *n
		c.right = r
		return &c, true
	}
	return merge(n.left, n.right), true
}

// merge joins two trees, every key of a below every key of b.
func merge(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		c := *a
		c.right = merge(a.right, b)
		return &c
	}
	c := *b
	c.left = merge(a, b.left)
	return &c
}

// walk calls fn for every key with the prefix in ascending order, until fn
// returns an error.
func walk(n *node, prefix string, fn func(key, val string) error) error {
	if n == nil {
		return nil
	}
	if n.key > prefix {
		if err := walk(n.left, prefix, fn); err != nil {
			return err
		}
	}
	has := strings.HasPrefix(n.key, prefix)
	if has {
		if err := fn(n.key, n.val); err != nil {
			return err
		}
	}
	if n.key < prefix || has {
		return walk(n.right, prefix, fn)
	}
	return nil
}

// size counts the nodes of a tree (for tests).
func size(n *node) int {
	if n == nil {
		return 0
	}
	return 1 + size(n.left) + size(n.right)
}
