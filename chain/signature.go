package chain

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// SigHashType is the byte appended to a signature that says what it commits
// to. Only SigHashAll exists here: a signature commits to every input and
// output.
type SigHashType byte

// SigHashAll commits to all inputs and all outputs.
const SigHashAll SigHashType = 0x01

// CompressedPubKeyLen is the length of the only public key form accepted.
const CompressedPubKeyLen = 33

// ParsePubKey parses a 33-byte compressed secp256k1 public key; every other
// form (uncompressed, hybrid, off the curve) is an ErrPubKeyFormat.
func ParsePubKey(b []byte) (*secp256k1.PublicKey, error) {
	if len(b) != CompressedPubKeyLen || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, ruleError(ErrPubKeyFormat, "public key must be 33 bytes, compressed (02 or 03 prefix); got %d bytes", len(b))
	}
	pk, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, ruleError(ErrPubKeyFormat, "public key: %v", err)
	}
	return pk, nil
}

// checkDEREncoding checks that sig is a strictly DER-encoded ECDSA signature
// (BIP66): 0x30 len 0x02 rlen R 0x02 slen S, with R and S positive, minimally
// encoded integers and no trailing bytes.
func checkDEREncoding(sig []byte) error {
	bad := func(why string) error { return ruleError(ErrSigDER, "signature is not strict DER: %s", why) }
	switch {
	case len(sig) < 8:
		return bad("too short")
	case len(sig) > 72:
		return bad("too long")
	case sig[0] != 0x30:
		return bad("no sequence tag")
	case int(sig[1]) != len(sig)-2:
		return bad("sequence length does not match")
	}
	rLen := int(sig[3])
	if 5+rLen >= len(sig) {
		return bad("R length runs past the end")
	}
	sLen := int(sig[5+rLen])
	if rLen+sLen+6 != len(sig) {
		return bad("lengths do not add up")
	}
	checkInt := func(name string, tag byte, b []byte) error {
		switch {
		case tag != 0x02:
			return bad(name + " is not an integer")
		case len(b) == 0:
			return bad(name + " is empty")
		case b[0]&0x80 != 0:
			return bad(name + " is negative")
		case len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0:
			return bad(name + " has excess padding")
		}
		return nil
	}
	if err := checkInt("R", sig[2], sig[4:4+rLen]); err != nil {
		return err
	}
	return checkInt("S", sig[4+rLen], sig[6+rLen:])
}

// ParseSignature parses a strict-DER ECDSA signature (without a sighash
// byte) and requires R and S in [1, N-1] and S in the lower half of the
// order (low-S), which makes signatures non-malleable.
func ParseSignature(der []byte) (*ecdsa.Signature, error) {
	if err := checkDEREncoding(der); err != nil {
		return nil, err
	}
	rLen := int(der[3])
	rb := trimZero(der[4 : 4+rLen])
	sb := trimZero(der[6+rLen:])
	if len(rb) > 32 || len(sb) > 32 {
		return nil, ruleError(ErrSigDER, "signature R or S is larger than the group order")
	}
	var r, s secp256k1.ModNScalar
	if overflow := r.SetByteSlice(rb); overflow || r.IsZero() {
		return nil, ruleError(ErrSigDER, "signature R is zero or not below the group order")
	}
	if overflow := s.SetByteSlice(sb); overflow || s.IsZero() {
		return nil, ruleError(ErrSigDER, "signature S is zero or not below the group order")
	}
	if s.IsOverHalfOrder() {
		return nil, ruleError(ErrSigHighS, "signature S is in the upper half of the group order")
	}
	return ecdsa.NewSignature(&r, &s), nil
}

func trimZero(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// VerifySignature checks a strict-DER, low-S signature of hash by pub.
func VerifySignature(pub *secp256k1.PublicKey, hash []byte, der []byte) error {
	sig, err := ParseSignature(der)
	if err != nil {
		return err
	}
	if !sig.Verify(hash, pub) {
		return ruleError(ErrSignatureMismatch, "signature does not verify")
	}
	return nil
}
