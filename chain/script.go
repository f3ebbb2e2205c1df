package chain

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// Script limits, as Bitcoin's.
const (
	MaxScriptSize        = 10000 // bytes in one script
	MaxScriptElementSize = 520   // bytes in one pushed element
	MaxStackSize         = 1000  // items on the stack
	MaxOpsPerScript      = 201   // non-push operations in one script
	// MaxDataCarrierSize is the policy limit on the data of an OP_RETURN
	// output.
	MaxDataCarrierSize = 80
)

// Opcodes the interpreter knows. Every other byte value is an opcode that
// fails when executed.
const (
	OP_0            = 0x00
	OP_DATA_20      = 0x14
	OP_PUSHDATA1    = 0x4c
	OP_PUSHDATA2    = 0x4d
	OP_PUSHDATA4    = 0x4e
	OP_1NEGATE      = 0x4f
	OP_1            = 0x51
	OP_16           = 0x60
	OP_NOP          = 0x61
	OP_VERIFY       = 0x69
	OP_RETURN       = 0x6a
	OP_DUP          = 0x76
	OP_EQUAL        = 0x87
	OP_EQUALVERIFY  = 0x88
	OP_HASH160      = 0xa9
	OP_CHECKSIG     = 0xac
	OP_CHECKSIGVRFY = 0xad
)

var opcodeNames = map[byte]string{
	OP_0: "OP_0", OP_PUSHDATA1: "OP_PUSHDATA1", OP_PUSHDATA2: "OP_PUSHDATA2",
	OP_PUSHDATA4: "OP_PUSHDATA4", OP_1NEGATE: "OP_1NEGATE", OP_NOP: "OP_NOP",
	OP_VERIFY: "OP_VERIFY", OP_RETURN: "OP_RETURN", OP_DUP: "OP_DUP",
	OP_EQUAL: "OP_EQUAL", OP_EQUALVERIFY: "OP_EQUALVERIFY", OP_HASH160: "OP_HASH160",
	OP_CHECKSIG: "OP_CHECKSIG", OP_CHECKSIGVRFY: "OP_CHECKSIGVERIFY",
}

// ScriptOp is one parsed script operation: an opcode and, for pushes, its
// data.
type ScriptOp struct {
	Opcode byte
	Data   []byte // nil unless the opcode pushes data
}

// IsPush reports whether the operation only pushes data (OP_0 .. OP_16).
func (op ScriptOp) IsPush() bool { return op.Opcode <= OP_16 && op.Opcode != 0x50 }

// ParseScript splits a script into operations. It fails on a push that runs
// past the end of the script.
func ParseScript(script []byte) ([]ScriptOp, error) {
	var ops []ScriptOp
	for i := 0; i < len(script); {
		op := script[i]
		i++
		var n int
		switch {
		case op >= 0x01 && op <= 0x4b:
			n = int(op)
		case op == OP_PUSHDATA1:
			if i+1 > len(script) {
				return nil, ruleError(ErrScriptMalformed, "OP_PUSHDATA1 without a length")
			}
			n = int(script[i])
			i++
		case op == OP_PUSHDATA2:
			if i+2 > len(script) {
				return nil, ruleError(ErrScriptMalformed, "OP_PUSHDATA2 without a length")
			}
			n = int(script[i]) | int(script[i+1])<<8
			i += 2
		case op == OP_PUSHDATA4:
			if i+4 > len(script) {
				return nil, ruleError(ErrScriptMalformed, "OP_PUSHDATA4 without a length")
			}
			n = int(script[i]) | int(script[i+1])<<8 | int(script[i+2])<<16 | int(script[i+3])<<24
			i += 4
			if n < 0 {
				return nil, ruleError(ErrScriptMalformed, "OP_PUSHDATA4 length out of range")
			}
		default:
			ops = append(ops, ScriptOp{Opcode: op})
			continue
		}
		if n > len(script)-i {
			return nil, ruleError(ErrScriptMalformed, "push of %d bytes runs past the end of the script", n)
		}
		ops = append(ops, ScriptOp{Opcode: op, Data: script[i : i+n]})
		i += n
	}
	return ops, nil
}

// IsPushOnly reports whether a script parses and only pushes data.
func IsPushOnly(script []byte) bool {
	ops, err := ParseScript(script)
	if err != nil {
		return false
	}
	for _, op := range ops {
		if !op.IsPush() {
			return false
		}
	}
	return true
}

// AppendPush appends the minimal push of data to a script: the only push
// of it that consensus accepts (CheckMinimalPush).
func AppendPush(script, data []byte) []byte {
	switch n := len(data); {
	case n == 0:
		return append(script, OP_0)
	case n == 1 && data[0] >= 1 && data[0] <= 16:
		return append(script, OP_1-1+data[0])
	case n == 1 && data[0] == 0x81:
		return append(script, OP_1NEGATE)
	case n <= 0x4b:
		script = append(script, byte(n))
	case n <= 0xff:
		script = append(script, OP_PUSHDATA1, byte(n))
	case n <= 0xffff:
		script = append(script, OP_PUSHDATA2, byte(n), byte(n>>8))
	default:
		script = append(script, OP_PUSHDATA4, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	}
	return append(script, data...)
}

// CheckMinimalPush checks that a push operation uses the shortest encoding
// of its data, as AppendPush writes it: OP_0 for nothing, OP_1..OP_16 and
// OP_1NEGATE for the single bytes 1..16 and 0x81, a direct push up to 75
// bytes, then OP_PUSHDATA1, OP_PUSHDATA2. Bitcoin enforces this as relay
// policy (MINIMALDATA); here it is a consensus rule for every push a script
// executes, so a relayed transaction cannot be re-encoded under another txid.
// Operations that push nothing are not checked.
func CheckMinimalPush(op ScriptOp) error {
	c, n := op.Opcode, len(op.Data)
	if c > OP_PUSHDATA4 {
		return nil
	}
	var want byte
	switch {
	case n == 0:
		want = OP_0
	case n == 1 && op.Data[0] >= 1 && op.Data[0] <= 16:
		want = OP_1 - 1 + op.Data[0]
	case n == 1 && op.Data[0] == 0x81:
		want = OP_1NEGATE
	case n <= 0x4b:
		want = byte(n)
	case n <= 0xff:
		want = OP_PUSHDATA1
	case n <= 0xffff:
		want = OP_PUSHDATA2
	default:
		want = OP_PUSHDATA4
	}
	if c != want {
		return ruleError(ErrMinimalData, "push of %d bytes with opcode %#02x, the minimal encoding is %#02x", n, c, want)
	}
	return nil
}

// ScriptClass is the standard form of a locking script.
type ScriptClass int

// Script classes. Only P2PKH and null-data outputs are standard.
const (
	NonStandardTy ScriptClass = iota
	PubKeyHashTy
	NullDataTy
)

var scriptClassNames = map[ScriptClass]string{
	NonStandardTy: "nonstandard", PubKeyHashTy: "pubkeyhash", NullDataTy: "nulldata",
}

// String returns the class name as the API shows it.
func (c ScriptClass) String() string { return scriptClassNames[c] }

// PayToPubKeyHashScript returns OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY
// OP_CHECKSIG.
func PayToPubKeyHashScript(pkh [20]byte) []byte {
	s := make([]byte, 0, 25)
	s = append(s, OP_DUP, OP_HASH160, OP_DATA_20)
	s = append(s, pkh[:]...)
	return append(s, OP_EQUALVERIFY, OP_CHECKSIG)
}

// NullDataScript returns OP_RETURN <data>, a provably unspendable output that
// carries data.
func NullDataScript(data []byte) []byte {
	return AppendPush([]byte{OP_RETURN}, data)
}

// ExtractPubKeyHash returns the 20-byte hash of a P2PKH script.
func ExtractPubKeyHash(pkScript []byte) (pkh [20]byte, ok bool) {
	if len(pkScript) != 25 || pkScript[0] != OP_DUP || pkScript[1] != OP_HASH160 ||
		pkScript[2] != OP_DATA_20 || pkScript[23] != OP_EQUALVERIFY || pkScript[24] != OP_CHECKSIG {
		return pkh, false
	}
	copy(pkh[:], pkScript[3:23])
	return pkh, true
}

// ClassifyScript returns the standard form of a locking script.
func ClassifyScript(pkScript []byte) ScriptClass {
	if _, ok := ExtractPubKeyHash(pkScript); ok {
		return PubKeyHashTy
	}
	if isNullData(pkScript) {
		return NullDataTy
	}
	return NonStandardTy
}

// isNullData reports whether a script is OP_RETURN followed only by pushes
// carrying at most MaxDataCarrierSize bytes in all.
func isNullData(pkScript []byte) bool {
	if len(pkScript) == 0 || pkScript[0] != OP_RETURN || len(pkScript) > MaxDataCarrierSize+3 {
		return false
	}
	return IsPushOnly(pkScript[1:])
}

// IsUnspendable reports whether an output can never be spent (it starts with
// OP_RETURN or is too large to execute), so it never enters the UTXO set.
func IsUnspendable(pkScript []byte) bool {
	return (len(pkScript) > 0 && pkScript[0] == OP_RETURN) || len(pkScript) > MaxScriptSize
}

// DisasmScript renders a script the way the seeds and Bitcoin Core show it:
// "OP_DUP OP_HASH160 <hex> OP_EQUALVERIFY OP_CHECKSIG". A script that does
// not parse ends with "[error]".
func DisasmScript(script []byte) string {
	ops, err := ParseScript(script)
	parts := make([]string, 0, len(ops)+1)
	for _, op := range ops {
		switch {
		case op.Data != nil:
			parts = append(parts, hex.EncodeToString(op.Data))
		case op.Opcode >= OP_1 && op.Opcode <= OP_16:
			parts = append(parts, "OP_"+strconv.Itoa(int(op.Opcode-OP_1+1)))
		default:
			if name, ok := opcodeNames[op.Opcode]; ok {
				parts = append(parts, name)
			} else {
				parts = append(parts, "OP_UNKNOWN_"+hex.EncodeToString([]byte{op.Opcode}))
			}
		}
	}
	if err != nil {
		parts = append(parts, "[error]")
	}
	return strings.Join(parts, " ")
}
