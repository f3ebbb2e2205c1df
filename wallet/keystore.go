package wallet

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
)

// The keystore file is JSON with a public part (network, account extended
// public key, address counters, imported addresses) and a secret part (the
// mnemonic, its BIP39 passphrase and imported private keys). The secret part
// is sealed with XChaCha20-Poly1305 under a key derived from the passphrase
// with scrypt; the public part is bound to it as additional data, so editing
// it breaks decryption. Without a passphrase the secret part is stored in
// the clear (Bitcoin Core's default), and the node warns loudly.
//
// Files are written with mode 0600, atomically: a temporary file in the same
// directory is written, synced and renamed over the old one, and the
// directory is synced, so a crash leaves either the old or the new file.

// Keystore errors. None of them ever includes secret material.
var (
	// ErrWrongPassphrase is returned when the passphrase does not open the
	// keystore.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrKeystoreCorrupt is returned for a keystore file that does not
	// parse or is truncated.
	ErrKeystoreCorrupt = errors.New("keystore file is corrupt")
	// ErrKeystoreExists is returned when creating over an existing file.
	ErrKeystoreExists = errors.New("keystore file already exists")
	// ErrLocked is returned by operations that need the secrets of an
	// encrypted wallet that was not unlocked.
	ErrLocked = errors.New("wallet is locked: the passphrase is needed")
)

const keystoreVersion = 1

// KDFParams are scrypt's cost parameters.
type KDFParams struct {
	N int `json:"n"`
	R int `json:"r"`
	P int `json:"p"`
}

// DefaultKDF costs about 32 MiB and 0.1 s on a current CPU.
var DefaultKDF = KDFParams{N: 1 << 15, R: 8, P: 1}

type keystoreFile struct {
	Version    int         `json:"version"`
	Public     publicData  `json:"public"`
	Encryption *encryption `json:"encryption,omitempty"`
	Sealed     []byte      `json:"sealed,omitempty"` // encrypted secretData
	Plain      *secretData `json:"plain,omitempty"`  // unencrypted secretData
}

type publicData struct {
	Network      string   `json:"network"`
	AccountXPub  string   `json:"account_xpub,omitempty"` // serialized with the zero version
	ReceiveNext  uint32   `json:"receive_next"`
	ChangeNext   uint32   `json:"change_next"`
	ImportedPKHs []string `json:"imported,omitempty"` // hex pubkey hashes of imported keys
}

type encryption struct {
	KDF    string    `json:"kdf"`
	Params KDFParams `json:"params"`
	Salt   []byte    `json:"salt"`
	Cipher string    `json:"cipher"`
	Nonce  []byte    `json:"nonce"`
}

type secretData struct {
	Mnemonic        string   `json:"mnemonic,omitempty"`
	BIP39Passphrase string   `json:"bip39_passphrase,omitempty"`
	ImportedWIF     []string `json:"imported_wif,omitempty"`
}

// deriveKey runs scrypt.
func deriveKey(passphrase []byte, salt []byte, p KDFParams) ([]byte, error) {
	if p.N < 2 || p.N > 1<<22 || p.N&(p.N-1) != 0 || p.R < 1 || p.R > 64 || p.P < 1 || p.P > 16 {
		return nil, fmt.Errorf("%w: scrypt parameters out of range", ErrKeystoreCorrupt)
	}
	return scrypt.Key(passphrase, salt, p.N, p.R, p.P, chacha20poly1305.KeySize)
}

// aad is the additional data bound to the ciphertext: the public fields an
// attacker could use to redirect funds (network, account key, imported
// addresses). The address counters are left out so a locked wallet can
// still hand out addresses.
func (f *keystoreFile) aad() []byte {
	b, _ := json.Marshal(struct {
		Network  string
		Account  string
		Imported []string
	}{f.Public.Network, f.Public.AccountXPub, f.Public.ImportedPKHs})
	return b
}

// seal encrypts secrets into f with key (from deriveKey over f's salt).
func (f *keystoreFile) seal(key []byte, s *secretData) error {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f.Encryption.Nonce = nonce
	f.Sealed = aead.Seal(nil, nonce, plain, f.aad())
	f.Plain = nil
	return nil
}

// open decrypts f's secrets with key.
func (f *keystoreFile) open(key []byte) (*secretData, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	if len(f.Encryption.Nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: bad nonce", ErrKeystoreCorrupt)
	}
	plain, err := aead.Open(nil, f.Encryption.Nonce, f.Sealed, f.aad())
	if err != nil {
		// A wrong key and a tampered file look the same to an AEAD.
		return nil, ErrWrongPassphrase
	}
	var s secretData
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("%w: secret part does not parse", ErrKeystoreCorrupt)
	}
	return &s, nil
}

// readKeystore reads and parses a keystore file without changing it.
func readKeystore(path string) (*keystoreFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f keystoreFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %s does not parse (truncated or damaged)", ErrKeystoreCorrupt, path)
	}
	switch {
	case f.Version != keystoreVersion:
		return nil, fmt.Errorf("%w: %s has format version %d, want %d", ErrKeystoreCorrupt, path, f.Version, keystoreVersion)
	case f.Encryption == nil && f.Plain == nil:
		return nil, fmt.Errorf("%w: %s holds no keys", ErrKeystoreCorrupt, path)
	case f.Encryption != nil && (f.Encryption.KDF != "scrypt" || f.Encryption.Cipher != "xchacha20-poly1305" || len(f.Sealed) == 0):
		return nil, fmt.Errorf("%w: %s: unknown encryption", ErrKeystoreCorrupt, path)
	}
	return &f, nil
}

// tempPattern is the name of writeFileAtomic's temporary file for path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// removeStaleTemps deletes the temporary files a crash left beside path
// while it was being written. They may hold the plaintext backup phrase of
// an unencrypted wallet; the keystore itself is whole (the rename is the
// commit), so nothing of value is lost.
func removeStaleTemps(path string) error {
	stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s, left by a crash while the wallet was written: %w", f, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to path with mode 0600 so that a crash leaves
// either the old file or the new one, never a mix.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
