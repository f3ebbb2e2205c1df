package store_test

import (
	"testing"

	"github.com/minichain/minichain/chain/store"
	"github.com/minichain/minichain/chain/store/storetest"
)

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.DB { return store.NewMemory() })
}
