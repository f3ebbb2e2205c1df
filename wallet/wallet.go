package wallet

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
)

// Derivation layout (BIP44 with coin type 1, "testnet", for both networks):
//
//	m/44'/1'/0'/0/i   receive addresses
//	m/44'/1'/0'/1/i   change addresses
//
// The account's extended public key is kept in the clear, so new addresses
// can be handed out without the passphrase; spending needs it.
var accountPath = []uint32{44 + HardenedOffset, 1 + HardenedOffset, 0 + HardenedOffset}

// tpubVersion is the version bytes the account key is serialized with.
const tpubVersion = 0x043587CF

// DefaultGapLimit is how many unused addresses in a row end a restore scan.
const DefaultGapLimit = 20

// AddressInfo describes one of the wallet's addresses.
type AddressInfo struct {
	Address Address `json:"address"`
	// Path is the derivation path, or "imported".
	Path   string `json:"path"`
	Change bool   `json:"change"`
	Index  uint32 `json:"index"`
}

// Wallet is a deterministic wallet (one BIP39 mnemonic, BIP32 receive and
// change chains) plus any imported single keys, kept in a keystore file.
// It is safe for concurrent use.
type Wallet struct {
	params *chain.Params
	path   string // "" keeps the wallet in memory only

	mu       sync.Mutex
	file     keystoreFile
	account  *ExtendedKey // public account key
	addrs    map[[20]byte]AddressInfo
	key      []byte      // encryption key while unlocked (encrypted wallets)
	secrets  *secretData // nil while locked
	acctPriv *ExtendedKey
	imported map[[20]byte]*secp256k1.PrivateKey
}

// CreateOptions configure Create.
type CreateOptions struct {
	// Mnemonic restores an existing wallet; empty creates a new one.
	Mnemonic string
	// Words is the length of a new mnemonic: 12 or 24 (default 12).
	Words int
	// BIP39Passphrase is the optional extra word of BIP39 (not the file
	// passphrase).
	BIP39Passphrase string
	// Passphrase encrypts the keystore; nil stores it unencrypted.
	Passphrase []byte
	// KDF are the scrypt costs (zero: DefaultKDF).
	KDF KDFParams
}

// Create makes a new wallet and writes its keystore to path (which must not
// exist; "" keeps it in memory). It returns the wallet unlocked and the
// mnemonic, which the caller shows to the user once and never logs.
func Create(path string, p *chain.Params, opts CreateOptions) (*Wallet, string, error) {
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return nil, "", fmt.Errorf("%w: %s", ErrKeystoreExists, path)
		}
	}
	mnemonic := NormalizeMnemonic(opts.Mnemonic)
	if mnemonic == "" {
		words := opts.Words
		if words == 0 {
			words = 12
		}
		var err error
		if mnemonic, err = NewMnemonic(words); err != nil {
			return nil, "", err
		}
	}
	seed, err := SeedFromMnemonic(mnemonic, opts.BIP39Passphrase)
	if err != nil {
		return nil, "", err
	}
	master, err := NewMasterKey(seed)
	if err != nil {
		return nil, "", err
	}
	acctPriv, err := master.Derive(accountPath)
	if err != nil {
		return nil, "", err
	}
	w := &Wallet{params: p, path: path, addrs: make(map[[20]byte]AddressInfo),
		imported: make(map[[20]byte]*secp256k1.PrivateKey), acctPriv: acctPriv,
		account: acctPriv.Neuter(),
		secrets: &secretData{Mnemonic: mnemonic, BIP39Passphrase: opts.BIP39Passphrase}}
	w.file = keystoreFile{Version: keystoreVersion, Public: publicData{
		Network: p.Name, AccountXPub: w.account.Serialize(tpubVersion)}}
	if opts.Passphrase != nil {
		kdf := opts.KDF
		if kdf == (KDFParams{}) {
			kdf = DefaultKDF
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, "", err
		}
		if w.key, err = deriveKey(opts.Passphrase, salt, kdf); err != nil {
			return nil, "", err
		}
		w.file.Encryption = &encryption{KDF: "scrypt", Params: kdf, Salt: salt, Cipher: "xchacha20-poly1305"}
	}
	if err := w.saveLocked(); err != nil {
		return nil, "", err
	}
	return w, mnemonic, nil
}

// Open reads a keystore. An unencrypted wallet is ready to spend; an
// encrypted one is locked until Unlock. A damaged or truncated file is an
// ErrKeystoreCorrupt error and is left untouched.
func Open(path string, p *chain.Params) (*Wallet, error) {
	if err := removeStaleTemps(path); err != nil {
		return nil, err
	}
	f, err := readKeystore(path)
	if err != nil {
		return nil, err
	}
	if f.Public.Network != p.Name {
		return nil, fmt.Errorf("%w: the wallet in %s is for %s, this is %s", ErrWrongNetwork, path, f.Public.Network, p.Name)
	}
	acct, _, err := ParseExtendedKey(f.Public.AccountXPub)
	if err != nil || acct.IsPrivate() {
		return nil, fmt.Errorf("%w: account key does not parse", ErrKeystoreCorrupt)
	}
	w := &Wallet{params: p, path: path, file: *f, account: acct,
		addrs: make(map[[20]byte]AddressInfo), imported: make(map[[20]byte]*secp256k1.PrivateKey)}
	if err := w.indexAddresses(); err != nil {
		return nil, err
	}
	if f.Plain != nil {
		if err := w.loadSecrets(f.Plain); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Unlock decrypts the secrets of an encrypted wallet; ErrWrongPassphrase
// when the passphrase does not open it.
func (w *Wallet) Unlock(passphrase []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file.Encryption == nil || w.secrets != nil {
		return nil
	}
	key, err := deriveKey(passphrase, w.file.Encryption.Salt, w.file.Encryption.Params)
	if err != nil {
		return err
	}
	s, err := w.file.open(key)
	if err != nil {
		return err
	}
	if err := w.loadSecrets(s); err != nil {
		return err
	}
	w.key = key
	return nil
}

// Lock forgets the decrypted secrets of an encrypted wallet.
func (w *Wallet) Lock() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file.Encryption == nil {
		return
	}
	w.secrets, w.acctPriv, w.key = nil, nil, nil
	w.imported = make(map[[20]byte]*secp256k1.PrivateKey)
}

// Encrypted reports whether the keystore is encrypted.
func (w *Wallet) Encrypted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.file.Encryption != nil
}

// Locked reports whether spending needs Unlock first.
func (w *Wallet) Locked() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.secrets == nil
}

// Params returns the wallet's network.
func (w *Wallet) Params() *chain.Params { return w.params }

// loadSecrets checks the secrets against the public part and keeps them.
// Called with mu held (or before w is shared).
func (w *Wallet) loadSecrets(s *secretData) error {
	seed, err := SeedFromMnemonic(s.Mnemonic, s.BIP39Passphrase)
	if err != nil {
		return fmt.Errorf("%w: stored mnemonic is invalid", ErrKeystoreCorrupt)
	}
	master, err := NewMasterKey(seed)
	if err != nil {
		return err
	}
	acctPriv, err := master.Derive(accountPath)
	if err != nil {
		return err
	}
	if acctPriv.Neuter().Serialize(tpubVersion) != w.file.Public.AccountXPub {
		return fmt.Errorf("%w: the mnemonic does not match the account key", ErrKeystoreCorrupt)
	}
	imported := make(map[[20]byte]*secp256k1.PrivateKey)
	for _, wif := range s.ImportedWIF {
		k, err := DecodeWIF(wif, w.params)
		if err != nil {
			return fmt.Errorf("%w: an imported key does not decode", ErrKeystoreCorrupt)
		}
		imported[chain.Hash160(k.PubKey().SerializeCompressed())] = k
	}
	w.secrets, w.acctPriv, w.imported = s, acctPriv, imported
	return nil
}

// deriveAddr derives the address at (change, index) from the public
// account key.
func (w *Wallet) deriveAddr(change bool, index uint32) ([20]byte, error) {
	k, err := w.account.Derive([]uint32{chainIndex(change), index})
	if err != nil {
		return [20]byte{}, err
	}
	return chain.Hash160(k.PublicKey()), nil
}

func pathString(change bool, index uint32) string {
	return fmt.Sprintf("m/44'/1'/0'/%d/%d", chainIndex(change), index)
}

// chainIndex is the BIP44 chain of an address: 0 receive, 1 change.
func chainIndex(change bool) uint32 {
	if change {
		return 1
	}
	return 0
}

// nextIndex is the counter of the next address of a chain. Called with mu
// held (or before w is shared).
func (w *Wallet) nextIndex(change bool) *uint32 {
	if change {
		return &w.file.Public.ChangeNext
	}
	return &w.file.Public.ReceiveNext
}

// indexAddresses derives every address handed out so far. Called with mu
// held (or before w is shared).
func (w *Wallet) indexAddresses() error {
	for _, change := range []bool{false, true} {
		for i := uint32(0); i < *w.nextIndex(change); i++ {
			pkh, err := w.deriveAddr(change, i)
			if errors.Is(err, ErrInvalidChild) {
				continue
			}
			if err != nil {
				return err
			}
			w.addrs[pkh] = AddressInfo{Address: NewAddress(pkh, w.params), Path: pathString(change, i), Change: change, Index: i}
		}
	}
	for _, h := range w.file.Public.ImportedPKHs {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 20 {
			return fmt.Errorf("%w: imported address record", ErrKeystoreCorrupt)
		}
		var pkh [20]byte
		copy(pkh[:], b)
		w.addrs[pkh] = AddressInfo{Address: NewAddress(pkh, w.params), Path: "imported"}
	}
	return nil
}

// NewAddress hands out the next receive (or change) address and saves the
// keystore.
func (w *Wallet) NewAddress(change bool) (Address, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newAddressLocked(change)
}

func (w *Wallet) newAddressLocked(change bool) (Address, error) {
	next := w.nextIndex(change)
	for {
		i := *next
		*next++
		pkh, err := w.deriveAddr(change, i)
		if errors.Is(err, ErrInvalidChild) {
			continue
		}
		if err != nil {
			*next--
			return Address{}, err
		}
		info := AddressInfo{Address: NewAddress(pkh, w.params), Path: pathString(change, i), Change: change, Index: i}
		w.addrs[pkh] = info
		if err := w.saveLocked(); err != nil {
			*next--
			delete(w.addrs, pkh)
			return Address{}, err
		}
		return info.Address, nil
	}
}

// nextChange returns the next unused change address and its index without
// handing it out (see KeepChange).
func (w *Wallet) nextChange() (Address, uint32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := w.file.Public.ChangeNext; ; i++ {
		pkh, err := w.deriveAddr(true, i)
		if errors.Is(err, ErrInvalidChild) {
			continue
		}
		if err != nil {
			return Address{}, 0, err
		}
		return NewAddress(pkh, w.params), i, nil
	}
}

// KeepChange hands out the change address of an accepted payment, so the
// wallet counts its coins and the next payment takes a fresh one. Keeping a
// payment without change, or one kept before, does nothing.
func (w *Wallet) KeepChange(p *Payment) error {
	if p == nil || p.ChangeAddress == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	next := &w.file.Public.ChangeNext
	if p.changeIndex < *next {
		return nil
	}
	old := *next
	*next = p.changeIndex + 1
	pkh := p.ChangeAddress.PKH
	w.addrs[pkh] = AddressInfo{Address: *p.ChangeAddress, Path: pathString(true, p.changeIndex), Change: true, Index: p.changeIndex}
	if err := w.saveLocked(); err != nil {
		*next = old
		delete(w.addrs, pkh)
		return err
	}
	return nil
}

// DefaultAddress returns the first receive address, creating it if none
// was handed out yet: the node mines to it by default.
func (w *Wallet) DefaultAddress() (Address, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file.Public.ReceiveNext == 0 {
		return w.newAddressLocked(false)
	}
	pkh, err := w.deriveAddr(false, 0)
	if err != nil {
		return Address{}, err
	}
	return NewAddress(pkh, w.params), nil
}

// Addresses lists every address of the wallet: receive, then change, then
// imported, each in order.
func (w *Wallet) Addresses() []AddressInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]AddressInfo, 0, len(w.addrs))
	for _, a := range w.addrs {
		out = append(out, a)
	}
	rank := func(a AddressInfo) int {
		switch {
		case a.Path == "imported":
			return 2
		case a.Change:
			return 1
		}
		return 0
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		if out[i].Index != out[j].Index {
			return out[i].Index < out[j].Index
		}
		return out[i].Address.String() < out[j].Address.String()
	})
	return out
}

// PubKeyHashes returns the hashes of every wallet address.
func (w *Wallet) PubKeyHashes() [][20]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][20]byte, 0, len(w.addrs))
	for pkh := range w.addrs {
		out = append(out, pkh)
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i][:]) < string(out[j][:]) })
	return out
}

// Owns reports whether the public key hash belongs to the wallet.
func (w *Wallet) Owns(pkh [20]byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.addrs[pkh]
	return ok
}

// privKey returns the private key of a wallet address. Called with mu held.
func (w *Wallet) privKeyLocked(pkh [20]byte) (*secp256k1.PrivateKey, error) {
	if w.secrets == nil {
		return nil, ErrLocked
	}
	if k, ok := w.imported[pkh]; ok {
		return k, nil
	}
	info, ok := w.addrs[pkh]
	if !ok {
		return nil, fmt.Errorf("address %s does not belong to this wallet", NewAddress(pkh, w.params))
	}
	k, err := w.acctPriv.Derive([]uint32{chainIndex(info.Change), info.Index})
	if err != nil {
		return nil, err
	}
	return k.PrivateKey()
}

// ImportWIF adds a single private key (WIF of this network) and saves the
// keystore. The wallet must be unlocked.
func (w *Wallet) ImportWIF(wif string) (Address, error) {
	k, err := DecodeWIF(wif, w.params)
	if err != nil {
		return Address{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.secrets == nil {
		return Address{}, ErrLocked
	}
	pkh := chain.Hash160(k.PubKey().SerializeCompressed())
	a := NewAddress(pkh, w.params)
	if _, dup := w.addrs[pkh]; dup {
		return a, nil
	}
	w.secrets.ImportedWIF = append(w.secrets.ImportedWIF, EncodeWIF(k, w.params))
	w.file.Public.ImportedPKHs = append(w.file.Public.ImportedPKHs, hex.EncodeToString(pkh[:]))
	w.imported[pkh] = k
	w.addrs[pkh] = AddressInfo{Address: a, Path: "imported"}
	if err := w.saveLocked(); err != nil {
		return Address{}, err
	}
	return a, nil
}

// ExportWIF returns the private key of one of the wallet's addresses in
// WIF. The wallet must be unlocked.
func (w *Wallet) ExportWIF(a Address) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, err := w.privKeyLocked(a.PKH)
	if err != nil {
		return "", err
	}
	return EncodeWIF(k, w.params), nil
}

// Mnemonic returns the wallet's backup phrase. The wallet must be unlocked.
func (w *Wallet) Mnemonic() (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.secrets == nil {
		return "", ErrLocked
	}
	return w.secrets.Mnemonic, nil
}

// Scan extends the receive and change chains as far as used addresses go:
// it derives addresses until gap unused ones follow the last used one, and
// keeps every address up to the last used. A restored wallet calls it to
// find every address (and so every coin) of its mnemonic. used reports
// whether an address ever received anything.
func (w *Wallet) Scan(used func(pkh [20]byte) (bool, error), gap int) error {
	if gap <= 0 {
		gap = DefaultGapLimit
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, change := range []bool{false, true} {
		next := w.nextIndex(change)
		lastUsed := int64(-1)
		for i := uint32(0); int64(i) <= lastUsed+int64(gap); i++ {
			pkh, err := w.deriveAddr(change, i)
			if errors.Is(err, ErrInvalidChild) {
				continue
			}
			if err != nil {
				return err
			}
			ok, err := used(pkh)
			if err != nil {
				return err
			}
			if ok {
				lastUsed = int64(i)
			}
		}
		if uint32(lastUsed+1) > *next {
			*next = uint32(lastUsed + 1)
		}
	}
	if err := w.indexAddresses(); err != nil {
		return err
	}
	return w.saveLocked()
}

// saveLocked writes the keystore. Called with mu held.
func (w *Wallet) saveLocked() error {
	if w.file.Encryption != nil {
		if w.key != nil && w.secrets != nil {
			if err := w.file.seal(w.key, w.secrets); err != nil {
				return err
			}
		}
		// Locked: the sealed part is unchanged, and the public fields it
		// is bound to (network, account key, imports) cannot change
		// without the key.
	} else {
		w.file.Plain = w.secrets
	}
	if w.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(&w.file, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(w.path, append(b, '\n'))
}
