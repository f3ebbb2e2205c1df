package p2p

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// LoadOrCreateKey returns the identity key stored in path, creating an
// Ed25519 key there (mode 0600) if the file does not exist. The file holds
// the key in libp2p's protobuf encoding, hex-encoded.
func LoadOrCreateKey(path string) (crypto.PrivKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, err
		}
		raw, err := crypto.MarshalPrivateKey(k)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write identity key: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("write identity key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read identity key: %w", err)
	}
	return ParseKey(b)
}

// ParseKey decodes an identity key file: hex (as LoadOrCreateKey writes
// it) or raw protobuf bytes.
func ParseKey(b []byte) (crypto.PrivKey, error) {
	if raw, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil {
		b = raw
	}
	k, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("identity key does not decode: %w", err)
	}
	return k, nil
}
