package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/minichain/minichain/chain/store"
)

func eachStore(t *testing.T, fn func(t *testing.T, db store.DB)) {
	t.Run("memory", func(t *testing.T) { fn(t, store.NewMemory()) })
	t.Run("badger", func(t *testing.T) {
		db, err := store.OpenBadger(t.TempDir(), store.BadgerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
}

func TestStoreContract(t *testing.T) {
	eachStore(t, func(t *testing.T, db store.DB) {
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
	})
}

func TestBadgerReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := store.OpenBadger(dir, store.BadgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10) // goes to the value log
	big[7] = 7
	if err := db.Update(func(tx store.Txn) error { return tx.Set([]byte("big"), big) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.OpenBadger(dir, store.BadgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx store.Txn) error {
		v, err := tx.Get([]byte("big"))
		if err != nil || len(v) != len(big) || v[7] != 7 {
			return fmt.Errorf("after reopen: %d bytes, %v", len(v), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestClosedStore(t *testing.T) {
	eachStore(t, func(t *testing.T, db store.DB) {
		db.Close()
		if err := db.View(func(store.Txn) error { return nil }); err == nil {
			t.Fatal("View on a closed store succeeded")
		}
	})
}

// TestBadgerReopensAfterKillDuringFileCreation: a process killed right
// after Badger created a new value-log or memtable file, before it wrote a
// byte, leaves an empty file that Badger v4.9.6 refuses to open ("Create a
// new file"). OpenBadger repairs that and loses nothing.
func TestBadgerReopensAfterKillDuringFileCreation(t *testing.T) {
	// Badger names value logs %06d.vlog and memtables %05d.mem.
	for ext, name := range map[string]string{".vlog": "000099.vlog", ".mem": "00099.mem"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			db, err := store.OpenBadger(dir, store.BadgerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx store.Txn) error { return tx.Set([]byte("k"), make([]byte, 4096)) }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			// What a kill between create and truncate leaves behind.
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			db, err = store.OpenBadger(dir, store.BadgerOptions{})
			if err != nil {
				t.Fatalf("reopen with an empty %s file: %v", ext, err)
			}
			defer db.Close()
			err = db.View(func(tx store.Txn) error {
				v, err := tx.Get([]byte("k"))
				if err != nil || len(v) != 4096 {
					return fmt.Errorf("data after repair: %d bytes, %v", len(v), err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
