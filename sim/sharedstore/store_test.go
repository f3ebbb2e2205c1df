package sharedstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/chain/store/storetest"
)

// TestContract: a Store keeps the store.DB contract the chain relies on.
func TestContract(t *testing.T) {
	p := NewPool()
	storetest.Run(t, func(t *testing.T) store.DB {
		s := p.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestMatchesMemory runs random updates (sets, deletes, overwrites, a
// failing update now and then) against a Store and a store.Memory and
// compares every key and every prefix walk after each.
func TestMatchesMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := NewPool()
	s, m := p.New(), store.NewMemory()
	keyOf := func() []byte { return []byte(fmt.Sprintf("%c%03d", 'a'+r.IntN(4), r.IntN(300))) }
	for round := 0; round < 300; round++ {
		fail := r.IntN(10) == 0
		var ops [][2][]byte
		for i := r.IntN(20); i >= 0; i-- {
			var v []byte
			if r.IntN(3) > 0 {
				v = bytes.Repeat([]byte{byte(r.IntN(256))}, r.IntN(100))
			}
			ops = append(ops, [2][]byte{keyOf(), v})
		}
		apply := func(tx store.Txn) error {
			for _, op := range ops {
				var err error
				if op[1] == nil {
					err = tx.Delete(op[0])
				} else {
					err = tx.Set(op[0], op[1])
				}
				if err != nil {
					return err
				}
			}
			if fail {
				return fmt.Errorf("fail")
			}
			return nil
		}
		errS, errM := s.Update(apply), m.Update(apply)
		if (errS == nil) != (errM == nil) {
			t.Fatalf("round %d: %v vs %v", round, errS, errM)
		}
		for _, prefix := range []string{"", "a", "b0", "c12", "d299", "e"} {
			if a, b := dump(t, s, prefix), dump(t, m, prefix); a != b {
				t.Fatalf("round %d, prefix %q:\n%s\nwant\n%s", round, prefix, a, b)
			}
		}
	}
}

func dump(t *testing.T, db store.DB, prefix string) string {
	t.Helper()
	var b strings.Builder
	err := db.View(func(tx store.Txn) error {
		return tx.Iterate([]byte(prefix), func(k, v []byte) error {
			got, err := tx.Get(k)
			if err != nil || !bytes.Equal(got, v) {
				return fmt.Errorf("get %q: %x %v, iterate gave %x", k, got, err, v)
			}
			fmt.Fprintf(&b, "%s=%x\n", k, v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestVersionsShared: stores applying the same writes to the same version
// end on one shared version; different writes make a new one that shares
// every node it did not touch; big values are held once.
func TestVersionsShared(t *testing.T) {
	p := NewPool()
	block := bytes.Repeat([]byte("block"), 100)
	stores := []*Store{p.New(), p.New(), p.New()}
	for _, s := range stores {
		for i := 0; i < 50; i++ {
			if err := s.Update(func(tx store.Txn) error {
				return tx.Set([]byte(fmt.Sprintf("u%03d", i)), []byte{byte(i)})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := p.Stats(); st.Versions != 50 || st.Shared != 100 {
		t.Fatalf("three stores, same 50 updates: %+v, want 50 versions, 100 shared", st)
	}
	if stores[0].cur != stores[2].cur {
		t.Fatal("stores with the same history do not share their version")
	}
	// Store 1 diverges by one key; store 2 writes the same block another way.
	set := func(s *Store, kv ...string) {
		if err := s.Update(func(tx store.Txn) error {
			for i := 0; i < len(kv); i += 2 {
				v := []byte(kv[i+1])
				if kv[i+1] == "BLOCK" {
					v = block
				}
				if err := tx.Set([]byte(kv[i]), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(stores[0], "b1", "BLOCK")
	set(stores[1], "x", "1", "b1", "BLOCK")
	set(stores[2], "b2", "BLOCK")
	if st := p.Stats(); st.Values != 1 || st.ValueBytes != int64(len(block)) {
		t.Fatalf("one block stored three ways: %+v", st)
	}
	before, after := stores[0].cur.root, stores[1].cur.root
	if size(before) != 51 || size(after) != 52 {
		t.Fatalf("sizes %d, %d", size(before), size(after))
	}
	if shared := sharedNodes(before, after); shared < 51-2*depth(before) {
		t.Fatalf("versions differing by one key share only %d of 51 nodes", shared)
	}
}

// sharedNodes counts the nodes of b that are nodes of a.
func sharedNodes(a, b *node) int {
	in := map[*node]bool{}
	var mark func(n *node)
	mark = func(n *node) {
		if n != nil {
			in[n] = true
			mark(n.left)
			mark(n.right)
		}
	}
	mark(a)
	count := 0
	var visit func(n *node)
	visit = func(n *node) {
		if n != nil {
			if in[n] {
				count++
			}
			visit(n.left)
			visit(n.right)
		}
	}
	visit(b)
	return count
}

func depth(n *node) int {
	if n == nil {
		return 0
	}
	return 1 + max(depth(n.left), depth(n.right))
}

// TestShapeIndependentOfOrder: the treap is a function of its keys.
func TestShapeIndependentOfOrder(t *testing.T) {
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	build := func(order []string) *node {
		var root *node
		for _, k := range order {
			root = insert(root, k, "v", priority(k))
		}
		return root
	}
	a := build(keys)
	shuffled := slices.Clone(keys)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := build(shuffled)
	var shape func(n *node) string
	shape = func(n *node) string {
		if n == nil {
			return "."
		}
		return "(" + shape(n.left) + n.key + shape(n.right) + ")"
	}
	if shape(a) != shape(b) {
		t.Fatal("the same keys in another order give another tree")
	}
	if d := depth(a); d > 40 {
		t.Fatalf("depth %d for 200 keys", d)
	}
}

// TestFork checks that a forked store starts with its source's content,
// sharing its version, and that the two then change independently.
func TestFork(t *testing.T) {
	p := NewPool()
	src := p.New()
	put := func(s *Store, k, v string) {
		t.Helper()
		if err := s.Update(func(tx store.Txn) error { return tx.Set([]byte(k), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	put(src, "a", "1")
	fork := src.Fork()
	if fork.cur != src.cur {
		t.Fatal("a fork does not share its source's version")
	}
	put(fork, "b", "2")
	put(src, "a", "3")
	if got, want := dump(t, src, ""), "a=33\n"; got != want {
		t.Fatalf("source after the fork's write: %q, want %q", got, want)
	}
	if got, want := dump(t, fork, ""), "a=31\nb=32\n"; got != want {
		t.Fatalf("fork: %q, want %q", got, want)
	}
	if !store.Unbounded(fork) {
		t.Fatal("a shared store's Update should be unbounded")
	}
}
