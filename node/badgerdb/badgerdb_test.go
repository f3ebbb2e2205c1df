package badgerdb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/chain/store/storetest"
	"github.com/minichain/minichain/node/badgerdb"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB {
		db, err := badgerdb.Open(t.TempDir(), badgerdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestBadgerReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := badgerdb.Open(dir, badgerdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10) // goes to the value log
	big[7] = 7
	if err := db.Update(func(tx store.Txn) error { return tx.Set([]byte("big"), big) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = badgerdb.Open(dir, badgerdb.Options{})
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

// TestBadgerReopensAfterKillDuringFileCreation: a process killed right
// after Badger created a new value-log or memtable file, before it wrote a
// byte, leaves an empty file that Badger v4.9.6 refuses to open ("Create a
// new file"). Open repairs that and loses nothing.
func TestBadgerReopensAfterKillDuringFileCreation(t *testing.T) {
	// Badger names value logs %06d.vlog and memtables %05d.mem.
	for ext, name := range map[string]string{".vlog": "000099.vlog", ".mem": "00099.mem"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			db, err := badgerdb.Open(dir, badgerdb.Options{})
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
			db, err = badgerdb.Open(dir, badgerdb.Options{})
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
