package chain_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node/badgerdb"
)

const crashDirEnv = "MINICHAIN_CRASH_CHILD_DIR"

var (
	crashSeed    = flag.Int64("seed", 0, "TestCrashSafety: the seed of the kill times and the children's blocks (0: from the clock, logged)")
	crashKills   = flag.Int("kills", 16, "TestCrashSafety: how many times the child is killed")
	crashCache   = flag.Int64("statecache", 0, "TestCrashSafety: the chain-state cache size in bytes (0: the default)")
	crashJournal = flag.Int("journal", 0, "TestCrashSafety: flushes of more records than this go through the journal (0: the default)")
)

const (
	crashCacheEnv   = "MINICHAIN_CRASH_CACHE"
	crashJournalEnv = "MINICHAIN_CRASH_JOURNAL"
	// crashReadyEnv names a file the child creates once its chain is open,
	// so most kills land while it connects blocks, however slowly a
	// loaded machine (or -race) starts it.
	crashReadyEnv = "MINICHAIN_CRASH_READY"
)

// crashChainConfig is the chain configuration of TestCrashSafety and its
// child: the cache size and journal threshold come from the flags in the
// parent and from the environment in the child.
func crashChainConfig(db *badgerdb.DB) chain.Config {
	cacheBytes, journal := *crashCache, *crashJournal
	if v := os.Getenv(crashCacheEnv); v != "" {
		cacheBytes, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := os.Getenv(crashJournalEnv); v != "" {
		journal, _ = strconv.Atoi(v)
	}
	if journal > 0 {
		chain.SetFlushTxnLimitsForTest(journal, 1<<40)
	}
	return chain.Config{Params: chain.RegtestParams, DB: db, StateCacheBytes: cacheBytes}
}

// TestCrashSafety kills a child process that is connecting blocks and
// reorganising, with SIGKILL at random moments. After each kill the store is
// reopened: it must open, resume, and re-validate from genesis with a stored
// UTXO set equal to the one recomputed from the blocks. The seed is logged;
// -seed replays the same kill times and blocks (the moment each kill
// lands still depends on the machine's speed).
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process over and over")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -seed %d), state cache %d bytes, journal above %d records (0: defaults)",
		seed, seed, *crashCache, *crashJournal)
	dir, readyDir := t.TempDir(), t.TempDir()
	rng := rand.New(rand.NewSource(seed))
	kills := *crashKills
	var lastHeight int32
	reorgsSeen := 0
	for i := 0; i < kills; i++ {
		ready := filepath.Join(readyDir, fmt.Sprintf("ready-%d", i))
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "MINICHAIN_CRASH_SEED="+strconv.FormatInt(seed+int64(i), 10),
			crashCacheEnv+"="+strconv.FormatInt(*crashCache, 10), crashJournalEnv+"="+strconv.Itoa(*crashJournal),
			crashReadyEnv+"="+ready)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// One kill in four lands at a random moment from the start (in the
		// open, the replay or the first blocks); the others a random
		// while after the child said its chain is open.
		if rng.Intn(4) > 0 {
			waitReady(t, ready, 60*time.Second)
			time.Sleep(time.Duration(rng.Intn(600)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(150+rng.Intn(600)) * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			t.Fatalf("kill %d (seed %d): the child ended by itself (%v) before it was killed", i, seed, cmd.ProcessState)
		}

		db, err := badgerdb.Open(dir, badgerdb.Options{})
		if err != nil {
			t.Fatalf("kill %d (seed %d): reopen: %v", i, seed, err)
		}
		c, err := chain.New(crashChainConfig(db))
		if err != nil {
			db.Close()
			t.Fatalf("kill %d (seed %d): open chain: %v", i, seed, err)
		}
		rep, err := c.ValidateChain(context.Background(), chaintest.Now, nil)
		if err != nil || !rep.Valid {
			db.Close()
			t.Fatalf("kill %d (seed %d): chain inconsistent after SIGKILL: %+v %v", i, seed, rep, err)
		}
		for _, tip := range c.Tips() {
			if !tip.MainChain {
				reorgsSeen++
				break
			}
		}
		lastHeight = rep.Height
		db.Close()
	}
	if lastHeight < 10 {
		t.Fatalf("the child made little progress: height %d", lastHeight)
	}
	if reorgsSeen == 0 {
		t.Fatal("no side branch was ever stored: the reorg path was not exercised")
	}
	t.Logf("%d kills, final height %d", kills, lastHeight)
}

// TestCrashChild is the child process of TestCrashSafety; it does nothing
// unless started by it. It extends the chain and regularly builds a longer
// side branch to force reorganisations, for at most 30 s.
// waitReady waits until the child has created path (its chain is open),
// or fails the test after limit: a child that cannot open its store in a
// minute is a failure in itself.
func waitReady(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("the child did not open its chain within %v", limit)
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestCrashSafety's child")
	}
	seed, _ := strconv.ParseInt(os.Getenv("MINICHAIN_CRASH_SEED"), 10, 64)
	rng := rand.New(rand.NewSource(seed))
	db, err := badgerdb.Open(dir, badgerdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := chain.RegtestParams
	c, err := chain.New(crashChainConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(crashReadyEnv), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	miner := chaintest.NewKey("crash miner")
	// build makes a block on parent; it spends one of the miner's main-chain
	// outputs created at or below maxUtxoHeight that is not in used.
	build := func(parent chain.Hash, maxUtxoHeight int32, used map[chain.OutPoint]bool) *chain.Block {
		hdr, height, err := c.HeaderByHash(parent)
		if err != nil {
			t.Fatal(err)
		}
		h := height + 1
		extra := make([]byte, 8)
		rng.Read(extra)
		txs := []*chain.Tx{chaintest.Coinbase(h, miner.Script, chain.CalcBlockSubsidy(h, p), extra)}
		if maxUtxoHeight >= 0 {
			utxos, _ := c.AddressUtxos(miner.PKH)
			for _, u := range utxos {
				if used[u.OutPoint] || u.Height > maxUtxoHeight || u.Value < 100_000 {
					continue
				}
				if !u.IsCoinbase || h-u.Height > p.CoinbaseMaturity+5 {
					used[u.OutPoint] = true
					half := u.Value / 2
					txs = append(txs, chaintest.Spend([]chaintest.Prev{{OutPoint: u.OutPoint, Value: u.Value, Key: miner}},
						[]chain.TxOut{{Value: half, PkScript: miner.Script}, {Value: u.Value - half - 1000, PkScript: miner.Script}}))
					break
				}
			}
		}
		return chaintest.SolveBlock(p, parent, p.PowLimitBits, hdr.Timestamp+1, txs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		best := c.BestSnapshot()
		if i%5 == 4 && best.Height > 4 {
			// Fork 3 blocks back and build 5: the branch overtakes.
			forkHeight := best.Height - 3
			parent, _ := c.BlockHashByHeight(forkHeight)
			used := map[chain.OutPoint]bool{}
			for j := 0; j < 5; j++ {
				b := build(parent, forkHeight, used)
				if _, err := c.ProcessBlock(b, chaintest.Now); err != nil {
					t.Fatal(err)
				}
				parent = b.BlockHash()
			}
			continue
		}
		if _, err := c.ProcessBlock(build(best.Hash, best.Height, map[chain.OutPoint]bool{}), chaintest.Now); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
}
