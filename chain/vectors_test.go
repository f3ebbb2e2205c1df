package chain

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// loadJSON decodes a file under testdata/ into v.
func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

type headerVector struct {
	Height     int32  `json:"height"`
	HeaderHex  string `json:"header_hex"`
	Hash       string `json:"hash"`
	Version    int32  `json:"version"`
	PrevBlock  string `json:"prev_block"`
	MerkleRoot string `json:"merkle_root"`
	Time       uint32 `json:"time"`
	Bits       string `json:"bits"`
	Nonce      uint32 `json:"nonce"`
}

type genesisFile struct {
	MainnetGenesis headerVector      `json:"mainnet_genesis"`
	Block1         headerVector      `json:"block1"`
	Block2         headerVector      `json:"block2"`
	Headers        []headerVector    `json:"headers_1_to_11"`
	Hashes         map[string]string `json:"hashes_0_to_10"`
}

type merkleFile struct {
	Blocks []struct {
		Height     int      `json:"height"`
		TxCount    int      `json:"tx_count"`
		MerkleRoot string   `json:"merkle_root"`
		TxIDs      []string `json:"txids"`
		RawTxs     []string `json:"raw_txs_hex"`
	} `json:"blocks"`
}
