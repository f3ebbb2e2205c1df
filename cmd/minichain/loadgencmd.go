package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minichain/minichain/loadgen"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/wallet"
)

func runLoadgen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen", stderr)
	nodes := &stringList{values: []string{"http://" + node.DefaultAPIAddr}}
	fs.Var(nodes, "node", "URL of a node's API (repeatable; the first funds the wallets)")
	tokenFile := fs.String("token-file", "", "file holding the first node's API token (default: MINICHAIN_API_TOKEN, else <datadir>/api.token)")
	datadir := fs.String("datadir", "", "the first node's data directory, to read its API token (default ~/.minichain/<network>)")
	wallets := fs.Int("wallets", 10, "number of wallets sending to each other")
	fund := fs.String("fund", "10", "coins each wallet gets from the first node's wallet")
	rate := fs.Float64("rate", 5, "target transfers per second")
	count := fs.Int("count", 0, "stop after this many transfers (0: only --duration)")
	duration := fs.Duration("duration", time.Minute, "stop sending after this long")
	confirmWait := fs.Duration("confirm-wait", 2*time.Minute, "after sending, wait at most this long for confirmations (0: no wait)")
	grace := fs.Duration("grace", 2*time.Second, "wait this long before spending a coin another node created")
	feeRate := fs.Uint64("fee-rate", 2, "fee in base units per byte")
	workers := fs.Int("workers", 4, "submissions in flight at once")
	keep := fs.Bool("keep", false, "leave the coins in the throwaway wallets instead of returning them to the first node's wallet")
	seed := fs.Uint64("seed", 0, "seed for payers, payees and amounts (0: random)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: minichain loadgen --node URL [--node URL ...] [flags]")
		fmt.Fprintln(stderr, "\nCreates wallets, funds them from the first node's wallet and sends random")
		fmt.Fprintln(stderr, "transfers between them through the given nodes; reports throughput and")
		fmt.Fprintln(stderr, "confirmation latency. It talks to no other host and stops by itself.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	amount, err := wallet.ParseAmount(*fund)
	if err != nil {
		return usagef("--fund %q: %v", *fund, err)
	}
	if *confirmWait == 0 {
		*confirmWait = -1 // the flag's 0 means no wait
	}
	if err := loadgen.CheckNodes(nodes.values); err != nil {
		return usageError{err.Error()}
	}
	ctx, cancel := signalContext(context.Background())
	defer cancel()
	token, err := loadgenToken(ctx, nodes.values[0], *tokenFile, *datadir)
	if err != nil {
		return err
	}
	cfg := loadgen.Config{
		Nodes: nodes.values, Token: token, Wallets: *wallets, Fund: amount, Rate: *rate, Count: *count,
		Duration: *duration, ConfirmWait: *confirmWait, Grace: *grace, FeeRate: *feeRate, Workers: *workers, Keep: *keep, Seed: *seed,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	g, err := loadgen.New(ctx, cfg)
	if errors.Is(err, loadgen.ErrConfig) {
		return usageError{err.Error()}
	} else if err != nil {
		return err
	}
	report, err := g.Run(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return emit(stdout, true, report, "")
	}
	return report.WriteTable(stdout)
}

// loadgenToken finds the first node's API token: MINICHAIN_API_TOKEN,
// --token-file, --datadir, or the default data directory of the node's
// network.
func loadgenToken(ctx context.Context, nodeURL, tokenFile, datadir string) (string, error) {
	token, err := readAPIToken(tokenFile, datadir, func() (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		st, err := client.New(nodeURL, "", nil).Status(cctx)
		if err != nil {
			return "", fmt.Errorf("node %s: %w", nodeURL, err)
		}
		return node.DefaultDataDir(st.Network), nil
	})
	if err != nil {
		return "", fmt.Errorf("loadgen funds its wallets through the first node's wallet and needs its API token: %w (use MINICHAIN_API_TOKEN, --token-file or --datadir)", err)
	}
	return token, nil
}
