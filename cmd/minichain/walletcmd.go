package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/wallet"
)

// defaultWalletFile is the local wallet of the command line, next to (not
// the same as) the node's own wallet in the data directory.
const defaultWalletFile = "cli-wallet.json"

// walletFlags are the flags of commands that use the local wallet.
type walletFlags struct {
	clientFlags
	path     string
	passFile string
}

func (w *walletFlags) register(fs *flag.FlagSet) {
	w.clientFlags.register(fs)
	fs.StringVar(&w.path, "wallet", "", "keystore file (default ~/.minichain/<network>/"+defaultWalletFile+")")
	fs.StringVar(&w.passFile, "passphrase-file", "", "file holding the wallet passphrase (or MINICHAIN_WALLET_PASSPHRASE; else asked)")
}

func (w *walletFlags) walletPath(p *chain.Params) string {
	if w.path != "" {
		return expandHome(w.path)
	}
	return filepath.Join(node.DefaultDataDir(p.Name), defaultWalletFile)
}

// open opens the local wallet, unlocking it when unlock is set.
func (w *walletFlags) open(unlock bool, stderr io.Writer) (*wallet.Wallet, *chain.Params, error) {
	p, err := w.params()
	if err != nil {
		return nil, nil, err
	}
	path := w.walletPath(p)
	wl, err := wallet.Open(path, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("no wallet at %s: create one with 'minichain wallet create' or give --wallet", path)
	}
	if err != nil {
		return nil, nil, err
	}
	if unlock && wl.Locked() {
		pass, err := passphraseFrom(w.passFile)
		if err != nil {
			return nil, nil, err
		}
		if pass == nil {
			if pass, err = readSecret("Wallet passphrase: ", stderr); err != nil {
				return nil, nil, err
			}
		}
		if err := wl.Unlock(pass); err != nil {
			return nil, nil, err
		}
	}
	return wl, p, nil
}

// newPassphrase gets the passphrase of a new wallet: from the environment
// or a file, else asked twice; empty means unencrypted.
func (w *walletFlags) newPassphrase(noPass bool, stderr io.Writer) ([]byte, error) {
	if noPass {
		return nil, nil
	}
	pass, err := passphraseFrom(w.passFile)
	if err != nil || pass != nil {
		return pass, err
	}
	pass, err = readSecret("New wallet passphrase (empty for none): ", stderr)
	if err != nil {
		return nil, err
	}
	if len(pass) > 0 {
		again, err := readSecret("Repeat the passphrase: ", stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pass, again) {
			return nil, errors.New("the passphrases differ")
		}
		return pass, nil
	}
	return nil, nil
}

func runWallet(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("wallet needs a subcommand: create, restore, address, balance, list, export or import")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return walletCreate(rest, stdout, stderr, false)
	case "restore":
		return walletCreate(rest, stdout, stderr, true)
	case "address":
		return walletAddress(rest, stdout, stderr)
	case "balance":
		return walletBalance(rest, stdout, stderr)
	case "list":
		return walletList(rest, stdout, stderr)
	case "export":
		return walletExport(rest, stdout, stderr)
	case "import":
		return walletImport(rest, stdout, stderr)
	}
	return usagef("unknown wallet subcommand %q", sub)
}

// readMnemonic reads a mnemonic to restore from file, or asks for it, and
// checks it.
func readMnemonic(file string, stderr io.Writer) (string, error) {
	var mnemonic string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		mnemonic = string(b)
	} else {
		fmt.Fprint(stderr, "Mnemonic (12 or 24 words): ")
		var err error
		if mnemonic, err = stdinLine(); err != nil {
			return "", err
		}
	}
	if _, err := wallet.SeedFromMnemonic(mnemonic, ""); err != nil {
		return "", err
	}
	return mnemonic, nil
}

// scanRestored finds a restored wallet's used addresses by asking the node
// about each, until gap unused ones in a row.
func scanRestored(w *wallet.Wallet, wf *walletFlags, p *chain.Params, gap int) error {
	c, _, err := wf.client(false)
	if err != nil {
		return err
	}
	ctx, cancel := cliContext()
	defer cancel()
	return w.Scan(func(pkh [20]byte) (bool, error) {
		a, err := c.Address(ctx, wallet.NewAddress(pkh, p).String())
		if err != nil {
			return false, err
		}
		return a.TxCount > 0 || len(a.Pending) > 0, nil
	}, gap)
}

func walletCreate(args []string, stdout, stderr io.Writer, restore bool) error {
	name := "wallet create"
	if restore {
		name = "wallet restore"
	}
	fs := newFlagSet(name, stderr)
	var wf walletFlags
	wf.register(fs)
	words := fs.Int("words", 12, "mnemonic length: 12 or 24")
	noPass := fs.Bool("no-passphrase", false, "store the wallet unencrypted")
	mnemonicFile := fs.String("mnemonic-file", "", "restore: file holding the mnemonic (else asked)")
	gap := fs.Int("gap", wallet.DefaultGapLimit, "restore: unused addresses in a row that end the scan")
	offline := fs.Bool("offline", false, "restore: do not scan the chain through the node")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, err := wf.params()
	if err != nil {
		return err
	}
	path := wf.walletPath(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	var mnemonic string
	if restore {
		if mnemonic, err = readMnemonic(*mnemonicFile, stderr); err != nil {
			return err
		}
	}
	pass, err := wf.newPassphrase(*noPass, stderr)
	if err != nil {
		return err
	}
	w, shown, err := wallet.Create(path, p, wallet.CreateOptions{Mnemonic: mnemonic, Words: *words, Passphrase: pass})
	if err != nil {
		return err
	}
	if pass == nil {
		fmt.Fprintln(stderr, "WARNING: the wallet is stored unencrypted: anyone who can read "+path+" can spend its coins.")
	}
	if restore {
		if !*offline {
			if err := scanRestored(w, &wf, p, *gap); err != nil {
				return fmt.Errorf("wallet restored to %s, but scanning the chain failed: %w", path, err)
			}
		}
		n := len(w.Addresses())
		return emit(stdout, wf.json, map[string]any{"wallet": path, "addresses": n},
			fmt.Sprintf("wallet restored to %s: %d addresses found\n", path, n))
	}
	first, err := w.NewAddress(false)
	if err != nil {
		return err
	}
	if wf.json {
		return emit(stdout, true, map[string]any{"wallet": path, "address": first.String(), "mnemonic": shown}, "")
	}
	fmt.Fprintf(stdout, "wallet created in %s\n\nYour backup phrase (shown once; write it down, in order):\n\n  %s\n\nfirst address: %s\n",
		path, shown, first)
	return nil
}

func walletAddress(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallet address", stderr)
	var wf walletFlags
	wf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	w, _, err := wf.open(false, stderr)
	if err != nil {
		return err
	}
	a, err := w.NewAddress(false)
	if err != nil {
		return err
	}
	return emit(stdout, wf.json, map[string]string{"address": a.String()}, a.String()+"\n")
}

func walletBalance(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallet balance", stderr)
	var wf walletFlags
	wf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	w, _, err := wf.open(false, stderr)
	if err != nil {
		return err
	}
	c, _, err := wf.client(false)
	if err != nil {
		return err
	}
	ctx, cancel := cliContext()
	defer cancel()
	b, err := w.Balance(c.Ledger(ctx))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("confirmed:   %s\n  immature:  %s\nunconfirmed: %s\nspendable:   %s\npending out: %s\n",
		wallet.FormatAmount(b.Confirmed), wallet.FormatAmount(b.Immature), wallet.FormatAmount(b.Unconfirmed),
		wallet.FormatAmount(b.Spendable), wallet.FormatAmount(b.PendingOut))
	return emit(stdout, wf.json, b, text)
}

func walletList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallet list", stderr)
	var wf walletFlags
	wf.register(fs)
	offline := fs.Bool("offline", false, "do not ask the node for balances")
	if err := parse(fs, args); err != nil {
		return err
	}
	w, _, err := wf.open(false, stderr)
	if err != nil {
		return err
	}
	type row struct {
		wallet.AddressInfo
		Balance *uint64 `json:"balance,omitempty"`
	}
	var rows []row
	per := map[string]uint64{}
	if !*offline {
		c, _, err := wf.client(false)
		if err != nil {
			return err
		}
		ctx, cancel := cliContext()
		defer cancel()
		coins, err := w.Coins(c.Ledger(ctx))
		if err != nil {
			return fmt.Errorf("ask the node for balances (or use --offline): %w", err)
		}
		for _, c := range coins {
			if !c.SpentInPool {
				if a, ok := wallet.AddressOfScript(c.PkScript, w.Params()); ok {
					per[a.String()] += c.Value
				}
			}
		}
	}
	var sb strings.Builder
	for _, a := range w.Addresses() {
		r := row{AddressInfo: a}
		if !*offline {
			v := per[a.Address.String()]
			r.Balance = &v
			fmt.Fprintf(&sb, "%-36s %-22s %s\n", a.Address, a.Path, wallet.FormatAmount(v))
		} else {
			fmt.Fprintf(&sb, "%-36s %s\n", a.Address, a.Path)
		}
		rows = append(rows, r)
	}
	return emit(stdout, wf.json, rows, sb.String())
}

func walletExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallet export", stderr)
	var wf walletFlags
	wf.register(fs)
	mnemonic := fs.Bool("mnemonic", false, "print the backup phrase")
	addr := fs.String("address", "", "print the private key (WIF) of this address")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *mnemonic == (*addr != "") {
		return usagef("give exactly one of --mnemonic or --address ADDR")
	}
	w, p, err := wf.open(true, stderr)
	if err != nil {
		return err
	}
	if *mnemonic {
		m, err := w.Mnemonic()
		if err != nil {
			return err
		}
		return emit(stdout, wf.json, map[string]string{"mnemonic": m}, m+"\n")
	}
	a, err := wallet.DecodeAddress(*addr, p)
	if err != nil {
		return err
	}
	k, err := w.ExportWIF(a)
	if err != nil {
		return err
	}
	return emit(stdout, wf.json, map[string]string{"address": a.String(), "wif": k}, k+"\n")
}

func walletImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallet import", stderr)
	var wf walletFlags
	wf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var wif string
	switch fs.NArg() {
	case 0:
		fmt.Fprint(stderr, "Private key (WIF): ")
		line, err := stdinLine()
		if err != nil {
			return err
		}
		wif = strings.TrimSpace(line)
	case 1:
		wif = fs.Arg(0)
	default:
		return usagef("import takes one WIF key (or none, to read it from standard input)")
	}
	w, _, err := wf.open(true, stderr)
	if err != nil {
		return err
	}
	a, err := w.ImportWIF(wif)
	if err != nil {
		return err
	}
	return emit(stdout, wf.json, map[string]string{"address": a.String()}, "imported "+a.String()+"\n")
}

func runSend(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", stderr)
	var wf walletFlags
	wf.register(fs)
	to := fs.String("to", "", "address to pay")
	amount := fs.String("amount", "", "amount in coins, up to 8 decimals (e.g. 1.5)")
	feeRate := fs.Uint64("fee-rate", 2, "fee in base units per byte")
	maxFeeRate := fs.Uint64("max-fee-rate", wallet.DefaultMaxFeeRate, "refuse a fee rate above this, in base units per byte, unless --force")
	force := fs.Bool("force", false, "pay a fee rate above --max-fee-rate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || *amount == "" {
		return usagef("send needs --to ADDR and --amount COINS")
	}
	units, err := wallet.ParseAmount(*amount)
	if err != nil {
		return usageError{err.Error()}
	}
	w, p, err := wf.open(true, stderr)
	if err != nil {
		return err
	}
	dest, err := wallet.DecodeAddress(*to, p)
	if err != nil {
		return err
	}
	c, _, err := wf.client(false)
	if err != nil {
		return err
	}
	ctx, cancel := cliContext()
	defer cancel()
	pay, err := w.BuildPayment(c.Ledger(ctx), dest, units, wallet.PayOptions{FeeRate: *feeRate, MaxFeeRate: *maxFeeRate, Force: *force})
	if err != nil {
		return err
	}
	txid, err := c.SubmitTx(ctx, pay.Tx)
	if err != nil {
		return fmt.Errorf("the node refused the payment: %w", err)
	}
	if err := w.KeepChange(pay); err != nil {
		return fmt.Errorf("the payment %s was sent, but its change address could not be saved in the wallet (a restore finds it): %w", txid, err)
	}
	out := map[string]any{"txid": txid, "amount": units, "fee": pay.Fee, "change": pay.Change}
	text := fmt.Sprintf("sent %s to %s\ntxid %s\nfee  %s\n", wallet.FormatAmount(units), dest, txid, wallet.FormatAmount(pay.Fee))
	return emit(stdout, wf.json, out, text)
}

// emit prints v as JSON or text.
func emit(w io.Writer, asJSON bool, v any, text string) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(w, text)
	return err
}
