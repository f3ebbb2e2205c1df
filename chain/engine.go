package chain

import (
	"bytes"
	"crypto/sha256"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // RIPEMD-160 is what Bitcoin addresses use.
)

// Hash160 returns RIPEMD160(SHA256(b)), the hash of a public key in a P2PKH
// script and address.
func Hash160(b []byte) [20]byte {
	s := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(s[:])
	var out [20]byte
	copy(out[:], r.Sum(nil))
	return out
}

// scriptEngine executes one input's unlocking script followed by the locking
// script of the output it spends.
type scriptEngine struct {
	tx     *Tx
	idx    int
	amount uint64
	pk     []byte // the locking script, committed to as the script code
	sh     *SigHashes
	cache  *SigCache
	stack  [][]byte
	ops    int
}

// VerifyScript checks that sigScript unlocks pkScript for input idx of tx,
// which spends an output of the given amount. The rules:
//   - the unlocking script may only push data;
//   - it runs first, then the locking script runs on the stack it left;
//   - at the end exactly one item must remain, and it must be true;
//   - a failed signature check with a non-empty signature is an error, not a
//     false on the stack.
//
// sh may be nil; pass NewSigHashes(tx) when checking several inputs.
func VerifyScript(sigScript, pkScript []byte, tx *Tx, idx int, amount uint64, sh *SigHashes) error {
	return verifyScript(sigScript, pkScript, tx, idx, amount, sh, nil)
}

// verifyScript is VerifyScript with a signature cache (nil: none).
func verifyScript(sigScript, pkScript []byte, tx *Tx, idx int, amount uint64, sh *SigHashes, cache *SigCache) error {
	if len(sigScript) > MaxScriptSize || len(pkScript) > MaxScriptSize {
		return ruleError(ErrScriptTooBig, "input %d: script larger than %d bytes", idx, MaxScriptSize)
	}
	if !IsPushOnly(sigScript) {
		return ruleError(ErrSigNotPushOnly, "input %d: signature script is not push-only", idx)
	}
	if sh == nil {
		sh = NewSigHashes(tx)
	}
	e := &scriptEngine{tx: tx, idx: idx, amount: amount, pk: pkScript, sh: sh, cache: cache}
	if err := e.run(sigScript); err != nil {
		return err
	}
	e.ops = 0
	if err := e.run(pkScript); err != nil {
		return err
	}
	if len(e.stack) != 1 {
		return ruleError(ErrScriptFailed, "input %d: %d items left on the stack, want exactly 1", idx, len(e.stack))
	}
	if !castToBool(e.stack[0]) {
		return ruleError(ErrScriptFailed, "input %d: script evaluated to false", idx)
	}
	return nil
}

func (e *scriptEngine) fail(format string, args ...any) error {
	return ruleError(ErrScriptFailed, "input %d: "+format, append([]any{e.idx}, args...)...)
}

func (e *scriptEngine) push(b []byte) error {
	if len(e.stack) >= MaxStackSize {
		return e.fail("stack larger than %d items", MaxStackSize)
	}
	e.stack = append(e.stack, b)
	return nil
}

func (e *scriptEngine) pop() ([]byte, error) {
	if len(e.stack) == 0 {
		return nil, e.fail("pop from an empty stack")
	}
	top := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	return top, nil
}

func (e *scriptEngine) run(script []byte) error {
	ops, err := ParseScript(script)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if len(op.Data) > MaxScriptElementSize {
			return e.fail("push of %d bytes exceeds %d", len(op.Data), MaxScriptElementSize)
		}
		if err := CheckMinimalPush(op); err != nil {
			return ruleError(ErrMinimalData, "input %d: %v", e.idx, err)
		}
		if op.Opcode > OP_16 {
			if e.ops++; e.ops > MaxOpsPerScript {
				return e.fail("more than %d operations", MaxOpsPerScript)
			}
		}
		if err := e.step(op); err != nil {
			return err
		}
	}
	return nil
}

func (e *scriptEngine) step(op ScriptOp) error {
	switch c := op.Opcode; {
	case c == OP_0:
		return e.push(nil)
	case c <= OP_PUSHDATA4:
		return e.push(op.Data)
	case c == OP_1NEGATE:
		return e.push([]byte{0x81})
	case c >= OP_1 && c <= OP_16:
		return e.push([]byte{c - OP_1 + 1})
	case c == OP_NOP:
		return nil
	case c == OP_VERIFY:
		return e.verify("OP_VERIFY")
	case c == OP_RETURN:
		return e.fail("OP_RETURN executed")
	case c == OP_DUP:
		if len(e.stack) == 0 {
			return e.fail("OP_DUP on an empty stack")
		}
		return e.push(e.stack[len(e.stack)-1])
	case c == OP_EQUAL, c == OP_EQUALVERIFY:
		a, err := e.pop()
		if err != nil {
			return err
		}
		b, err := e.pop()
		if err != nil {
			return err
		}
		if err := e.push(boolBytes(bytes.Equal(a, b))); err != nil {
			return err
		}
		if c == OP_EQUALVERIFY {
			return e.verify("OP_EQUALVERIFY")
		}
		return nil
	case c == OP_HASH160:
		a, err := e.pop()
		if err != nil {
			return err
		}
		h := Hash160(a)
		return e.push(h[:])
	case c == OP_CHECKSIG, c == OP_CHECKSIGVRFY:
		pub, err := e.pop()
		if err != nil {
			return err
		}
		sig, err := e.pop()
		if err != nil {
			return err
		}
		ok, err := e.checkSig(sig, pub)
		if err != nil {
			return err
		}
		if err := e.push(boolBytes(ok)); err != nil {
			return err
		}
		if c == OP_CHECKSIGVRFY {
			return e.verify("OP_CHECKSIGVERIFY")
		}
		return nil
	default:
		return e.fail("opcode %#02x is not supported", c)
	}
}

func (e *scriptEngine) verify(name string) error {
	v, err := e.pop()
	if err != nil {
		return err
	}
	if !castToBool(v) {
		return e.fail("%s failed", name)
	}
	return nil
}

// checkSig checks a signature (DER followed by a sighash-type byte) against a
// public key. An empty signature is a plain false; any other failure is an
// error.
func (e *scriptEngine) checkSig(sig, pub []byte) (bool, error) {
	if len(sig) == 0 {
		return false, nil
	}
	hashType := SigHashType(sig[len(sig)-1])
	if hashType != SigHashAll {
		return false, ruleError(ErrSigHashType, "input %d: sighash type %#02x is not SIGHASH_ALL", e.idx, byte(hashType))
	}
	digest, err := CalcSignatureHash(e.tx, e.idx, e.pk, e.amount, hashType, e.sh)
	if err != nil {
		return false, err
	}
	var key [32]byte
	if e.cache != nil {
		key = sigCacheKey(digest, sig, pub)
		if e.cache.has(key) {
			return true, nil
		}
	}
	pk, err := ParsePubKey(pub)
	if err != nil {
		return false, err
	}
	if err := VerifySignature(pk, digest[:], sig[:len(sig)-1]); err != nil {
		return false, err
	}
	e.cache.add(key)
	return true, nil
}

// castToBool is Bitcoin's truth test: any non-zero byte is true, except a
// lone sign bit in the last byte (negative zero).
func castToBool(b []byte) bool {
	for i, c := range b {
		if c != 0 {
			return !(i == len(b)-1 && c == 0x80)
		}
	}
	return false
}

func boolBytes(v bool) []byte {
	if v {
		return []byte{1}
	}
	return nil
}
