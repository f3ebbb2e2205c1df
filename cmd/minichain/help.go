package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// helpRequest is what parse returns for -h, -help or --help: run prints
// the command's help on stdout and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return "help requested" }

// Unwrap makes errors.Is(err, flag.ErrHelp) hold.
func (helpRequest) Unwrap() error { return flag.ErrHelp }

// helpText is what a command's help says besides its flags.
type helpText struct {
	args    string // after the command's name in the usage line
	about   string
	example string
}

// helpTexts are the commands' help, by the name given to newFlagSet.
var helpTexts = map[string]helpText{
	"node": {"[flags]",
		"Run a node: the chain in its data directory, the HTTP API and block explorer on --api-addr,\n" +
			"the p2p network (unless --no-p2p), and the miner when --mine is given.",
		"minichain node --network regtest --mine\n" +
			"minichain node --datadir /tmp/n2 --api-addr 127.0.0.1:8082 --p2p-listen /ip4/127.0.0.1/tcp/4102 \\\n" +
			"    --bootstrap /ip4/127.0.0.1/tcp/4101/p2p/12D3KooW..."},
	"reset": {"[flags]",
		"Delete the chain state (blocks, UTXO set, mempool) of a stopped node; its wallet, identity\n" +
			"and token stay. The node starts again from genesis.",
		"minichain reset --network regtest --yes"},
	"wallet create": {"[flags]",
		"Create a local wallet: a keystore file, encrypted with a passphrase unless --no-passphrase.\n" +
			"Prints the backup phrase once (on stdout, never to a log) and the first address.",
		"minichain wallet create --no-passphrase\n" +
			"minichain wallet create --network regtest --wallet bob.json"},
	"wallet restore": {"[flags]",
		"Restore a wallet from its backup phrase, then ask the node which of its addresses were used\n" +
			"(until --gap unused ones in a row), so its coins show again.",
		"minichain wallet restore --mnemonic-file phrase.txt --wallet restored.json"},
	"wallet address": {"[flags]",
		"Hand out the wallet's next receive address.",
		"minichain wallet address"},
	"wallet balance": {"[flags]",
		"The wallet's coins as the node sees them: confirmed, immature (young coinbase), unconfirmed,\n" +
			"spendable now, and pending out.",
		"minichain wallet balance --wallet bob.json"},
	"wallet list": {"[flags]",
		"The wallet's addresses with their derivation paths and, unless --offline, their balances.",
		"minichain wallet list\nminichain wallet list --offline --network regtest"},
	"wallet export": {"--mnemonic | --address ADDR [flags]",
		"Print the wallet's backup phrase, or the private key (WIF) of one of its addresses.",
		"minichain wallet export --mnemonic"},
	"wallet import": {"[WIF] [flags]",
		"Add a private key (WIF) to the wallet; without an argument it is read from standard input.",
		"minichain wallet import --network regtest cTAHmq9gDLXxQyuVFwkiTBPKUxNwwpVMQQtqHKECXMRdQ9snX2E2"},
	"send": {"--to ADDR --amount COINS [flags]",
		"Pay from the local wallet: the transaction is built and signed here and submitted to the node.",
		"minichain send --to n4XJNNM4JNnf79Wcqm1AaJBffAVMe1ZyCj --amount 1.5"},
	"status": {"[flags]",
		"A node's status: network, height and tip, difficulty, mining, mempool, peers, its p2p addresses.",
		"minichain status\nminichain status --node http://127.0.0.1:8082 --json"},
	"block": {"HEIGHT | HASH | latest [flags]",
		"A block: its header fields, confirmations and transactions.",
		"minichain block latest\nminichain block 12 --json"},
	"tx": {"TXID [flags]",
		"A transaction of the chain or the mempool: inputs with the coins they spend, outputs, fee.",
		"minichain tx 57cfe128910d31a116509a017ec4ba8416845a1d82aceda402053b88ec2f7cdb"},
	"mempool": {"[flags]",
		"The transactions waiting in the node's pool, highest fee rate first.",
		"minichain mempool"},
	"peers": {"[flags]",
		"The node's connected peers: their IDs, addresses, direction, latency and best height.",
		"minichain peers --node http://127.0.0.1:8082"},
	"proof": {"TXID [flags]",
		"Fetch a transaction's Merkle proof from the node and verify it here (SPV): the header hashes to\n" +
			"the block hash, meets its own target within the network's limit, and the branch leads from\n" +
			"the txid to the header's Merkle root. The network is the node's unless --network is given.",
		"minichain proof 57cfe128910d31a116509a017ec4ba8416845a1d82aceda402053b88ec2f7cdb"},
	"validate": {"[flags]",
		"Re-validate the node's whole chain from genesis and compare the UTXO set; needs the API token.",
		"minichain validate"},
	"mine": {"[N] [flags]",
		"Mine N blocks (default 1) on the node now, to its wallet; needs the API token.",
		"minichain mine 10"},
	"token": {"[flags]",
		"Print a node's API token, from api.token in its data directory (it changes at every start).",
		"TOKEN=$(minichain token --network regtest)"},
	"health": {"[flags]",
		"Exit 0 when the node answers its API: the container image's healthcheck.",
		"minichain health --api-addr 127.0.0.1:8081"},
	"loadgen": {"--node URL [--node URL ...] [flags]",
		"Create wallets, fund them from the first node's wallet and send random transfers between them\n" +
			"through the given nodes; report throughput and confirmation latency. It talks to no other\n" +
			"host and stops by itself.",
		"minichain loadgen --node http://127.0.0.1:8081 --node http://127.0.0.1:8082 --rate 5 --duration 60s"},
	"sim": {"[flags]",
		"Simulate a network of nodes running the real chain, mempool and block templates in virtual\n" +
			"time, with modelled mining and links. See docs/SIMULATION.md.",
		"minichain sim --nodes 100 --duration 12h --block-interval 1m --partition 4h-5h --seed 1 --out /tmp/sim"},
}

// printHelp prints a command's usage line, what it does, its flags (only
// its own) and an example.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "minichain ")
	h := helpTexts[name]
	args := h.args
	if args == "" {
		args = "[flags]"
	}
	fmt.Fprintf(w, "usage: minichain %s %s\n", name, args)
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", h.about)
	}
	fmt.Fprintln(w, "\nflags:")
	printFlags(w, fs)
	if h.example != "" {
		fmt.Fprintln(w, "\nexample:")
		for _, line := range strings.Split(h.example, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintln(w, "\nEvery flag can also be set as MINICHAIN_<FLAG>, e.g. MINICHAIN_DATADIR.")
}

// printFlags lists a flag set's flags as --name TYPE, then the usage, with
// the default when it is a real value (the usage says it in words where a
// sentinel stands for "not given").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		if typ == "value" {
			typ = "string"
		}
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintln(w, line)
		if !zeroDefault(f) && !strings.Contains(usage, "(default") {
			def := f.DefValue
			if typ == "duration" {
				def = shortDuration(def)
			}
			usage += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(w, "        %s\n", strings.ReplaceAll(usage, "\n", "\n        "))
	})
}

// shortDuration drops a duration's zero tails: 2m0s is 2m, 24h0m0s 24h.
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which help does not print.
func zeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	// A custom Value's zero: compare with a fresh one's String.
	t := reflect.TypeOf(f.Value)
	if t.Kind() == reflect.Pointer {
		if v, ok := reflect.New(t.Elem()).Interface().(flag.Value); ok {
			return func() (zero bool) {
				defer func() {
					if recover() != nil {
						zero = false
					}
				}()
				return v.String() == f.DefValue
			}()
		}
	}
	return false
}
