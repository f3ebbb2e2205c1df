package wallet

import (
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

// ErrWIF is returned for a string that is not a valid WIF private key. The
// error never contains the string itself.
var ErrWIF = errors.New("invalid WIF private key")

// EncodeWIF exports a private key in Wallet Import Format for network p:
// Base58Check(version || key (32) || 0x01), the 0x01 marking a compressed
// public key, as Bitcoin's.
func EncodeWIF(k *secp256k1.PrivateKey, p *chain.Params) string {
	b := k.Key.Bytes()
	return EncodeBase58Check(p.WIFVersion, append(b[:], 0x01))
}

// DecodeWIF imports a WIF private key of network p. Only keys for compressed
// public keys are accepted, since those are the only ones scripts accept.
func DecodeWIF(s string, p *chain.Params) (*secp256k1.PrivateKey, error) {
	version, payload, err := DecodeBase58Check(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWIF, err)
	}
	if version != p.WIFVersion {
		for _, other := range networks {
			if other.WIFVersion == version {
				return nil, fmt.Errorf("%w: the key is for %s, this is %s", ErrWrongNetwork, other.Name, p.Name)
			}
		}
		return nil, fmt.Errorf("%w: version byte %#02x is not %s's %#02x", ErrWIF, version, p.Name, p.WIFVersion)
	}
	if len(payload) != 33 || payload[32] != 0x01 {
		return nil, fmt.Errorf("%w: only keys of compressed public keys (33 bytes ending in 01) are accepted", ErrWIF)
	}
	var scalar secp256k1.ModNScalar
	if overflow := scalar.SetByteSlice(payload[:32]); overflow || scalar.IsZero() {
		return nil, fmt.Errorf("%w: key is out of range", ErrWIF)
	}
	return secp256k1.NewPrivateKey(&scalar), nil
}
