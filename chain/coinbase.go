package chain

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
// its signature script.
func ExtractCoinbaseHeight(tx *Tx) (int32, error) {
	if !tx.IsCoinbase() {
		return 0, ruleError(ErrBadCoinbaseHeight, "not a coinbase")
	}
	ops, err := ParseScript(tx.TxIn[0].SigScript)
	if err != nil || len(ops) == 0 {
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase script does not start with a height")
	}
	op := ops[0]
	switch {
	case op.Opcode == OP_0:
		return 0, nil
	case op.Opcode >= OP_1 && op.Opcode <= OP_16:
		return int32(op.Opcode - OP_1 + 1), nil
	case op.Data == nil || len(op.Data) > 4:
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase height push is malformed")
	}
	var v int64
	for i, c := range op.Data {
		v |= int64(c) << (8 * i)
	}
	if last := op.Data[len(op.Data)-1]; last&0x80 != 0 {
		return 0, ruleError(ErrBadCoinbaseHeight, "coinbase height is negative")
	}
	return int32(v), nil
}
