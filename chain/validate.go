package chain

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Validation is split by the context each check needs, as btcd does:
//   - sanity checks need nothing but the object and the parameters;
//   - header context checks need the parent block (its bits, time and
//     ancestors) and the current time;
//   - connect checks need a UTXO view of the chain the block extends.

// LockTimeThreshold separates lock times that are heights (below) from those
// that are unix times (at or above).
const LockTimeThreshold = 500_000_000

// CheckTxSanity runs the context-free checks of a transaction.
func CheckTxSanity(tx *Tx, p *Params) (err error) {
	defer ContainPanic(&err)
	if len(tx.TxIn) == 0 {
		return ruleError(ErrNoTxInputs, "transaction has no inputs")
	}
	if len(tx.TxOut) == 0 {
		return ruleError(ErrNoTxOutputs, "transaction has no outputs")
	}
	size := tx.SerializeSize()
	if size > p.MaxTxSize() {
		return ruleError(ErrTxTooBig, "transaction of %d bytes exceeds the limit %d", size, p.MaxTxSize())
	}
	// A 64-byte transaction could be taken for an inner node of a Merkle
	// tree, which would let a forged SPV proof pass; no real transaction
	// needs exactly 64 bytes.
	if size == 2*HashSize {
		return ruleError(ErrTxTooBig, "transaction of exactly 64 bytes is not allowed")
	}
	// The decoder refuses longer scripts; a transaction built in memory
	// (mined here, or by a tool) must not get around that.
	for i := range tx.TxIn {
		if n := len(tx.TxIn[i].SigScript); n > MaxScriptSize {
			return ruleError(ErrScriptTooBig, "input %d: signature script of %d bytes exceeds %d", i, n, MaxScriptSize)
		}
	}
	var total uint64
	for i := range tx.TxOut {
		if n := len(tx.TxOut[i].PkScript); n > MaxScriptSize {
			return ruleError(ErrScriptTooBig, "output %d: locking script of %d bytes exceeds %d", i, n, MaxScriptSize)
		}
		v := tx.TxOut[i].Value
		if v > MaxMoney {
			return ruleError(ErrBadTxOutValue, "output %d value %d exceeds the maximum %d", i, v, uint64(MaxMoney))
		}
		total += v
		if total > MaxMoney {
			return ruleError(ErrBadTxOutValue, "outputs total more than the maximum %d", uint64(MaxMoney))
		}
	}
	seen := make(map[OutPoint]struct{}, len(tx.TxIn))
	for i := range tx.TxIn {
		op := tx.TxIn[i].PrevOut
		if _, dup := seen[op]; dup {
			return ruleError(ErrDuplicateTxInputs, "input %d spends %s:%d twice", i, op.Hash, op.Index)
		}
		seen[op] = struct{}{}
	}
	if tx.IsCoinbase() {
		if n := len(tx.TxIn[0].SigScript); n < 2 || n > 100 {
			return ruleError(ErrBadCoinbaseScript, "coinbase script of %d bytes, want 2 to 100", n)
		}
		return nil
	}
	for i := range tx.TxIn {
		if tx.TxIn[i].PrevOut.IsNull() {
			return ruleError(ErrBadTxInput, "input %d of a non-coinbase spends the null outpoint", i)
		}
	}
	return nil
}

// CheckBlockSanity runs the context-free checks of a block: proof of work,
// size, coinbase placement, every transaction's sanity, Merkle root (with
// the CVE-2012-2459 mutation) and duplicate transactions.
func CheckBlockSanity(b *Block, p *Params) error {
	_, err := checkBlockSanity(b, p)
	return err
}

// checkBlockSanity is CheckBlockSanity returning the txids it computed.
func checkBlockSanity(b *Block, p *Params) (_ []Hash, err error) {
	defer ContainPanic(&err)
	hash := b.BlockHash()
	if err := CheckProofOfWork(hash, b.Header.Bits, p.PowLimit); err != nil {
		return nil, err
	}
	if len(b.Transactions) == 0 {
		return nil, ruleError(ErrNoTransactions, "block %s has no transactions", hash)
	}
	if size := b.SerializeSize(); size > p.MaxBlockSize {
		return nil, ruleError(ErrBlockTooBig, "block of %d bytes exceeds the limit %d", size, p.MaxBlockSize)
	}
	if !b.Transactions[0].IsCoinbase() {
		return nil, ruleError(ErrFirstTxNotCoinbase, "first transaction is not a coinbase")
	}
	for i, tx := range b.Transactions[1:] {
		if tx.IsCoinbase() {
			return nil, ruleError(ErrMultipleCoinbases, "transaction %d is a second coinbase", i+1)
		}
	}
	for i, tx := range b.Transactions {
		if err := CheckTxSanity(tx, p); err != nil {
			return nil, ruleError(err.(*RuleError).Err, "transaction %d: %v", i, err)
		}
	}
	txids := b.TxHashes()
	root, mutated := CalcMerkleRoot(txids)
	if mutated {
		return nil, ruleError(ErrMerkleMutation, "block %s has a mutated Merkle tree (duplicate transactions)", hash)
	}
	if root != b.Header.MerkleRoot {
		return nil, ruleError(ErrBadMerkleRoot, "block %s: Merkle root %s, computed %s", hash, b.Header.MerkleRoot, root)
	}
	seen := make(map[Hash]struct{}, len(txids))
	for _, id := range txids {
		if _, dup := seen[id]; dup {
			return nil, ruleError(ErrDuplicateTx, "block %s contains transaction %s twice", hash, id)
		}
		seen[id] = struct{}{}
	}
	return txids, nil
}

// CheckBlockHeaderContext checks a header against its parent and the current
// time: the bits the difficulty rule requires, a time after the parent's
// median time past and no further ahead of now than MaxFutureBlockTime.
func CheckBlockHeaderContext(h *Header, parent HeaderCtx, p *Params, now time.Time) (err error) {
	defer ContainPanic(&err)
	if h.Version < 1 {
		return ruleError(ErrBadVersion, "block version %d is below 1", h.Version)
	}
	if want := CalcNextRequiredBits(p, parent); h.Bits != want {
		return ruleError(ErrUnexpectedDifficult, "block bits %08x, the difficulty rule requires %08x", h.Bits, want)
	}
	if parent != nil {
		if mtp := CalcPastMedianTime(parent); int64(h.Timestamp) <= mtp {
			return ruleError(ErrTimeTooOld, "block time %d is not after the median time past %d", h.Timestamp, mtp)
		}
	}
	if max := now.Add(p.MaxFutureBlockTime).Unix(); int64(h.Timestamp) > max {
		return ruleError(ErrTimeTooNew, "block time %d is more than %s ahead of now", h.Timestamp, p.MaxFutureBlockTime)
	}
	return nil
}

// IsFinalTx reports whether tx's lock time allows it into a block at height
// whose lock-time clock (its parent's median time past) reads blockTime.
func IsFinalTx(tx *Tx, height int32, blockTime int64) bool {
	if tx.LockTime == 0 {
		return true
	}
	limit := int64(height)
	if tx.LockTime >= LockTimeThreshold {
		limit = blockTime
	}
	if int64(tx.LockTime) < limit {
		return true
	}
	for i := range tx.TxIn {
		if tx.TxIn[i].Sequence != MaxSequence {
			return false
		}
	}
	return true
}

// CheckTxInputs checks a non-coinbase transaction's inputs against view for
// inclusion at height: every input must exist unspent, coinbase outputs must
// be mature, amounts must not overflow and outputs must not exceed inputs.
// It returns the fee and the spent entries, in input order, and changes
// nothing.
func CheckTxInputs(tx *Tx, height int32, view *UtxoView, p *Params) (fee uint64, prev []*UtxoEntry, err error) {
	defer ContainPanic(&err)
	prev = make([]*UtxoEntry, len(tx.TxIn))
	var in uint64
	for i := range tx.TxIn {
		op := tx.TxIn[i].PrevOut
		e, err := view.Lookup(op)
		if err != nil {
			return 0, nil, err
		}
		if e == nil {
			return 0, nil, ruleError(ErrMissingTxOut, "input %d spends %s:%d, which is unknown or already spent", i, op.Hash, op.Index)
		}
		if e.IsCoinbase {
			if depth := height - e.Height; depth < p.CoinbaseMaturity {
				return 0, nil, ruleError(ErrImmatureSpend, "input %d spends a coinbase output of height %d at height %d: %d confirmations, %d required",
					i, e.Height, height, depth, p.CoinbaseMaturity)
			}
		}
		if e.Value > MaxMoney {
			return 0, nil, ruleError(ErrBadTxOutValue, "input %d spends a value above the maximum", i)
		}
		in += e.Value
		if in > MaxMoney {
			return 0, nil, ruleError(ErrBadTxOutValue, "inputs total more than the maximum")
		}
		prev[i] = e
	}
	var out uint64
	for i := range tx.TxOut {
		out += tx.TxOut[i].Value // bounded by CheckTxSanity
	}
	if out > in {
		return 0, nil, ruleError(ErrSpendTooHigh, "outputs %d exceed inputs %d", out, in)
	}
	return in - out, prev, nil
}

// ScriptJob is one input whose script must be verified.
type ScriptJob struct {
	Tx        *Tx
	Index     int
	PkScript  []byte
	Amount    uint64
	SigHashes *SigHashes
	// Cache, if set, skips signature checks that passed before and
	// remembers the ones that pass now.
	Cache *SigCache
}

// CheckScripts verifies every job on up to workers goroutines (0 means
// GOMAXPROCS) and returns the first failure found. The goroutines end before
// it returns.
func CheckScripts(jobs []ScriptJob, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(jobs) {
		workers = len(jobs)
	}
	run := func(j *ScriptJob) (err error) {
		defer ContainPanic(&err) // also on the workers' goroutines, where nothing else could catch it
		return verifyScript(j.Tx.TxIn[j.Index].SigScript, j.PkScript, j.Tx, j.Index, j.Amount, j.SigHashes, j.Cache)
	}
	if workers <= 1 {
		for i := range jobs {
			if err := run(&jobs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64
		failed   atomic.Bool
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				if err := run(&jobs[i]); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// ConnectOptions tune ConnectBlock.
type ConnectOptions struct {
	// ScriptWorkers is how many goroutines verify scripts; 0 means
	// GOMAXPROCS, 1 verifies on the calling goroutine.
	ScriptWorkers int
	// SigCache, if set, holds signatures already verified (by the
	// mempool, say), which are then not verified again.
	SigCache *SigCache
}

// ConnectBlock checks that block b (whose txids are given, as
// CheckBlockSanity computed them) can extend the chain at height, given
// prevMTP, the median time past of its parent, and applies it to view. It
// returns the undo data: every output the block spent, in input order.
//
// It checks the coinbase height and value, lock times, every input (exists,
// unspent, mature, spent once in the block) and every script. On error the
// view is left partly modified and must be discarded.
func ConnectBlock(b *Block, txids []Hash, height int32, prevMTP int64, view *UtxoView, p *Params, opts ConnectOptions) (_ []SpentOutput, err error) {
	defer ContainPanic(&err)
	if len(txids) != len(b.Transactions) {
		return nil, AssertError("ConnectBlock: txids do not match the block")
	}
	cb := b.Transactions[0]
	if err := CheckCoinbaseHeight(cb, height); err != nil {
		return nil, err
	}
	var (
		fees    uint64
		undo    []SpentOutput
		jobs    []ScriptJob
		checked []Hash // transactions whose scripts jobs check
		spent   = make(map[OutPoint]int)
	)
	for i, tx := range b.Transactions {
		if !IsFinalTx(tx, height, prevMTP) {
			return nil, ruleError(ErrUnfinalizedTx, "transaction %s is not final at height %d", txids[i], height)
		}
		if i == 0 {
			view.AddTxOuts(tx, txids[0], height, true)
			continue
		}
		for k := range tx.TxIn {
			op := tx.TxIn[k].PrevOut
			if j, dup := spent[op]; dup {
				return nil, ruleError(ErrDoubleSpend, "transaction %s spends %s:%d, already spent by transaction %s in this block",
					txids[i], op.Hash, op.Index, txids[j])
			}
			spent[op] = i
		}
		fee, prev, err := CheckTxInputs(tx, height, view, p)
		if err != nil {
			if re, ok := err.(*RuleError); ok {
				return nil, ruleError(re.Err, "transaction %s: %s", txids[i], re.Description)
			}
			return nil, err
		}
		if fees += fee; fees > MaxMoney {
			return nil, ruleError(ErrBadFees, "fees total more than the maximum")
		}
		// A transaction whose scripts all passed before (in the mempool,
		// say) needs no script check: that verdict depends on its txid
		// alone (SigCache.ScriptsVerified). Its inputs were checked above.
		verified := opts.SigCache.ScriptsVerified(txids[i])
		var sh *SigHashes
		if !verified {
			sh = NewSigHashes(tx)
			checked = append(checked, txids[i])
		}
		for k := range tx.TxIn {
			if !verified {
				jobs = append(jobs, ScriptJob{Tx: tx, Index: k, PkScript: prev[k].PkScript, Amount: prev[k].Value, SigHashes: sh, Cache: opts.SigCache})
			}
			undo = append(undo, SpentOutput{OutPoint: tx.TxIn[k].PrevOut, Entry: *prev[k]})
			if _, err := view.Spend(tx.TxIn[k].PrevOut); err != nil {
				return nil, err
			}
		}
		view.AddTxOuts(tx, txids[i], height, false)
	}
	var cbOut uint64
	for i := range cb.TxOut {
		cbOut += cb.TxOut[i].Value
	}
	if max := CalcBlockSubsidy(height, p) + fees; cbOut > max {
		return nil, ruleError(ErrBadCoinbaseValue, "coinbase pays %d, at most subsidy + fees = %d is allowed", cbOut, max)
	}
	if err := CheckScripts(jobs, opts.ScriptWorkers); err != nil {
		return nil, err
	}
	for _, txid := range checked {
		opts.SigCache.AddScriptsVerified(txid)
	}
	return undo, nil
}
