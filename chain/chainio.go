package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// Storage layout. Every record lives under a one-byte prefix. Integers in keys
// are big-endian so that keys sort by number; integers in values are
// little-endian like the rest of the encoding. Worked examples use the regtest
// genesis block 74da856d…f39b4 (internal byte order b4398fe2…6d85da74).
//
//	b | hash(32)                      -> block bytes (canonical encoding)
//	    "b" b4398fe2…6d85da74          -> 01000000 0000…00 …            (header, tx count, txs)
//
//	i | hash(32)                      -> header(80) | height(4 LE) | status(1) | seq(8 LE)
//	    "i" b4398fe2…6d85da74          -> <80-byte header> 00000000 01 0000000000000000
//	    status bits: 1 valid (connected once), 2 failed, 4 invalid ancestor;
//	    seq is the order in which blocks were first accepted (tie-break).
//
//	h | height(4 BE)                  -> hash(32)  (main chain only)
//	    "h" 00000000                   -> b4398fe2…6d85da74
//
//	u | txid(32) | index(4 BE)        -> value(8 LE) | height(4 LE) | flags(1) | pkScript
//	    "u" <genesis txid> 00000000    -> 00407a10f35a0000 00000000 00 76a914…88ac
//	    flags bit 1: created by a coinbase (subject to maturity)
//
//	r | hash(32)                      -> undo: count(compact) then per spent output
//	                                     txid(32) index(4 LE) value(8 LE) height(4 LE) flags(1) script(var)
//	    "r" <hash of a block spending one output> -> 01 <txid> 00000000 00f2052a01000000 05000000 01 19 76a914…88ac
//
//	t | txid(32)                      -> block hash(32) | position in block(4 LE)   (main chain only)
//	    "t" <genesis txid>             -> b4398fe2…6d85da74 00000000
//
//	a | pkh(20) | height(4 BE) | pos(4 BE) -> txid(32) | received(8 LE) | sent(8 LE)
//	    one row per main-chain transaction touching the address (history)
//	    "a" 5062a155…36b84bfa 00000000 00000000 -> <genesis txid> 00407a10f35a0000 0000000000000000
//
//	o | pkh(20) | txid(32) | index(4 BE) -> value(8 LE) | height(4 LE) | flags(1)
//	    the address's unspent outputs (a copy of their u records' fields)
//	    "o" 5062a155…36b84bfa <genesis txid> 00000000 -> 00407a10f35a0000 00000000 00
//
//	m | name                          -> metadata
//	    "mtip"     -> hash of the main chain tip as of the last flush of the
//	                  chain-state cache (statecache.go): the stored u/o/t/a/h
//	                  records are the state at exactly this block
//	    "mjournal" -> count(4 LE): a journaled flush is decided (statecache.go)
//	    "mgenesis" -> genesis hash of the network this store belongs to
//	    "mversion" -> storage format version (1 byte)
//
//	j | seq(4 BE)                     -> a journal chunk of a big flush (statecache.go)
//
//	p | txid(32)                      -> a mempool transaction (owned by package mempool)
const (
	prefixBlock    = 'b'
	prefixIndex    = 'i'
	prefixHeight   = 'h'
	prefixUtxo     = 'u'
	prefixUndo     = 'r'
	prefixTxIndex  = 't'
	prefixAddrHist = 'a'
	prefixAddrUtxo = 'o'
	prefixMeta     = 'm'

	// PrefixMempool is the key prefix the mempool stores its transactions
	// under; the chain never reads or writes it.
	PrefixMempool = 'p'

	storageVersion = 1
)

var (
	keyTip     = append([]byte{prefixMeta}, "tip"...)
	keyGenesis = append([]byte{prefixMeta}, "genesis"...)
	keyVersion = append([]byte{prefixMeta}, "version"...)
)

func hashKey(prefix byte, h Hash) []byte {
	k := make([]byte, 1+HashSize)
	k[0] = prefix
	copy(k[1:], h[:])
	return k
}

func heightKey(height int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixHeight}, uint32(height))
}

func utxoKey(op OutPoint) []byte {
	k := make([]byte, 0, 1+HashSize+4)
	k = append(k, prefixUtxo)
	k = append(k, op.Hash[:]...)
	return binary.BigEndian.AppendUint32(k, op.Index)
}

func addrHistKey(pkh [20]byte, height int32, pos uint32) []byte {
	k := make([]byte, 0, 1+20+8)
	k = append(k, prefixAddrHist)
	k = append(k, pkh[:]...)
	k = binary.BigEndian.AppendUint32(k, uint32(height))
	return binary.BigEndian.AppendUint32(k, pos)
}

func addrUtxoKey(pkh [20]byte, op OutPoint) []byte {
	k := make([]byte, 0, 1+20+HashSize+4)
	k = append(k, prefixAddrUtxo)
	k = append(k, pkh[:]...)
	k = append(k, op.Hash[:]...)
	return binary.BigEndian.AppendUint32(k, op.Index)
}

const flagCoinbase = 1

func entryFlags(e *UtxoEntry) byte {
	if e.IsCoinbase {
		return flagCoinbase
	}
	return 0
}

func encodeUtxoEntry(e *UtxoEntry) []byte {
	b := make([]byte, 0, 13+len(e.PkScript))
	b = binary.LittleEndian.AppendUint64(b, e.Value)
	b = binary.LittleEndian.AppendUint32(b, uint32(e.Height))
	b = append(b, entryFlags(e))
	return append(b, e.PkScript...)
}

func decodeUtxoEntry(b []byte) (*UtxoEntry, error) {
	if len(b) < 13 {
		return nil, corruptf("utxo entry of %d bytes", len(b))
	}
	return &UtxoEntry{
		Value:      binary.LittleEndian.Uint64(b),
		Height:     int32(binary.LittleEndian.Uint32(b[8:])),
		IsCoinbase: b[12]&flagCoinbase != 0,
		PkScript:   append([]byte(nil), b[13:]...),
	}, nil
}

func encodeAddrUtxo(e *UtxoEntry) []byte {
	b := make([]byte, 0, 13)
	b = binary.LittleEndian.AppendUint64(b, e.Value)
	b = binary.LittleEndian.AppendUint32(b, uint32(e.Height))
	return append(b, entryFlags(e))
}

func encodeUndo(undo []SpentOutput) []byte {
	b := AppendCompactSize(nil, uint64(len(undo)))
	for i := range undo {
		u := &undo[i]
		b = append(b, u.OutPoint.Hash[:]...)
		b = binary.LittleEndian.AppendUint32(b, u.OutPoint.Index)
		b = binary.LittleEndian.AppendUint64(b, u.Entry.Value)
		b = binary.LittleEndian.AppendUint32(b, uint32(u.Entry.Height))
		b = append(b, entryFlags(&u.Entry))
		b = appendVarBytes(b, u.Entry.PkScript)
	}
	return b
}

func decodeUndo(b []byte) ([]SpentOutput, error) {
	r := newReader(b, "undo data")
	n := r.count("count", 32+4+8+4+1+1)
	undo := make([]SpentOutput, n)
	for i := range undo {
		u := &undo[i]
		u.OutPoint.Hash = r.hash("txid")
		u.OutPoint.Index = r.uint32("index")
		u.Entry.Value = r.uint64("value")
		u.Entry.Height = int32(r.uint32("height"))
		if f := r.next(1, "flags"); f != nil {
			u.Entry.IsCoinbase = f[0]&flagCoinbase != 0
		}
		u.Entry.PkScript = r.varBytes("script", MaxScriptSize)
	}
	if err := r.finish(); err != nil {
		return nil, corruptf("%v", err)
	}
	return undo, nil
}

// indexRecord is the stored form of a block index entry.
type indexRecord struct {
	header Header
	height int32
	status blockStatus
	seq    uint64
}

func encodeIndexRecord(n *blockNode, status blockStatus) []byte {
	b := n.header.AppendTo(make([]byte, 0, HeaderSize+13))
	b = binary.LittleEndian.AppendUint32(b, uint32(n.height))
	b = append(b, byte(status&statusStored))
	return binary.LittleEndian.AppendUint64(b, n.seq)
}

func decodeIndexRecord(b []byte) (indexRecord, error) {
	if len(b) != HeaderSize+13 {
		return indexRecord{}, corruptf("block index record of %d bytes", len(b))
	}
	h, err := DecodeHeader(b[:HeaderSize])
	if err != nil {
		return indexRecord{}, corruptf("block index header: %v", err)
	}
	return indexRecord{
		header: h,
		height: int32(binary.LittleEndian.Uint32(b[HeaderSize:])),
		status: blockStatus(b[HeaderSize+4]),
		seq:    binary.LittleEndian.Uint64(b[HeaderSize+5:]),
	}, nil
}

func encodeTxLoc(block Hash, pos uint32) []byte {
	b := append(make([]byte, 0, HashSize+4), block[:]...)
	return binary.LittleEndian.AppendUint32(b, pos)
}

func decodeTxLoc(b []byte) (Hash, uint32, error) {
	if len(b) != HashSize+4 {
		return Hash{}, 0, corruptf("tx index record of %d bytes", len(b))
	}
	var h Hash
	copy(h[:], b)
	return h, binary.LittleEndian.Uint32(b[HashSize:]), nil
}

// addrDelta is what one transaction did to one address.
type addrDelta struct {
	received, sent uint64
}

func encodeAddrHist(txid Hash, d addrDelta) []byte {
	b := append(make([]byte, 0, HashSize+16), txid[:]...)
	b = binary.LittleEndian.AppendUint64(b, d.received)
	return binary.LittleEndian.AppendUint64(b, d.sent)
}

// ErrCorrupt is returned when stored data does not decode: the data
// directory was damaged outside the node's control. It is not a RuleError:
// the block the data belongs to is not invalid.
var ErrCorrupt = errors.New("corrupt store")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// workFromIndex is a helper that keeps big.Int allocation in one place.
func addWork(parent *big.Int, bits uint32) *big.Int {
	w := CalcWork(bits)
	if parent != nil {
		w.Add(w, parent)
	}
	return w
}
