// Command minichain is the minichain node and its command-line tools:
//
//	minichain node      run a node
//	minichain reset     wipe a stopped node's chain state
//	minichain wallet    a local wallet: create, restore, address, balance, list, export, import
//	minichain send      pay from the local wallet through a node
//	minichain status | block | tx | mempool | peers | proof | validate
//	minichain loadgen   traffic against running nodes, with a latency report
//	minichain sim       simulate a network in virtual time (docs/SIMULATION.md)
//
// Run "minichain help" or "minichain <command> -h" for details.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/minichain/minichain/node"
)

// version is the release this binary reports.
var version = "0.1.0-dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"node", "run a node (single machine by default; add peers with --bootstrap)", runNode},
		{"reset", "wipe the chain state of a stopped node, keeping its wallet and identity", runReset},
		{"wallet", "local wallet: create | restore | address | balance | list | export | import", runWallet},
		{"send", "pay from the local wallet: --to ADDR --amount COINS", runSend},
		{"status", "show a node's status", runStatus},
		{"block", "show a block by height or hash (or 'latest')", runBlock},
		{"tx", "show a transaction", runTx},
		{"mempool", "list the transactions waiting in a node's pool", runMempool},
		{"peers", "list a node's peers", runPeers},
		{"proof", "fetch a transaction's Merkle proof and verify it locally (SPV)", runProof},
		{"validate", "re-validate a node's whole chain", runValidate},
		{"mine", "mine N blocks on a node now (regtest and devnet)", runMine},
		{"loadgen", "send random transfers between fresh wallets through running nodes and measure them", runLoadgen},
		{"sim", "simulate a network in virtual time over the real consensus code", runSim},
		{"token", "print a node's API token (for scripts and containers)", runToken},
		{"health", "exit 0 when the node answers its API (container healthcheck)", runHealth},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) error {
			_, err := fmt.Fprintln(stdout, "minichain", version)
			return err
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: minichain <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'minichain <command> -h' (or 'minichain help <command>') for a command's flags and an example.")
	fmt.Fprintln(w, "Every flag of a command can also be given as MINICHAIN_<FLAG> (e.g. MINICHAIN_DATADIR).")
	fmt.Fprintln(w, "Commands that talk to a node find it as the node was started: --api-addr or MINICHAIN_API_ADDR")
	fmt.Fprintln(w, "(default "+node.DefaultAPIAddr+"), or --node URL; they follow the node's network.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 success, 1 a
// failure, 2 a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		if len(args) > 1 && args[0] == "help" { // help COMMAND [SUBCOMMAND]
			return run(append(args[1:], "-h"), stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			var help helpRequest
			switch {
			case err == nil:
				return 0
			case errors.As(err, &help):
				printHelp(stdout, help.fs)
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, new(usageError)):
				fmt.Fprintln(stderr, "minichain "+c.name+":", err)
				return 2
			default:
				fmt.Fprintln(stderr, "minichain "+c.name+":", err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "minichain: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }
