package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/client"
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

// register adds the client flags of what, --wallet and, with pass, the
// passphrase file.
func (w *walletFlags) register(fs *flag.FlagSet, what int, pass bool) {
	w.clientFlags.register(fs, what|withDatadir)
	fs.StringVar(&w.path, "wallet", "", "keystore file (default <datadir>/"+defaultWalletFile+")")
	if pass {
		fs.StringVar(&w.passFile, "passphrase-file", "", "file holding the wallet passphrase (or MINICHAIN_WALLET_PASSPHRASE; else asked)")
	}
}

// parseWallet parses a wallet command's flags, remembering where each came
// from.
func (w *walletFlags) parse(fs *flag.FlagSet, args []string) error {
	var err error
	w.given, err = parseGiven(fs, args)
	return err
}

func (w *walletFlags) walletPath(p *chain.Params) string {
	if w.path != "" {
		return expandHome(w.path)
	}
	dir, _ := w.dataDir(p)
	return filepath.Join(dir, defaultWalletFile)
}

// open opens the local wallet of network p, unlocking it when unlock is
// set.
func (w *walletFlags) open(p *chain.Params, unlock bool, stderr io.Writer) (*wallet.Wallet, error) {
	path := w.walletPath(p)
	wl, err := wallet.Open(path, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no %s wallet at %s: create one with 'minichain wallet create --network %s', or give --wallet", p.Name, path, p.Name)
	}
	if err != nil {
		return nil, err
	}
	if unlock && wl.Locked() {
		pass, err := passphraseFrom(w.passFile)
		if err != nil {
			return nil, err
		}
		if pass == nil {
			if pass, err = readSecret("Wallet passphrase: ", stderr); err != nil {
				return nil, err
			}
		}
		if err := wl.Unlock(pass); err != nil {
			return nil, err
		}
	}
	return wl, nil
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

// walletSubcommands are the subcommands of minichain wallet, in the order
// its help lists them.
var walletSubcommands = []struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}{
	{"create", "create a wallet and show its backup phrase and first address", func(a []string, o, e io.Writer) error { return walletCreate(a, o, e, false) }},
	{"restore", "restore a wallet from its backup phrase, finding its addresses through the node", func(a []string, o, e io.Writer) error { return walletCreate(a, o, e, true) }},
	{"address", "hand out a new receive address", walletAddress},
	{"balance", "confirmed, immature, unconfirmed and spendable coins, from the node", walletBalance},
	{"list", "the wallet's addresses, with their balances from the node", walletList},
	{"export", "print the backup phrase, or one address's private key (WIF)", walletExport},
	{"import", "add a private key (WIF) to the wallet", walletImport},
}

func runWallet(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		walletHelp(stderr)
		return usagef("wallet needs a subcommand")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && sub == "help" {
			return runWallet([]string{rest[0], "-h"}, stdout, stderr)
		}
		walletHelp(stdout)
		return nil
	}
	for _, c := range walletSubcommands {
		if c.name == sub {
			return c.run(rest, stdout, stderr)
		}
	}
	names := make([]string, len(walletSubcommands))
	for i, c := range walletSubcommands {
		names[i] = c.name
	}
	return usagef("unknown wallet subcommand %q: it is one of %s (see 'minichain wallet help')", sub, strings.Join(names, ", "))
}

// walletHelp lists the wallet subcommands.
func walletHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: minichain wallet <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "A local wallet: a keystore file on this machine (default <datadir>/"+defaultWalletFile+", the data directory")
	fmt.Fprintln(w, "being ~/.minichain/<network> unless --datadir or MINICHAIN_DATADIR says otherwise),")
	fmt.Fprintln(w, "apart from the node's own wallet. Keys never leave it; the node is asked only about coins.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "subcommands:")
	for _, c := range walletSubcommands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'minichain wallet <subcommand> -h' for its flags and an example.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "example:")
	fmt.Fprintln(w, "  minichain wallet create --no-passphrase")
	fmt.Fprintln(w, "  minichain wallet balance")
}

// walletOffline parses a wallet command that talks to no node and opens
// its wallet.
func walletOffline(name string, args []string, stderr io.Writer, pass, unlock bool, extra func(fs *flag.FlagSet)) (*walletFlags, *flag.FlagSet, *wallet.Wallet, *chain.Params, error) {
	fs := newFlagSet(name, stderr)
	var wf walletFlags
	wf.register(fs, withJSON, pass)
	if extra != nil {
		extra(fs)
	}
	if err := wf.parse(fs, args); err != nil {
		return nil, nil, nil, nil, err
	}
	p, err := wf.offlineParams()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	w, err := wf.open(p, unlock, stderr)
	return &wf, fs, w, p, err
}

// walletOnline parses a wallet command that asks the node about coins,
// checks its arguments (check, if set, before the node is asked anything),
// learns the network from the node, and opens the wallet.
func walletOnline(name string, args []string, stderr io.Writer, pass bool, extra func(fs *flag.FlagSet), check func() error) (*walletFlags, *client.Client, *wallet.Wallet, *chain.Params, context.Context, context.CancelFunc, error) {
	fs := newFlagSet(name, stderr)
	var wf walletFlags
	wf.register(fs, withJSON|withNode, pass)
	if extra != nil {
		extra(fs)
	}
	fail := func(err error) (*walletFlags, *client.Client, *wallet.Wallet, *chain.Params, context.Context, context.CancelFunc, error) {
		return nil, nil, nil, nil, nil, nil, err
	}
	if err := wf.parse(fs, args); err != nil {
		return fail(err)
	}
	if fs.NArg() > 0 {
		return fail(usagef("unexpected argument %q (see 'minichain %s -h')", fs.Arg(0), name))
	}
	if check != nil {
		if err := check(); err != nil {
			return fail(err)
		}
	}
	ctx, cancel := cliContext()
	c, p, err := wf.connect(ctx, false)
	if err != nil {
		cancel()
		return fail(err)
	}
	w, err := wf.open(p, pass, stderr)
	if err != nil {
		cancel()
		return fail(err)
	}
	return &wf, c, w, p, ctx, cancel, nil
}

func walletAddress(args []string, stdout, stderr io.Writer) error {
	wf, fs, w, _, err := walletOffline("wallet address", args, stderr, false, false, nil)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (see 'minichain wallet address -h')", fs.Arg(0))
	}
	a, err := w.NewAddress(false)
	if err != nil {
		return err
	}
	return emit(stdout, wf.json, map[string]string{"address": a.String()}, a.String()+"\n")
}

func walletBalance(args []string, stdout, stderr io.Writer) error {
	wf, c, w, _, ctx, cancel, err := walletOnline("wallet balance", args, stderr, false, nil, nil)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := w.Balance(c.Ledger(ctx))
	if err != nil {
		return wf.explain(err)
	}
	text := fmt.Sprintf("confirmed:   %s\n  immature:  %s\nunconfirmed: %s\nspendable:   %s\npending out: %s\n",
		wallet.FormatAmount(b.Confirmed), wallet.FormatAmount(b.Immature), wallet.FormatAmount(b.Unconfirmed),
		wallet.FormatAmount(b.Spendable), wallet.FormatAmount(b.PendingOut))
	return emit(stdout, wf.json, b, text)
}

func walletList(args []string, stdout, stderr io.Writer) error {
	// --offline decides whether the command talks to a node, so it is
	// looked for before the flags are parsed for real.
	if offlineFlag(args) {
		wf, fs, w, _, err := walletOffline("wallet list", args, stderr, false, false, func(fs *flag.FlagSet) {
			fs.Bool("offline", false, "list the addresses without asking the node for balances")
		})
		if err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usagef("unexpected argument %q (see 'minichain wallet list -h')", fs.Arg(0))
		}
		return listAddresses(stdout, wf.json, w, nil)
	}
	wf, c, w, _, ctx, cancel, err := walletOnline("wallet list", args, stderr, false, func(fs *flag.FlagSet) {
		fs.Bool("offline", false, "list the addresses without asking the node for balances")
	}, nil)
	if err != nil {
		if errors.As(err, new(helpRequest)) || errors.As(err, new(usageError)) {
			return err
		}
		return fmt.Errorf("%w (--offline lists the addresses without balances)", err)
	}
	defer cancel()
	coins, err := w.Coins(c.Ledger(ctx))
	if err != nil {
		return fmt.Errorf("ask the node for balances (or use --offline): %w", wf.explain(err))
	}
	per := map[string]uint64{}
	for _, c := range coins {
		if !c.SpentInPool {
			if a, ok := wallet.AddressOfScript(c.PkScript, w.Params()); ok {
				per[a.String()] += c.Value
			}
		}
	}
	return listAddresses(stdout, wf.json, w, per)
}

// offlineFlag reports whether args (or MINICHAIN_OFFLINE) ask for
// --offline.
func offlineFlag(args []string) bool {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	off := fs.Bool("offline", false, "")
	for _, a := range args {
		if a == "--offline" || a == "-offline" || strings.HasPrefix(a, "--offline=") || strings.HasPrefix(a, "-offline=") {
			_ = fs.Parse([]string{a})
			return *off
		}
	}
	v, ok := os.LookupEnv("MINICHAIN_OFFLINE")
	return ok && (v == "1" || strings.EqualFold(v, "true"))
}

// listAddresses prints the wallet's addresses, with their balances unless
// per is nil.
func listAddresses(stdout io.Writer, asJSON bool, w *wallet.Wallet, per map[string]uint64) error {
	type row struct {
		wallet.AddressInfo
		Balance *uint64 `json:"balance,omitempty"`
	}
	var rows []row
	var sb strings.Builder
	for _, a := range w.Addresses() {
		r := row{AddressInfo: a}
		if per != nil {
			v := per[a.Address.String()]
			r.Balance = &v
			fmt.Fprintf(&sb, "%-36s %-22s %s\n", a.Address, a.Path, wallet.FormatAmount(v))
		} else {
			fmt.Fprintf(&sb, "%-36s %s\n", a.Address, a.Path)
		}
		rows = append(rows, r)
	}
	return emit(stdout, asJSON, rows, sb.String())
}

func walletExport(args []string, stdout, stderr io.Writer) error {
	var mnemonic *bool
	var addr *string
	fs := newFlagSet("wallet export", stderr)
	var wf walletFlags
	wf.register(fs, withJSON, true)
	mnemonic = fs.Bool("mnemonic", false, "print the backup phrase")
	addr = fs.String("address", "", "print the private key (WIF) of this address")
	if err := wf.parse(fs, args); err != nil {
		return err
	}
	if *mnemonic == (*addr != "") {
		return usagef("give exactly one of --mnemonic or --address ADDR")
	}
	p, err := wf.offlineParams()
	if err != nil {
		return err
	}
	w, err := wf.open(p, true, stderr)
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
	wf.register(fs, withJSON, true)
	if err := wf.parse(fs, args); err != nil {
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
	p, err := wf.offlineParams()
	if err != nil {
		return err
	}
	w, err := wf.open(p, true, stderr)
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
	var to, amount *string
	var feeRate, maxFeeRate *uint64
	var force *bool
	var units uint64
	wf, c, w, p, ctx, cancel, err := walletOnline("send", args, stderr, true, func(fs *flag.FlagSet) {
		to = fs.String("to", "", "address to pay")
		amount = fs.String("amount", "", "amount in coins, up to 8 decimals (e.g. 1.5)")
		feeRate = fs.Uint64("fee-rate", 2, "fee in base units per byte")
		maxFeeRate = fs.Uint64("max-fee-rate", wallet.DefaultMaxFeeRate, "refuse a fee rate above this, in base units per byte, unless --force")
		force = fs.Bool("force", false, "pay a fee rate above --max-fee-rate")
	}, func() error {
		if *to == "" || *amount == "" {
			return usagef("send needs --to ADDR and --amount COINS")
		}
		var err error
		if units, err = wallet.ParseAmount(*amount); err != nil {
			return usageError{err.Error()}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer cancel()
	dest, err := wallet.DecodeAddress(*to, p)
	if err != nil {
		return err
	}
	pay, err := w.BuildPayment(c.Ledger(ctx), dest, units, wallet.PayOptions{FeeRate: *feeRate, MaxFeeRate: *maxFeeRate, Force: *force})
	if err != nil {
		return wf.explain(err)
	}
	txid, err := c.SubmitTx(ctx, pay.Tx)
	if err != nil {
		return fmt.Errorf("the node refused the payment: %w", wf.explain(err))
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
