package mempool

import "github.com/minichain/minichain/chain"

// The way in: every check a transaction passes before it enters the pool,
// and the orphans it releases.

// AcceptTx checks a transaction and adds it to the pool. A transaction
// whose parents are unknown is kept as an orphan (Orphan is set, no error).
func (m *Mempool) AcceptTx(tx *chain.Tx) (AcceptResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acceptLocked(tx, true)
}

// AcceptLocalTx is AcceptTx for a transaction submitted by a user rather
// than relayed by a peer: its parents must be known, so it is never kept as
// an orphan (ErrOrphanRejected instead).
func (m *Mempool) AcceptLocalTx(tx *chain.Tx) (AcceptResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acceptLocked(tx, false)
}

func (m *Mempool) acceptLocked(tx *chain.Tx, allowOrphan bool) (AcceptResult, error) {
	var res AcceptResult
	txid := tx.TxHash()
	desc, missing, err := m.maybeAccept(tx, txid)
	if err != nil {
		return res, err
	}
	if len(missing) > 0 {
		if !allowOrphan {
			return res, ruleErr(ErrOrphanRejected, "transaction %s spends outputs that are neither confirmed nor in the pool (missing inputs)", txid)
		}
		if size := tx.SerializeSize(); size > m.cfg.Policy.MaxTxSize {
			return res, ruleErr(ErrOrphanRejected, "orphan transaction of %d bytes is too large to keep", size)
		}
		m.orphans.add(tx, txid, m.cfg.Now())
		res.Orphan, res.MissingParents = true, missing
		return res, nil
	}
	res.Accepted = append(res.Accepted, desc)
	res.Accepted = append(res.Accepted, m.releaseOrphans(txid)...)
	return res, nil
}

// releaseOrphans accepts the orphans that spend outputs of txid, and theirs
// in turn.
func (m *Mempool) releaseOrphans(txid chain.Hash) []*TxDesc {
	var out []*TxDesc
	queue := []chain.Hash{txid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, o := range m.orphans.takeSpenders(parent) {
			desc, missing, err := m.maybeAccept(o.tx, o.txid)
			switch {
			case err != nil:
				m.log.Debug("orphan transaction rejected", "txid", o.txid, "err", err)
			case len(missing) > 0:
				m.orphans.add(o.tx, o.txid, m.cfg.Now())
			default:
				out = append(out, desc)
				queue = append(queue, o.txid)
			}
		}
	}
	return out
}

// poolSource serves UTXO lookups from the pool's unconfirmed outputs first,
// then the chain.
type poolSource struct {
	m      *Mempool
	height int32
}

func (s poolSource) FetchUtxo(op chain.OutPoint) (*chain.UtxoEntry, error) {
	if d, ok := s.m.txs[op.Hash]; ok {
		if int(op.Index) >= len(d.Tx.TxOut) || chain.IsUnspendable(d.Tx.TxOut[op.Index].PkScript) {
			return nil, nil
		}
		out := d.Tx.TxOut[op.Index]
		return &chain.UtxoEntry{Value: out.Value, PkScript: out.PkScript, Height: s.height}, nil
	}
	return s.m.cfg.Chain.FetchUtxo(op)
}

// maybeAccept runs every check and adds the transaction, or returns the
// parents it lacks, or the rule it breaks. Called with mu held.
func (m *Mempool) maybeAccept(tx *chain.Tx, txid chain.Hash) (*TxDesc, []chain.Hash, error) {
	if _, ok := m.txs[txid]; ok {
		return nil, nil, ruleErr(ErrAlreadyHave, "transaction %s is already in the pool", txid)
	}
	if m.orphans.has(txid) {
		return nil, nil, ruleErr(ErrAlreadyHave, "transaction %s is already waiting as an orphan", txid)
	}
	if tx.IsCoinbase() {
		return nil, nil, ruleErr(ErrCoinbaseTx, "a coinbase transaction cannot enter the pool")
	}
	p := m.cfg.Params
	if err := chain.CheckTxSanity(tx, p); err != nil {
		return nil, nil, err
	}
	if err := m.cfg.Policy.CheckStandard(tx); err != nil {
		return nil, nil, err
	}
	best := m.cfg.Chain.BestSnapshot()
	height := best.Height + 1
	if !chain.IsFinalTx(tx, height, best.MedianTime) {
		return nil, nil, ruleErr(ErrNonStandard, "transaction %s is not final at height %d", txid, height)
	}
	for i := range tx.TxIn {
		if spender, ok := m.spends[tx.TxIn[i].PrevOut]; ok {
			op := tx.TxIn[i].PrevOut
			return nil, nil, ruleErr(ErrConflict, "input %d spends %s:%d, already spent by pool transaction %s",
				i, op.Hash, op.Index, spender)
		}
	}
	view := chain.NewUtxoView(poolSource{m: m, height: height})
	var missing []chain.Hash
	for i := range tx.TxIn {
		e, err := view.Lookup(tx.TxIn[i].PrevOut)
		if err != nil {
			return nil, nil, err
		}
		if e == nil {
			missing = append(missing, tx.TxIn[i].PrevOut.Hash)
		}
	}
	if len(missing) > 0 {
		if err := m.classifyMissing(tx, txid, missing); err != nil {
			return nil, nil, err
		}
		return nil, dedupe(missing), nil
	}
	fee, prev, err := chain.CheckTxInputs(tx, height, view, p)
	if err != nil {
		return nil, nil, err
	}
	size := tx.SerializeSize()
	if lowerFeeRate(fee, size, m.cfg.Policy.MinFeeRate, 1) {
		return nil, nil, ruleErr(ErrFeeTooLow, "fee %d for %d bytes is below the minimum of %d units per byte",
			fee, size, m.cfg.Policy.MinFeeRate)
	}
	if err := m.checkScripts(tx, txid, prev); err != nil {
		return nil, nil, err
	}
	if err := m.makeRoom(tx, size, fee); err != nil {
		return nil, nil, err
	}
	desc := &TxDesc{Tx: tx, TxID: txid, Size: size, Fee: fee, Added: m.cfg.Now(), Height: best.Height}
	m.add(desc)
	return desc, nil, nil
}

// checkScripts verifies tx's input scripts, which spend prev, unless the
// signature cache says they all passed before (chain.SigCache.
// ScriptsVerified); it records them there when they pass.
func (m *Mempool) checkScripts(tx *chain.Tx, txid chain.Hash, prev []*chain.UtxoEntry) error {
	if m.cfg.SigCache.ScriptsVerified(txid) {
		return nil
	}
	sh := chain.NewSigHashes(tx)
	jobs := make([]chain.ScriptJob, len(tx.TxIn))
	for i := range tx.TxIn {
		jobs[i] = chain.ScriptJob{Tx: tx, Index: i, PkScript: prev[i].PkScript, Amount: prev[i].Value, SigHashes: sh, Cache: m.cfg.SigCache}
	}
	if err := chain.CheckScripts(jobs, 1); err != nil {
		return err
	}
	m.cfg.SigCache.AddScriptsVerified(txid)
	return nil
}

// classifyMissing tells a transaction that spends outputs the chain already
// spent (a conflict, or a transaction already confirmed) from one whose
// parents have simply not arrived yet (an orphan).
func (m *Mempool) classifyMissing(tx *chain.Tx, txid chain.Hash, missing []chain.Hash) error {
	if ok, err := m.cfg.Chain.HaveTx(txid); err != nil {
		return err
	} else if ok {
		return ruleErr(ErrAlreadyConfirmed, "transaction %s is already in the chain", txid)
	}
	for _, parent := range missing {
		ok, err := m.cfg.Chain.HaveTx(parent)
		if err != nil {
			return err
		}
		if ok {
			return ruleErr(ErrConflict, "transaction %s spends an output of %s that the chain has already spent (or that does not exist)",
				txid, parent)
		}
	}
	return nil
}

func dedupe(hs []chain.Hash) []chain.Hash {
	seen := make(map[chain.Hash]bool, len(hs))
	out := hs[:0]
	for _, h := range hs {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
