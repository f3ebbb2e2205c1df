package wallet

import (
	"errors"
	"fmt"

	"github.com/minichain/minichain/chain"
)

// Address is a P2PKH address: the hash of a public key and the network it
// belongs to. Its text form is Base58Check(version || pubkey hash) with the
// network's version byte, as Bitcoin's P2PKH addresses.
type Address struct {
	PKH    [20]byte
	Params *chain.Params
}

// Address errors.
var (
	// ErrAddressFormat is returned for a string that is not an address.
	ErrAddressFormat = errors.New("invalid address")
	// ErrWrongNetwork is returned for an address or key of another network.
	ErrWrongNetwork = errors.New("wrong network")
)

// networks lists the known networks, to name the network of a foreign
// address in errors.
var networks = []*chain.Params{chain.DevnetParams, chain.RegtestParams}

// NewAddress returns the address of a public key hash on a network.
func NewAddress(pkh [20]byte, p *chain.Params) Address { return Address{PKH: pkh, Params: p} }

// AddressFromPubKey returns the address of a 33-byte compressed public key.
func AddressFromPubKey(pub []byte, p *chain.Params) Address {
	return Address{PKH: chain.Hash160(pub), Params: p}
}

// String returns the Base58Check form.
func (a Address) String() string { return EncodeBase58Check(a.Params.AddressVersion, a.PKH[:]) }

// Script returns the P2PKH locking script paying the address.
func (a Address) Script() []byte { return chain.PayToPubKeyHashScript(a.PKH) }

// MarshalText encodes the address as its string.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// DecodeAddress parses an address of network p. An address of another
// network is an ErrWrongNetwork error naming both networks.
func DecodeAddress(s string, p *chain.Params) (Address, error) {
	version, payload, err := DecodeBase58Check(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w %q: %v", ErrAddressFormat, s, err)
	}
	if len(payload) != 20 {
		return Address{}, fmt.Errorf("%w %q: payload of %d bytes, want 20", ErrAddressFormat, s, len(payload))
	}
	if version != p.AddressVersion {
		for _, other := range networks {
			if other.AddressVersion == version {
				return Address{}, fmt.Errorf("%w: %s is a %s address, this is %s", ErrWrongNetwork, s, other.Name, p.Name)
			}
		}
		return Address{}, fmt.Errorf("%w: %s has version byte %#02x, %s addresses have %#02x",
			ErrWrongNetwork, s, version, p.Name, p.AddressVersion)
	}
	var a Address
	copy(a.PKH[:], payload)
	a.Params = p
	return a, nil
}

// AddressOfScript returns the address a locking script pays, if it is
// P2PKH.
func AddressOfScript(pkScript []byte, p *chain.Params) (Address, bool) {
	pkh, ok := chain.ExtractPubKeyHash(pkScript)
	if !ok {
		return Address{}, false
	}
	return Address{PKH: pkh, Params: p}, true
}
