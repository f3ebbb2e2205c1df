// Package wallet holds keys and builds payments: secp256k1 keys, P2PKH
// addresses in Base58Check with a version byte per network, WIF import and
// export, BIP39 mnemonics with BIP32 derivation of receive and change
// addresses, an encrypted keystore file, coin selection and signing, and
// balances and history computed from a Ledger (the node's view of the chain
// and pool). The wallet never talks to the network itself.
//
// # Keystore
//
// A wallet lives in one JSON file (mode 0600, replaced atomically on every
// change). Its secret part — the mnemonic and any imported keys — is sealed
// with XChaCha20-Poly1305 under a key derived from the passphrase by scrypt;
// the account's extended public key and the address counters stay readable,
// so addresses can be handed out and balances shown without the passphrase.
// See docs/WALLET.md for backup and restore.
//
// # Errors
//
// Sentinels, tested with errors.Is: ErrWrongPassphrase, ErrKeystoreCorrupt,
// ErrKeystoreExists, ErrLocked, ErrWrongNetwork, ErrAddressFormat, ErrWIF,
// ErrMnemonic, ErrAmount, ErrDustAmount, and ErrInsufficientFunds (the kind
// of *InsufficientFundsError, which says how much is there and how much is
// needed). No error message ever contains a private key, a WIF string or a
// mnemonic.
package wallet
