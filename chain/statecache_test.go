package chain

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/minichain/minichain/chain/store"
)

// dump returns every record of db.
func dump(t *testing.T, db store.DB) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := db.View(func(tx store.Txn) error {
		return tx.Iterate(nil, func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeLimitDB fails every write after the first n: a process that dies
// at that moment.
type writeLimitDB struct {
	store.DB
	mu sync.Mutex
	n  int
}

var errDied = errors.New("process died")

func (d *writeLimitDB) Update(fn func(store.Txn) error) error {
	d.mu.Lock()
	if d.n == 0 {
		d.mu.Unlock()
		return errDied
	}
	d.n--
	d.mu.Unlock()
	return d.DB.Update(fn)
}

// TestJournalFlushIsAtomic cuts a journaled flush short after every
// possible number of writes, then recovers as open does: the store must
// hold exactly the state before the flush or exactly the state after it,
// and no journal records.
func TestJournalFlushIsAtomic(t *testing.T) {
	defer func(e int, b int64) { flushTxnMaxEntries, flushTxnMaxBytes = e, b }(flushTxnMaxEntries, flushTxnMaxBytes)
	flushTxnMaxEntries, flushTxnMaxBytes = 6, 1<<20

	before := map[string]string{}
	for i := 0; i < 20; i++ {
		before[fmt.Sprintf("u%02d", i)] = fmt.Sprintf("old%d", i)
	}
	before[string(keyTip)] = "tip-old"
	// The flush deletes the even keys, rewrites the odd ones, adds new ones
	// and moves the tip.
	changes := func(sc *stateCache) {
		err := sc.apply(func(tx store.Txn) error {
			for i := 0; i < 30; i++ {
				k := []byte(fmt.Sprintf("u%02d", i))
				var err error
				if i < 20 && i%2 == 0 {
					err = tx.Delete(k)
				} else {
					err = tx.Set(k, []byte(fmt.Sprintf("new%d", i)))
				}
				if err != nil {
					return err
				}
			}
			return tx.Set(keyTip, []byte("tip-new"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; ; n++ {
		mem := store.NewMemory()
		err := mem.Update(func(tx store.Txn) error {
			for k, v := range before {
				if err := tx.Set([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db := &writeLimitDB{DB: mem, n: n}
		sc := newStateCache(db, 1<<20, nil)
		changes(sc)
		tip := &blockNode{height: 1}
		ferr := sc.flush(tip)
		if ferr != nil && !errors.Is(ferr, errDied) {
			t.Fatalf("writes %d: %v", n, ferr)
		}
		if ferr == nil && !sc.last.Journal {
			t.Fatal("the flush did not go through the journal")
		}
		if _, err := recoverJournal(mem); err != nil {
			t.Fatalf("writes %d: recover: %v", n, err)
		}
		got := dump(t, mem)
		if ferr == nil {
			if got[string(keyTip)] != "tip-new" || got["u00"] != "" || got["u01"] != "new1" || got["u29"] != "new29" {
				t.Fatalf("completed flush left %v", got)
			}
			t.Logf("flush took %d writes", n)
			return
		}
		switch got[string(keyTip)] {
		case "tip-old":
			if !maps.Equal(got, before) {
				t.Fatalf("writes %d: tip is old but the records are %v", n, got)
			}
		case "tip-new":
			want := map[string]string{string(keyTip): "tip-new"}
			for i := 0; i < 30; i++ {
				if i >= 20 || i%2 == 1 {
					want[fmt.Sprintf("u%02d", i)] = fmt.Sprintf("new%d", i)
				}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("writes %d: tip is new but the records are %v", n, got)
			}
		default:
			t.Fatalf("writes %d: tip %q", n, got[string(keyTip)])
		}
		if n > 100 {
			t.Fatal("the flush never completed")
		}
	}
}

// TestOverlayIterateMerges: reads through the cache see cached records over
// stored ones, in key order, with cached deletions hiding stored records.
func TestOverlayIterateMerges(t *testing.T) {
	mem := store.NewMemory()
	err := mem.Update(func(tx store.Txn) error {
		for _, k := range []string{"a1", "a3", "a5", "b1"} {
			if err := tx.Set([]byte(k), []byte("s"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := newStateCache(mem, 1<<20, nil)
	err = sc.apply(func(tx store.Txn) error {
		tx.Set([]byte("a0"), []byte("ca0"))
		tx.Set([]byte("a3"), []byte("ca3"))
		tx.Delete([]byte("a5"))
		tx.Set([]byte("a9"), []byte("ca9"))
		tx.Delete([]byte("a7"))
		return tx.Set([]byte("b0"), []byte("cb0"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = sc.view(func(tx store.Txn) error {
		if v, err := tx.Get([]byte("a3")); err != nil || string(v) != "ca3" {
			return fmt.Errorf("get a3: %q %v", v, err)
		}
		if _, err := tx.Get([]byte("a5")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get a deleted key: %v", err)
		}
		return tx.Iterate([]byte("a"), func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[a0=ca0 a1=sa1 a3=ca3 a9=ca9]"
	if fmt.Sprint(got) != want {
		t.Fatalf("iterate: %v, want %s", got, want)
	}
	if s := sc.stats(); s.Records != 6 || s.Bytes <= 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestRecoverDropsUndecidedJournal: journal chunks without the marker are
// a flush that never got decided; recovery deletes them and changes
// nothing else.
func TestRecoverDropsUndecidedJournal(t *testing.T) {
	mem := store.NewMemory()
	err := mem.Update(func(tx store.Txn) error {
		if err := tx.Set(journalKey(0), []byte{1, 1, 'k', 1, 1, 'v'}); err != nil {
			return err
		}
		return tx.Set([]byte("x"), []byte("y"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if done, err := recoverJournal(mem); err != nil || done {
		t.Fatalf("recover: %v %v", done, err)
	}
	if got := dump(t, mem); !maps.Equal(got, map[string]string{"x": "y"}) {
		t.Fatalf("after recovery: %v", got)
	}
}

// unboundedDB is a store.Memory that says one Update may be of any size.
type unboundedDB struct{ store.DB }

func (unboundedDB) UnboundedUpdates() bool { return true }

// TestUnboundedFlushSkipsJournal checks that a flush over the journal's
// bounds goes to a DB with unbounded Updates in one Update, without a
// journal, and writes every record.
func TestUnboundedFlushSkipsJournal(t *testing.T) {
	defer func(e int, b int64) { flushTxnMaxEntries, flushTxnMaxBytes = e, b }(flushTxnMaxEntries, flushTxnMaxBytes)
	flushTxnMaxEntries, flushTxnMaxBytes = 6, 1<<20
	mem := store.NewMemory()
	db := unboundedDB{&writeLimitDB{DB: mem, n: 1}}
	sc := newStateCache(db, 1<<20, nil)
	err := sc.apply(func(tx store.Txn) error {
		for i := 0; i < 30; i++ {
			if err := tx.Set([]byte(fmt.Sprintf("u%02d", i)), []byte{byte(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// writeLimitDB allows one Update: a journal would need more.
	if err := sc.flush(&blockNode{height: 1}); err != nil {
		t.Fatal(err)
	}
	if sc.last.Journal || sc.last.Records != 30 {
		t.Fatalf("flush: %+v, want 30 records without a journal", sc.last)
	}
	err = mem.View(func(tx store.Txn) error {
		for i := 0; i < 30; i++ {
			if v, err := tx.Get([]byte(fmt.Sprintf("u%02d", i))); err != nil || len(v) != 1 || v[0] != byte(i) {
				return fmt.Errorf("u%02d: %x %v", i, v, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
