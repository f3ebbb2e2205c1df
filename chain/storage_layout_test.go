package chain

import (
	"encoding/hex"
	"testing"

	"github.com/minichain/minichain/chain/store"
)

// TestStorageLayoutExample pins the worked examples of docs/STORAGE.md: the
// records a fresh regtest store holds after writing the genesis block.
func TestStorageLayoutExample(t *testing.T) {
	db := store.NewMemory()
	if _, err := New(Config{Params: RegtestParams, DB: db}); err != nil {
		t.Fatal(err)
	}
	const (
		hash = "b4398fe257aacc29f1c554fb5a1cdfc264224c2fad417814875419226d85da74"
		txid = "7f31727bf81866c96f969a3f50c5d862c511d0a55c21da7f504175eb6694bd9b"
		pkh  = "5062a1558f46df56f92683dc2d56628f36b84bfa"
	)
	want := map[string]string{
		"h" + "00000000":                        hash,
		"u" + txid + "00000000":                 "00407a10f35a00000000000000" + "76a914" + pkh + "88ac",
		"o" + pkh + txid + "00000000":           "00407a10f35a00000000000000",
		"a" + pkh + "0000000000000000":          txid + "00407a10f35a0000" + "0000000000000000",
		"t" + txid:                              hash + "00000000",
		"m" + hex.EncodeToString([]byte("tip")): hash,
		"i" + hash: "01000000" + "0000000000000000000000000000000000000000000000000000000000000000" + txid +
			"80ab1f69" + "ffff7f20" + "06000000" + "00000000" + "01" + "0000000000000000",
	}
	err := db.View(func(tx store.Txn) error {
		for k, v := range want {
			key, _ := hex.DecodeString(k[1:])
			got, err := tx.Get(append([]byte{k[0]}, key...))
			if err != nil {
				t.Errorf("key %s: %v", k, err)
				continue
			}
			if hex.EncodeToString(got) != v {
				t.Errorf("key %s:\n got %x\nwant %s", k, got, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestJournalChunkLayout pins the journal chunk example of
// docs/STORAGE.md: a set of "u1" to "v" and a deletion of "u2".
func TestJournalChunkLayout(t *testing.T) {
	sc := newStateCache(store.NewMemory(), 1<<20, nil)
	err := sc.apply(func(tx store.Txn) error {
		if err := tx.Set([]byte("u1"), []byte("v")); err != nil {
			return err
		}
		return tx.Delete([]byte("u2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	got := hex.EncodeToString(sc.encodeChunk([]string{"u1", "u2"}))
	if want := "02" + "027531" + "01" + "0176" + "027532" + "00"; got != want {
		t.Fatalf("chunk %s, want %s", got, want)
	}
	if hex.EncodeToString(journalKey(3)) != "6a00000003" {
		t.Fatalf("journal key %x", journalKey(3))
	}
}
