package wallet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/chain/store"
)

// fastKDF keeps tests quick; the format stores the parameters, so files
// written with it open like any other.
var fastKDF = KDFParams{N: 1 << 10, R: 8, P: 1}

const testMnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

func TestKeystoreCreateOpenUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wallet.json")
	w, mnemonic, err := Create(path, chain.RegtestParams, CreateOptions{Passphrase: []byte("correct horse"), KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(mnemonic)) != 12 {
		t.Fatalf("mnemonic of %d words", len(strings.Fields(mnemonic)))
	}
	addr, err := w.NewAddress(false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	// A mnemonic in the clear would show adjacent words, as a phrase or a
	// JSON list. Single words are not checked: the file's own keys
	// ("public", "change", "index", "network") are BIP39 words, and a
	// random mnemonic holds one of them now and then.
	words := strings.Fields(mnemonic)
	for i := 1; i < len(words); i++ {
		for _, form := range []string{words[i-1] + " " + words[i], `"` + words[i-1] + `","` + words[i] + `"`, `"` + words[i-1] + `", "` + words[i] + `"`} {
			if bytes.Contains(raw, []byte(form)) {
				t.Fatalf("mnemonic words %q readable in the encrypted file", form)
			}
		}
	}
	if _, _, err := Create(path, chain.RegtestParams, CreateOptions{}); !errors.Is(err, ErrKeystoreExists) {
		t.Fatalf("create over an existing file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}

	w2, err := Open(path, chain.RegtestParams)
	if err != nil {
		t.Fatal(err)
	}
	if !w2.Locked() || !w2.Owns(addr.PKH) {
		t.Fatal("reopened wallet should be locked and know its addresses")
	}
	// Addresses can be handed out while locked.
	a2, err := w2.NewAddress(false)
	if err != nil || a2 == addr {
		t.Fatalf("new address while locked: %v", err)
	}
	if _, err := w2.Mnemonic(); !errors.Is(err, ErrLocked) {
		t.Fatal("mnemonic readable while locked")
	}
	if err := w2.Unlock([]byte("wrong horse")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if err := w2.Unlock([]byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	if m, _ := w2.Mnemonic(); m != mnemonic {
		t.Fatal("mnemonic changed")
	}
	if _, err := Open(path, chain.DevnetParams); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("regtest wallet opened as devnet: %v", err)
	}
}

func TestKeystoreUnencrypted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.json")
	w, _, err := Create(path, chain.RegtestParams, CreateOptions{Mnemonic: testMnemonic})
	if err != nil {
		t.Fatal(err)
	}
	if w.Encrypted() || w.Locked() {
		t.Fatal("a wallet without passphrase is neither encrypted nor locked")
	}
	w2, err := Open(path, chain.RegtestParams)
	if err != nil || w2.Locked() {
		t.Fatalf("reopen: %v", err)
	}
}

// TestStaleTempFilesRemoved: the temporary files a crash leaves while the
// keystore is written (for an unencrypted wallet they hold the plaintext
// phrase) are deleted when the wallet is opened next; the wallet opens
// whole.
func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.json")
	if _, _, err := Create(path, chain.RegtestParams, CreateOptions{Mnemonic: testMnemonic}); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".w.json.tmp-123456")
	other := filepath.Join(dir, ".other.json.tmp-1")
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte(`{"plain":"`+testMnemonic+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(path, chain.RegtestParams); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the wallet's stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another wallet's file was touched: %v", err)
	}
}

// TestKeystoreCorruption: a damaged or truncated file gives a clear error
// and is left exactly as it was.
func TestKeystoreCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.json")
	if _, _, err := Create(path, chain.RegtestParams, CreateOptions{Passphrase: []byte("pw"), KDF: fastKDF}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"truncated":     good[:len(good)/2],
		"empty":         {},
		"not json":      []byte("hello"),
		"flipped bit":   bytes.Replace(good, []byte(`"sealed": "`), []byte(`"sealed": "A`), 1),
		"other account": bytes.Replace(good, []byte(`"account_xpub": "tpub`), []byte(`"account_xpub": "tpuc`), 1),
	}
	for name, content := range cases {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Open(path, chain.RegtestParams)
		if err == nil {
			err = w.Unlock([]byte("pw"))
		}
		if err == nil {
			t.Errorf("%s: opened without error", name)
		} else if !errors.Is(err, ErrKeystoreCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("%s: unclear error %v", name, err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, content) {
			t.Errorf("%s: the file was modified", name)
		}
	}
}

// TestRestoreFindsAddresses: a wallet restored from its mnemonic finds the
// same addresses, as far as they were used, across gaps.
func TestRestoreFindsAddresses(t *testing.T) {
	orig, mnemonic, err := Create("", chain.RegtestParams, CreateOptions{Words: 24})
	if err != nil {
		t.Fatal(err)
	}
	used := map[[20]byte]bool{}
	var want []Address
	for i := 0; i < 30; i++ {
		a, err := orig.NewAddress(i%7 == 0)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
		if i%3 == 0 { // only some are used: gaps of 2 between them
			used[a.PKH] = true
		}
	}
	restored, _, err := Create("", chain.RegtestParams, CreateOptions{Mnemonic: mnemonic})
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Scan(func(pkh [20]byte) (bool, error) { return used[pkh], nil }, 5); err != nil {
		t.Fatal(err)
	}
	for _, a := range want {
		if used[a.PKH] && !restored.Owns(a.PKH) {
			t.Fatalf("restored wallet lost used address %s", a)
		}
	}
	k1, _ := orig.ExportWIF(want[0])
	k2, _ := restored.ExportWIF(want[0])
	if k1 != k2 {
		t.Fatal("restored keys differ")
	}
}

func TestImportExportWIF(t *testing.T) {
	w, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	faucet := chaintest.RegtestFaucet
	a, err := w.ImportWIF(EncodeWIF(faucet.Priv, chain.RegtestParams))
	if err != nil {
		t.Fatal(err)
	}
	if a.PKH != faucet.PKH || !w.Owns(faucet.PKH) {
		t.Fatal("imported address")
	}
	back, err := w.ExportWIF(a)
	if err != nil || back != EncodeWIF(faucet.Priv, chain.RegtestParams) {
		t.Fatalf("export: %v", err)
	}
	if _, err := w.ImportWIF(EncodeWIF(faucet.Priv, chain.DevnetParams)); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("devnet key into a regtest wallet: %v", err)
	}
}

// ledger is the node's view of chain + pool, for the tests.
type ledger struct {
	c  *chain.Chain
	mp *mempool.Mempool
}

func (l ledger) TipHeight() (int32, error) { return l.c.BestSnapshot().Height, nil }
func (l ledger) AddressUtxos(pkh [20]byte) ([]chain.AddressUtxo, error) {
	return l.c.AddressUtxos(pkh)
}
func (l ledger) AddressHistory(pkh [20]byte) ([]chain.AddressTx, error) {
	return l.c.AddressHistory(pkh)
}
func (l ledger) PendingTxs() ([]*chain.Tx, error) {
	var out []*chain.Tx
	for _, d := range l.mp.Ordered() {
		out = append(out, d.Tx)
	}
	return out, nil
}

func newLedger(t *testing.T) ledger {
	t.Helper()
	c, err := chain.New(chain.Config{Params: chain.RegtestParams, DB: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := mempool.New(mempool.Config{Params: chain.RegtestParams, Chain: c})
	if err != nil {
		t.Fatal(err)
	}
	return ledger{c: c, mp: mp}
}

// mine confirms the pool's transactions in a block.
func (l ledger) mine(t *testing.T) *chain.Block {
	t.Helper()
	txs, _ := l.PendingTxs()
	b := chaintest.MineOnTip(l.c, chaintest.NewKey("miner"), "m", txs...)
	l.mp.RemoveConfirmed(b)
	return b
}

// TestPaymentAcceptedByChain: a payment built by the wallet is accepted by
// the mempool and then by block validation, and balances follow.
func TestPaymentAcceptedByChain(t *testing.T) {
	l := newLedger(t)
	alice, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	bob, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	if _, err := alice.ImportWIF(EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams)); err != nil {
		t.Fatal(err)
	}
	bobAddr, _ := bob.NewAddress(false)

	pay, err := alice.BuildPayment(l, bobAddr, 150_000_000, PayOptions{FeeRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	if pay.ChangeAddress == nil || alice.Owns(pay.ChangeAddress.PKH) {
		t.Fatal("change must go to the wallet's next change address, reserved until KeepChange")
	}
	if pay.Fee < 2*uint64(pay.Tx.SerializeSize()) {
		t.Fatalf("fee %d below rate for %d bytes", pay.Fee, pay.Tx.SerializeSize())
	}
	if _, err := l.mp.AcceptTx(pay.Tx); err != nil {
		t.Fatalf("mempool rejected the wallet's payment: %v", err)
	}
	if err := alice.KeepChange(pay); err != nil || !alice.Owns(pay.ChangeAddress.PKH) {
		t.Fatalf("the kept change address is not the wallet's: %v", err)
	}
	// Unconfirmed: bob sees it as unconfirmed, alice's spend is pending.
	bb, _ := bob.Balance(l)
	if bb.Unconfirmed != 150_000_000 || bb.Confirmed != 0 {
		t.Fatalf("bob before mining: %+v", bb)
	}
	hist, _ := bob.History(l)
	if len(hist) != 1 || hist[0].Height != -1 || hist[0].Received != 150_000_000 {
		t.Fatalf("bob's history: %+v", hist)
	}
	// A second payment spends the unconfirmed change: a chain of pool txs.
	pay2, err := alice.BuildPayment(l, bobAddr, 10_000_000, PayOptions{FeeRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.mp.AcceptTx(pay2.Tx); err != nil {
		t.Fatalf("second payment: %v", err)
	}
	if err := alice.KeepChange(pay2); err != nil {
		t.Fatal(err)
	}
	l.mine(t)
	bb, _ = bob.Balance(l)
	if bb.Confirmed != 160_000_000 || bb.Unconfirmed != 0 || bb.Spendable != 160_000_000 {
		t.Fatalf("bob after mining: %+v", bb)
	}
	ab, _ := alice.Balance(l)
	faucetValue := chain.RegtestParams.GenesisBlock.Transactions[0].TxOut[0].Value
	if ab.Confirmed != faucetValue-160_000_000-pay.Fee-pay2.Fee {
		t.Fatalf("alice after mining: %+v", ab)
	}
	hist, _ = bob.History(l)
	if len(hist) != 2 || hist[0].Height != 1 {
		t.Fatalf("bob's history after mining: %+v", hist)
	}
}

func TestPaymentErrors(t *testing.T) {
	l := newLedger(t)
	w, mnemonic, _ := Create("", chain.RegtestParams, CreateOptions{})
	to, _ := w.NewAddress(false)
	_, err := w.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 1})
	var ife *InsufficientFundsError
	if !errors.As(err, &ife) || !errors.Is(err, ErrInsufficientFunds) || ife.Have != 0 {
		t.Fatalf("empty wallet: %v", err)
	}
	if !strings.Contains(err.Error(), "insufficient funds: have 0.00000000, need 0.00100") {
		t.Fatalf("message: %q", err)
	}
	if _, err := w.BuildPayment(l, to, 100, PayOptions{FeeRate: 1}); !errors.Is(err, ErrDustAmount) {
		t.Fatalf("dust payment: %v", err)
	}
	dev := NewAddress(to.PKH, chain.DevnetParams)
	if _, err := w.BuildPayment(l, dev, 100_000, PayOptions{FeeRate: 1}); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("devnet address: %v", err)
	}
	// No two consecutive words of the phrase appear in an error (single
	// words do by chance: "have" is a BIP39 word).
	words := strings.Fields(mnemonic)
	for _, e := range []error{err} {
		for i := 0; e != nil && i+1 < len(words); i++ {
			if strings.Contains(e.Error(), words[i]+" "+words[i+1]) {
				t.Fatalf("error mentions the mnemonic: %v", e)
			}
		}
	}
	// A coinbase that is not mature yet cannot be spent.
	miner, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	ma, _ := miner.NewAddress(false)
	key, _ := miner.privKeyLockedForTest(ma.PKH)
	b := chaintest.MineOnTip(l.c, &chaintest.Key{Priv: key, PubKey: key.PubKey().SerializeCompressed(), PKH: ma.PKH, Script: ma.Script()}, "cb")
	_ = b
	bal, _ := miner.Balance(l)
	if bal.Immature == 0 || bal.Spendable != 0 {
		t.Fatalf("immature coinbase: %+v", bal)
	}
	if _, err := miner.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 1}); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("spending an immature coinbase: %v", err)
	}
}

func (w *Wallet) privKeyLockedForTest(pkh [20]byte) (*secp256k1.PrivateKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.privKeyLocked(pkh)
}

// TestDustChangeGoesToFee: when the change would be dust, there is no change
// output and the fee takes it.
func TestDustChangeGoesToFee(t *testing.T) {
	l := newLedger(t)
	w, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	if _, err := w.ImportWIF(EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams)); err != nil {
		t.Fatal(err)
	}
	to, _ := w.NewAddress(false)
	faucetValue := chain.RegtestParams.GenesisBlock.Transactions[0].TxOut[0].Value
	amount := faucetValue - uint64(EstimateSize(1, 2)) - 100 // change of 100 units: dust
	pay, err := w.BuildPayment(l, to, amount, PayOptions{FeeRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(pay.Tx.TxOut) != 1 || pay.ChangeAddress != nil || pay.Fee != faucetValue-amount {
		t.Fatalf("outputs %d, fee %d", len(pay.Tx.TxOut), pay.Fee)
	}
	if _, err := l.mp.AcceptTx(pay.Tx); err != nil {
		t.Fatal(err)
	}
}

// TestFailedSendsDoNotBurnChangeAddresses: a payment the node refuses
// leaves the change index where it was, so after many failed sends a
// restore with the default gap still finds every coin. (Each failed send
// used to derive a change address: after 25, a restore missed the change.)
func TestFailedSendsDoNotBurnChangeAddresses(t *testing.T) {
	l := newLedger(t)
	w, mnemonic, _ := Create("", chain.RegtestParams, CreateOptions{})
	if _, err := w.ImportWIF(EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams)); err != nil {
		t.Fatal(err)
	}
	other, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	to, _ := other.NewAddress(false)
	for i := 0; i < 3*DefaultGapLimit/2; i++ {
		// Built, never accepted: the node refused it (a fee too low, a
		// conflict, a network error).
		if _, err := w.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 1}); err != nil {
			t.Fatal(err)
		}
	}
	pay, err := w.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.mp.AcceptTx(pay.Tx); err != nil {
		t.Fatal(err)
	}
	if err := w.KeepChange(pay); err != nil {
		t.Fatal(err)
	}
	l.mine(t)
	if pay.ChangeAddress == nil || pay.ChangeAddress.String() != mustDerive(t, mnemonic, true, 0) {
		t.Fatalf("the change went to %v, want the first change address", pay.ChangeAddress)
	}
	// The faucet key was imported, so a restore from the phrase finds the
	// change only (the imported key is not derived).
	restored, _, err := Create("", chain.RegtestParams, CreateOptions{Mnemonic: mnemonic})
	if err != nil {
		t.Fatal(err)
	}
	err = restored.Scan(func(pkh [20]byte) (bool, error) {
		h, err := l.AddressHistory(pkh)
		return len(h) > 0, err
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := restored.Balance(l)
	if got.Confirmed != pay.Change {
		t.Fatalf("restored wallet holds %d, want the change %d", got.Confirmed, pay.Change)
	}
}

// mustDerive returns the address at a BIP44 path of a mnemonic's wallet.
func mustDerive(t *testing.T, mnemonic string, change bool, index uint32) string {
	t.Helper()
	w, _, err := Create("", chain.RegtestParams, CreateOptions{Mnemonic: mnemonic})
	if err != nil {
		t.Fatal(err)
	}
	pkh, err := w.deriveAddr(change, index)
	if err != nil {
		t.Fatal(err)
	}
	return NewAddress(pkh, chain.RegtestParams).String()
}

// TestFeeGuard: a fee rate above the maximum is refused unless forced, and
// no fee computation wraps around.
func TestFeeGuard(t *testing.T) {
	l := newLedger(t)
	w, _, _ := Create("", chain.RegtestParams, CreateOptions{})
	if _, err := w.ImportWIF(EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams)); err != nil {
		t.Fatal(err)
	}
	to, _ := w.NewAddress(false)
	for _, o := range []PayOptions{
		{FeeRate: DefaultMaxFeeRate + 1},
		{FeeRate: 1 << 63},
		{FeeRate: 50, MaxFeeRate: 10},
	} {
		if _, err := w.BuildPayment(l, to, 100_000, o); !errors.Is(err, ErrFeeTooHigh) {
			t.Errorf("%+v: %v, want ErrFeeTooHigh", o, err)
		}
	}
	// Forced: the huge rate is honoured as far as the coins go, without
	// overflowing into a tiny fee.
	_, err := w.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 1 << 63, Force: true})
	var ife *InsufficientFundsError
	if !errors.As(err, &ife) || ife.Need < 1<<63 {
		t.Errorf("forced 2^63 units per byte: %v, want insufficient funds needing at least 2^63", err)
	}
	pay, err := w.BuildPayment(l, to, 100_000, PayOptions{FeeRate: 5000, Force: true})
	if err != nil || pay.Fee < 5000*uint64(pay.Tx.SerializeSize()) {
		t.Errorf("forced 5000 units per byte: %+v %v", pay, err)
	}
	if _, err := w.BuildPayment(l, to, chain.MaxMoney+1, PayOptions{}); !errors.Is(err, ErrAmountRange) {
		t.Errorf("amount above the supply: %v, want ErrAmountRange", err)
	}
}
