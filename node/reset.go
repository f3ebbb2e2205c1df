package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/minichain/minichain/node/badgerdb"
)

// ErrNoChainState is returned by ResetChain for a data directory that holds
// no chain state.
var ErrNoChainState = errors.New("no chain state")

// ResetChain deletes the chain state of a stopped node's data directory
// (blocks, UTXO set, mempool) and keeps its wallet and identity. It fails if
// a node is using the directory. confirm is asked, with the directory to be
// deleted, just before anything is deleted; an error from it deletes
// nothing and is returned.
func ResetChain(dataDir string, confirm func(chainDir string) error) error {
	dir := ChainDir(dataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return ErrNoChainState
	}
	// Badger locks its directory: if it opens, no node is using it.
	db, err := badgerdb.Open(dir, badgerdb.Options{})
	if err != nil {
		return fmt.Errorf("cannot open %s (is the node still running? stop it first): %w", dir, err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	if err := confirm(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}
