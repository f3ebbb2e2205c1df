package chain

import (
	"bytes"
	"math"
)

// CoinbaseHeightScript returns the push of height that must begin every
// coinbase's signature script (as Bitcoin's BIP34): OP_0 for 0, OP_1..OP_16
// for 1..16, otherwise the minimal little-endian script number.
func CoinbaseHeightScript(height int32) []byte {
	switch {
	case height == 0:
		return []byte{OP_0}
	case height >= 1 && height <= 16:
		return []byte{OP_1 - 1 + byte(height)}
	}
	return AppendPush(nil, scriptNum(int64(height)))
}

// scriptNum encodes n as a minimal script number: little-endian magnitude
// with the sign in the high bit of the last byte.
func scriptNum(n int64) []byte {
	if n == 0 {
		return nil
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append(b, byte(n))
		n >>= 8
	}
	if b[len(b)-1]&0x80 != 0 {
		if neg {
			b = append(b, 0x80)
		} else {
			b = append(b, 0)
		}
	} else if neg {
		b[len(b)-1] |= 0x80
	}
	return b
}

// ExtractCoinbaseHeight reads the height a coinbase carries at the start of
// its signature script. Only the encoding consensus accepts is read (the
// one CoinbaseHeightScript writes: OP_0, OP_1..OP_16, or a minimal push of
// 1 to 4 bytes); the bytes after it are free and are not parsed.
func ExtractCoinbaseHeight(tx *Tx) (int32, error) {
	if !tx.IsCoinbase() {
		return 0, ruleError(ErrBadCoinbaseHeight, "not a coinbase")
	}
	script := tx.TxIn[0].SigScript
	if len(script) == 0 {
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase script is empty")
	}
	op := script[0]
	switch {
	case op == OP_0:
		return 0, nil
	case op >= OP_1 && op <= OP_16:
		return int32(op - OP_1 + 1), nil
	case op < 1 || op > 4:
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase script does not start with a minimal push of the height (opcode %#02x)", op)
	case len(script) < 1+int(op):
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase height push of %d bytes runs past the end of the script", op)
	}
	var v int64
	for i, c := range script[1 : 1+op] {
		v |= int64(c) << (8 * i)
	}
	if v > math.MaxInt32 || !bytes.HasPrefix(script, CoinbaseHeightScript(int32(v))) {
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase height %x is not the minimal encoding of a height", script[1:1+op])
	}
	return int32(v), nil
}

// CheckCoinbaseHeight checks that a coinbase's signature script begins with
// CoinbaseHeightScript(height), as BIP34 requires; the bytes after it are
// free.
func CheckCoinbaseHeight(tx *Tx, height int32) error {
	if !tx.IsCoinbase() || !bytes.HasPrefix(tx.TxIn[0].SigScript, CoinbaseHeightScript(height)) {
		got, err := ExtractCoinbaseHeight(tx)
		if err != nil {
			return ruleError(ErrBadCoinbaseHeight, "block at height %d: %v", height, err)
		}
		return ruleError(ErrBadCoinbaseHeight, "coinbase carries height %d, block is at height %d", got, height)
	}
	return nil
}
