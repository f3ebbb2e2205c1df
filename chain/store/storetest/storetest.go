// Package storetest is the contract every store.DB implementation must
// keep, as tests: the in-memory store and the node's Badger store run the
// same ones.
package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minichain/minichain/chain/store"
)

// Run runs the contract against stores made by open; each subtest gets a
// fresh, empty one, which open arranges to close.
func Run(t *testing.T, open func(t *testing.T) store.DB) {
	t.Run("contract", func(t *testing.T) { contract(t, open(t)) })
	t.Run("closed", func(t *testing.T) { closed(t, open(t)) })
	t.Run("unsynced", func(t *testing.T) { unsynced(t, open(t)) })
}

// unsynced: store.UpdateUnsynced is atomic and visible at once like Update,
// whether or not the store implements store.UnsyncedUpdater.
func unsynced(t *testing.T, db store.DB) {
	err := store.UpdateUnsynced(db, func(tx store.Txn) error {
		if err := tx.Set([]byte("a"), []byte("1")); err != nil {
			return err
		}
		return tx.Set([]byte("b"), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	fail := errors.New("fail")
	err = store.UpdateUnsynced(db, func(tx store.Txn) error {
		if err := tx.Set([]byte("a"), []byte("changed")); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("failing unsynced update returned %v", err)
	}
	err = db.View(func(tx store.Txn) error {
		for k, want := range map[string]string{"a": "1", "b": "2"} {
			v, err := tx.Get([]byte(k))
			if err != nil || string(v) != want {
				return fmt.Errorf("%s = %q, %v; want %q", k, v, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// contract: reads see an update's own writes, a failing update writes
// nothing, View is read-only, Iterate walks a prefix in key order and stops
// at its callback's error, empty values and deletes work.
func contract(t *testing.T, db store.DB) {
	err := db.Update(func(tx store.Txn) error {
		for i := 0; i < 5; i++ {
			if err := tx.Set([]byte(fmt.Sprintf("k%d", i)), []byte{byte(i)}); err != nil {
				return err
			}
		}
		// Reads see the transaction's own writes.
		v, err := tx.Get([]byte("k3"))
		if err != nil || v[0] != 3 {
			return fmt.Errorf("read own write: %v %v", v, err)
		}
		return tx.Set([]byte("other"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing Update writes nothing.
	boom := errors.New("boom")
	err = db.Update(func(tx store.Txn) error {
		_ = tx.Set([]byte("k9"), []byte{9})
		_ = tx.Delete([]byte("k0"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	err = db.View(func(tx store.Txn) error {
		if _, err := tx.Get([]byte("k9")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("k9 written by a failed update: %v", err)
		}
		if _, err := tx.Get([]byte("k0")); err != nil {
			return fmt.Errorf("k0 deleted by a failed update: %v", err)
		}
		if err := tx.Set([]byte("x"), nil); err == nil {
			return errors.New("Set inside View succeeded")
		}
		var keys []string
		err := tx.Iterate([]byte("k"), func(k, v []byte) error {
			keys = append(keys, string(k))
			return nil
		})
		if err != nil {
			return err
		}
		if fmt.Sprint(keys) != "[k0 k1 k2 k3 k4]" {
			return fmt.Errorf("iterate: %v", keys)
		}
		v, err := tx.Get([]byte("other"))
		if err != nil || len(v) != 0 {
			return fmt.Errorf("empty value: %v %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Delete, and iteration stops at the callback's error.
	if err := db.Update(func(tx store.Txn) error { return tx.Delete([]byte("k2")) }); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	err = db.View(func(tx store.Txn) error {
		return tx.Iterate([]byte("k"), func(k, v []byte) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("iterate stop: %v %d", err, n)
	}
}

// closed: a closed store refuses work.
func closed(t *testing.T, db store.DB) {
	db.Close()
	if err := db.View(func(store.Txn) error { return nil }); err == nil {
		t.Fatal("View on a closed store succeeded")
	}
}
