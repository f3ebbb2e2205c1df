package chain

import (
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// SignP2PKH sets the signature script of input idx of tx, which spends a
// P2PKH output of value locked to the hash of priv's compressed public key:
// a low-S DER signature (RFC 6979, so the same inputs sign the same way)
// with SIGHASH_ALL, then the key. sh holds the transaction's precomputed
// hashes (NewSigHashes); it stays valid while only signature scripts
// change.
func SignP2PKH(tx *Tx, idx int, priv *secp256k1.PrivateKey, value uint64, sh *SigHashes) error {
	if idx < 0 || idx >= len(tx.TxIn) {
		return fmt.Errorf("input %d out of range (%d inputs)", idx, len(tx.TxIn))
	}
	pub := priv.PubKey().SerializeCompressed()
	pkScript := PayToPubKeyHashScript(Hash160(pub))
	digest, err := CalcSignatureHash(tx, idx, pkScript, value, SigHashAll, sh)
	if err != nil {
		return err
	}
	sig := append(ecdsa.Sign(priv, digest[:]).Serialize(), byte(SigHashAll))
	tx.TxIn[idx].SigScript = AppendPush(AppendPush(nil, sig), pub)
	return nil
}
