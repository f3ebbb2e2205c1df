package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fail runs the binary, requires it to fail with exit status code and one
// line on stderr holding every want, and returns that line.
func fail(t *testing.T, env []string, code int, want []string, args ...string) string {
	t.Helper()
	out, errOut, err := cliRun(env, args...)
	line := strings.TrimSpace(errOut)
	if got := exitCode(err); got != code || strings.Contains(line, "\n") {
		t.Fatalf("minichain %s: exit %d, want %d and one line\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Fatalf("minichain %s: %q lacks %q", strings.Join(args, " "), line, w)
		}
	}
	return line
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCLIFindsTheNode: client commands talk to the node the node's own
// settings name (--api-addr, MINICHAIN_API_ADDR; a wildcard host is this
// machine) unless --node is given, and an unreachable node is one line
// naming the URL tried and how to change it.
func TestCLIFindsTheNode(t *testing.T) {
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	startNodeProcess(t, t.TempDir(), addr, "--api-host", "minichain.example")
	dead := closedAddr(t)

	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"MINICHAIN_API_ADDR", []string{"MINICHAIN_API_ADDR=" + addr}, nil},
		{"--api-addr", nil, []string{"--api-addr", addr}},
		{"a wildcard --api-addr", nil, []string{"--api-addr", "0.0.0.0:" + port}},
		{"--node over MINICHAIN_API_ADDR", []string{"MINICHAIN_API_ADDR=" + dead}, []string{"--node", "http://" + addr}},
		{"--api-addr over MINICHAIN_NODE", []string{"MINICHAIN_NODE=http://" + dead}, []string{"--api-addr", addr}},
		{"MINICHAIN_NODE without a scheme", []string{"MINICHAIN_NODE=" + addr}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st map[string]any
			jsonOut(t, cli(t, tc.env, append([]string{"status", "--json"}, tc.args...)...), &st)
			if st["network"] != "regtest" {
				t.Fatalf("status: %v", st)
			}
		})
	}

	// Unreachable: the URL tried, where it came from, what to change.
	fail(t, []string{"MINICHAIN_API_ADDR=" + dead}, 1,
		[]string{"cannot reach a node at http://" + dead, "connection refused", "from MINICHAIN_API_ADDR", "--node", "--api-addr"}, "status")
	fail(t, nil, 1, []string{"http://" + dead, "from --node"}, "block", "latest", "--node", "http://"+dead)
	fail(t, []string{"MINICHAIN_API_ADDR=" + dead}, 1, []string{"http://" + dead}, "wallet", "balance", "--wallet", filepath.Join(t.TempDir(), "w.json"))
	fail(t, nil, 2, []string{"--node", "not the URL"}, "status", "--node", "ftp://x")
	fail(t, nil, 2, []string{"--api-addr nonsense", "host:port"}, "status", "--api-addr", "nonsense")

	// The node's --api-host: the Host check lets the configured name in
	// and keeps others out.
	for host, want := range map[string]int{"minichain.example": 200, "localhost:" + port: 200, "rebound.example": 403} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/status", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestCLINetworkFromNode: without --network, commands follow the node's
// network (an SPV proof against a regtest node verifies); an explicit
// network that differs is refused in one line.
func TestCLINetworkFromNode(t *testing.T) {
	datadir := t.TempDir()
	addr := freePort(t)
	startNodeProcess(t, datadir, addr)
	node := []string{"--node", "http://" + addr}
	cli(t, nil, append([]string{"mine", "2", "--datadir", datadir}, node...)...)
	var b struct {
		Transactions []struct {
			TxID string `json:"txid"`
		} `json:"transactions"`
	}
	jsonOut(t, cli(t, nil, append([]string{"block", "latest", "--json"}, node...)...), &b)
	txid := b.Transactions[0].TxID
	out := cli(t, nil, append([]string{"proof", txid}, node...)...)
	if !strings.Contains(out, "within regtest's limit") || !strings.Contains(out, "verified: the transaction is in block 2") {
		t.Fatalf("proof without --network:\n%s", out)
	}
	fail(t, nil, 1, []string{"is on regtest, but --network says devnet", "leave the network out"},
		append([]string{"proof", txid, "--network", "devnet"}, node...)...)
	fail(t, []string{"MINICHAIN_NETWORK=devnet"}, 1, []string{"is on regtest, but MINICHAIN_NETWORK says devnet"},
		append([]string{"status"}, node...)...)
	cli(t, []string{"MINICHAIN_NETWORK=regtest"}, append([]string{"status"}, node...)...)
	fail(t, nil, 2, []string{"unknown network"}, append([]string{"status", "--network", "mainnet"}, node...)...)

	// Wallet commands that ask the node follow its network too, and find
	// the wallet of that network.
	home := t.TempDir()
	env := []string{"HOME=" + home}
	cli(t, env, "wallet", "create", "--network", "regtest", "--no-passphrase")
	out = cli(t, env, append([]string{"wallet", "balance"}, node...)...)
	if !strings.Contains(out, "confirmed:") {
		t.Fatalf("balance: %s", out)
	}
	fail(t, []string{"HOME=" + t.TempDir()}, 1, []string{"no regtest wallet at", "wallet create --network regtest"},
		append([]string{"wallet", "balance"}, node...)...)
}

// TestCLITokens: the token comes from --datadir or MINICHAIN_DATADIR (or
// the node's network's default data directory); a missing token names the
// file looked for, a refused one names the file it came from and says the
// token changes at every start.
func TestCLITokens(t *testing.T) {
	home := t.TempDir()
	datadir := filepath.Join(home, ".minichain", "regtest") // the default data directory of regtest
	addr := freePort(t)
	rn := startNodeProcess(t, datadir, addr)
	node := []string{"--node", "http://" + addr}

	cli(t, nil, append([]string{"mine", "1", "--datadir", datadir}, node...)...)
	cli(t, []string{"MINICHAIN_DATADIR=" + datadir}, append([]string{"mine", "1"}, node...)...)
	cli(t, []string{"HOME=" + home}, append([]string{"mine", "1"}, node...)...) // the network learned, its default directory
	cli(t, nil, append([]string{"mine", "1", "--token-file", filepath.Join(datadir, "api.token")}, node...)...)

	other := t.TempDir()
	missing := fail(t, []string{"MINICHAIN_DATADIR=" + other}, 1,
		[]string{filepath.Join(other, "api.token") + " does not exist", "from MINICHAIN_DATADIR", "--datadir", "--token-file"},
		append([]string{"mine", "1"}, node...)...)
	fail(t, []string{"HOME=" + other}, 1, []string{filepath.Join(other, ".minichain", "regtest", "api.token"), "default data directory of regtest"},
		append([]string{"validate"}, node...)...)

	// A token from an earlier start: refused, and the message says why.
	old := filepath.Join(t.TempDir(), "old.token")
	tok, err := os.ReadFile(filepath.Join(datadir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, tok, 0o600); err != nil {
		t.Fatal(err)
	}
	rn.stop(t)
	startNodeProcess(t, datadir, addr)
	wrong := fail(t, nil, 1, []string{"refused the API token from " + old, "new token at every start", "--datadir", "--token-file"},
		append([]string{"mine", "1", "--token-file", old}, node...)...)
	if wrong == missing {
		t.Fatal("a wrong token and a missing one say the same")
	}
	fail(t, []string{"MINICHAIN_API_TOKEN=" + strings.TrimSpace(string(tok))}, 1, []string{"refused the API token from MINICHAIN_API_TOKEN"},
		append([]string{"validate"}, node...)...)
	cli(t, nil, append([]string{"validate", "--datadir", datadir}, node...)...)
}

// TestCLIHelp: every command and wallet subcommand has help on stdout
// (exit 0) with a usage line, its own flags only, an example, and no
// sentinel defaults; "minichain wallet --help" lists the subcommands.
func TestCLIHelp(t *testing.T) {
	subs := []string{"create", "restore", "address", "balance", "list", "export", "import"}
	for _, args := range [][]string{{"wallet", "--help"}, {"wallet", "-h"}, {"wallet", "help"}, {"help", "wallet"}} {
		out := cli(t, nil, args...)
		for _, s := range subs {
			if !strings.Contains(out, "\n  "+s+" ") {
				t.Errorf("minichain %s does not list %q:\n%s", strings.Join(args, " "), s, out)
			}
		}
	}
	cmds := [][]string{{"node"}, {"reset"}, {"send"}, {"status"}, {"block"}, {"tx"}, {"mempool"}, {"peers"}, {"proof"},
		{"validate"}, {"mine"}, {"loadgen"}, {"sim"}, {"token"}, {"health"}}
	for _, s := range subs {
		cmds = append(cmds, []string{"wallet", s})
	}
	for _, c := range cmds {
		name := strings.Join(c, " ")
		for _, h := range []string{"-h", "--help"} {
			out := cli(t, nil, append(c, h)...)
			if !strings.HasPrefix(out, "usage: minichain "+name+" ") || !strings.Contains(out, "\nexample:\n  ") || !strings.Contains(out, "\nflags:\n") {
				t.Errorf("minichain %s %s:\n%s", name, h, out)
			}
			for _, noise := range []string{"-1ns", "(default -1", "0s)", "m0s", "e+0"} {
				if strings.Contains(out, noise) {
					t.Errorf("minichain %s %s shows %q:\n%s", name, h, noise, out)
				}
			}
		}
	}
	if a, b := cli(t, nil, "help", "send"), cli(t, nil, "send", "-h"); a != b {
		t.Error("'help send' and 'send -h' differ")
	}
	// Only the command's own flags.
	own := map[string][2][]string{ // command: {flags it lists, flags it must not}
		"status":        {{"--node", "--api-addr", "--network", "--json"}, {"--token-file", "--datadir", "--wallet"}},
		"proof":         {{"--node", "--network"}, {"--token-file", "--datadir", "--wallet"}},
		"mine":          {{"--node", "--datadir", "--token-file"}, {"--wallet", "--passphrase-file"}},
		"wallet create": {{"--wallet", "--words", "--no-passphrase"}, {"--node", "--token-file", "--gap", "--offline"}},
		"wallet restore": {{"--wallet", "--node", "--gap", "--mnemonic-file", "--offline"},
			{"--token-file", "--words"}},
		"wallet address": {{"--wallet"}, {"--node", "--token-file", "--passphrase-file"}},
		"wallet balance": {{"--wallet", "--node"}, {"--token-file", "--passphrase-file"}},
		"send":           {{"--to", "--amount", "--fee-rate", "--max-fee-rate", "--force", "--wallet", "--node"}, {"--token-file"}},
		"node":           {{"--api-addr", "--api-host", "--miner-interval"}, {"--node", "--wallet"}},
	}
	for name, f := range own {
		out := cli(t, nil, append(strings.Fields(name), "-h")...)
		for _, want := range f[0] {
			if !strings.Contains(out, "\n  "+want+" ") && !strings.Contains(out, "\n  "+want+"\n") {
				t.Errorf("minichain %s -h does not list %s", name, want)
			}
		}
		for _, not := range f[1] {
			if strings.Contains(out, "\n  "+not+" ") || strings.Contains(out, "\n  "+not+"\n") {
				t.Errorf("minichain %s -h lists %s, which it does not take", name, not)
			}
		}
	}
	fail(t, nil, 2, []string{"unknown wallet subcommand", "create, restore"}, "wallet", "frobnicate")
	fail(t, nil, 2, []string{"-bogus", "minichain status -h"}, "status", "--bogus")
}
