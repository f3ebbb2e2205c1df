package chain

// SetFlushTxnLimitsForTest sets how many records and bytes a flush may
// write in one store transaction before it goes through the journal, and
// returns a function restoring the previous limits.
func SetFlushTxnLimitsForTest(entries int, bytes int64) (restore func()) {
	e, b := flushTxnMaxEntries, flushTxnMaxBytes
	flushTxnMaxEntries, flushTxnMaxBytes = entries, bytes
	return func() { flushTxnMaxEntries, flushTxnMaxBytes = e, b }
}

// DumpStoreForTest returns every record of db (for the external tests).
var DumpStoreForTest = dump
