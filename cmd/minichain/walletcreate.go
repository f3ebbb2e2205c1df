package main

// wallet create and wallet restore.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/wallet"
)

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
func scanRestored(ctx context.Context, w *wallet.Wallet, wf *walletFlags, c *client.Client, p *chain.Params, gap int) error {
	return w.Scan(func(pkh [20]byte) (bool, error) {
		a, err := c.Address(ctx, wallet.NewAddress(pkh, p).String())
		if err != nil {
			return false, wf.explain(err)
		}
		return a.TxCount > 0 || len(a.Pending) > 0, nil
	}, gap)
}

func walletCreate(args []string, stdout, stderr io.Writer, restore bool) error {
	ca, err := parseCreateFlags(args, stderr, restore)
	if err != nil {
		return err
	}
	wf := &ca.wf
	ctx, cancel := cliContext()
	defer cancel()
	var c *client.Client
	var p *chain.Params
	if restore && !*ca.offline {
		c, p, err = wf.connect(ctx, false)
	} else {
		p, err = wf.offlineParams()
	}
	if err != nil {
		return err
	}
	path := wf.walletPath(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	var mnemonic string
	if restore {
		if mnemonic, err = readMnemonic(*ca.mnemonicFile, stderr); err != nil {
			return err
		}
	}
	pass, err := wf.newPassphrase(*ca.noPass, stderr)
	if err != nil {
		return err
	}
	opts := wallet.CreateOptions{Mnemonic: mnemonic, Passphrase: pass}
	if ca.words != nil {
		opts.Words = *ca.words
	}
	w, shown, err := wallet.Create(path, p, opts)
	if err != nil {
		return err
	}
	if pass == nil {
		fmt.Fprintln(stderr, "WARNING: the wallet is stored unencrypted: anyone who can read "+path+" can spend its coins.")
	}
	if restore {
		if c != nil {
			if err := scanRestored(ctx, w, wf, c, p, *ca.gap); err != nil {
				return fmt.Errorf("wallet restored to %s, but scanning the chain failed: %w", path, err)
			}
		}
		n := len(w.Addresses())
		return emit(stdout, wf.json, map[string]any{"wallet": path, "addresses": n},
			fmt.Sprintf("%s wallet restored to %s: %d addresses found\n", p.Name, path, n))
	}
	return showCreated(stdout, wf.json, w, p, path, shown)
}

// createFlags are wallet create's flags, or wallet restore's: words only
// for create; mnemonicFile, gap and offline only for restore (else nil).
type createFlags struct {
	wf           walletFlags
	noPass       *bool
	words, gap   *int
	mnemonicFile *string
	offline      *bool
}

// parseCreateFlags parses wallet create's arguments, or wallet restore's.
func parseCreateFlags(args []string, stderr io.Writer, restore bool) (*createFlags, error) {
	name := "wallet create"
	what := withJSON
	if restore {
		name, what = "wallet restore", withJSON|withNode
	}
	fs := newFlagSet(name, stderr)
	ca := &createFlags{}
	ca.wf.register(fs, what, true)
	ca.noPass = fs.Bool("no-passphrase", false, "store the wallet unencrypted")
	if restore {
		ca.mnemonicFile = fs.String("mnemonic-file", "", "file holding the backup phrase (else asked)")
		ca.gap = fs.Int("gap", wallet.DefaultGapLimit, "unused addresses in a row that end the scan")
		ca.offline = fs.Bool("offline", false, "do not scan the chain through the node (the network is then --network, default devnet)")
	} else {
		ca.words = fs.Int("words", 12, "backup phrase length: 12 or 24 words")
	}
	if err := ca.wf.parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (see 'minichain %s -h')", fs.Arg(0), name)
	}
	return ca, nil
}

// showCreated prints a new wallet's backup phrase and first address.
func showCreated(stdout io.Writer, asJSON bool, w *wallet.Wallet, p *chain.Params, path, shown string) error {
	first, err := w.NewAddress(false)
	if err != nil {
		return err
	}
	if asJSON {
		return emit(stdout, true, map[string]any{"wallet": path, "network": p.Name, "address": first.String(), "mnemonic": shown}, "")
	}
	fmt.Fprintf(stdout, "%s wallet created in %s\n\nYour backup phrase (shown once; write it down, in order):\n\n  %s\n\nfirst address: %s\n",
		p.Name, path, shown, first)
	return nil
}
