package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/chaintest"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/wallet"
)

var binary string

// TestMain builds the minichain binary once; the tests run it as a user
// would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minichain-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "minichain")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build minichain:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary and returns stdout; it fails the test on a non-zero
// exit unless wantFail.
func cli(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := cliRun(env, args...)
	if err != nil {
		t.Fatalf("minichain %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func cliRun(env []string, args ...string) (string, string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runningNode is a minichain node process.
type runningNode struct {
	cmd     *exec.Cmd
	logs    *syncBuffer
	datadir string
	addr    string // the API's host:port
}

// syncBuffer is a bytes.Buffer the process writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startNodeProcess(t *testing.T, datadir, addr string, extra ...string) *runningNode {
	t.Helper()
	args := append([]string{"node", "--network", "regtest", "--datadir", datadir, "--api-addr", addr, "--miner-threads", "1",
		"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MINICHAIN_LOG_LEVEL=info")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rn := &runningNode{cmd: cmd, logs: logs, datadir: datadir, addr: addr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, err := cliRun(nil, "status", "--network", "regtest", "--node", "http://"+addr); err == nil {
			return rn
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not answer within 30 s; logs:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit within 5 s.
func (rn *runningNode) stop(t *testing.T) {
	t.Helper()
	rn.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- rn.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("node exited with %v; logs:\n%s", err, rn.logs)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("node did not stop within 5 s of SIGTERM; logs:\n%s", rn.logs)
	}
}

func jsonOut(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

// TestCLIUserStory runs the built binary: start a regtest node, mine, send
// between two wallets, see the confirmed balances, SPV-verify the payment,
// stop the node, restart it, and find the same tip and balances.
func TestCLIUserStory(t *testing.T) {
	dir := t.TempDir()
	datadir := filepath.Join(dir, "node")
	addr := freePort(t)
	nodeURL := "http://" + addr
	common := []string{"--network", "regtest", "--node", nodeURL, "--datadir", datadir}
	offline := []string{"--network", "regtest"} // wallet commands that talk to no node
	read := []string{"--node", nodeURL}         // read commands: the network is the node's
	rn := startNodeProcess(t, datadir, addr)
	// The node's new wallet: its phrase is in a file only the user can
	// read, and nowhere in the log, which names the file.
	backup := filepath.Join(datadir, node.BackupPhraseFile)
	st, err := os.Stat(backup)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup phrase file: %v, mode %v; want mode 0600", err, st.Mode())
	}
	phrase, _ := os.ReadFile(backup)
	words := strings.Fields(string(phrase))
	if len(words) < 12 || !strings.Contains(rn.logs.String(), backup) || strings.Contains(rn.logs.String(), strings.Join(words[len(words)-12:], " ")) {
		t.Fatalf("the log must name %s and not hold the phrase:\n%s", backup, rn.logs)
	}

	// Two local wallets: alice gets the regtest faucet key, bob is empty.
	aliceW, bobW := filepath.Join(dir, "alice.json"), filepath.Join(dir, "bob.json")
	pass := []string{"MINICHAIN_WALLET_PASSPHRASE=s3cret"}
	out := cli(t, pass, append([]string{"wallet", "create", "--wallet", aliceW}, offline...)...)
	if !strings.Contains(out, "backup phrase") {
		t.Fatalf("create did not show the mnemonic: %s", out)
	}
	cli(t, nil, append([]string{"wallet", "create", "--wallet", bobW, "--no-passphrase"}, offline...)...)
	faucetWIF := wallet.EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams)
	cli(t, pass, append([]string{"wallet", "import", faucetWIF, "--wallet", aliceW}, offline...)...)
	if _, errOut, err := cliRun([]string{"MINICHAIN_WALLET_PASSPHRASE=wrong"}, append([]string{"wallet", "export", "--mnemonic", "--wallet", aliceW}, offline...)...); err == nil || !strings.Contains(errOut, "wrong passphrase") {
		t.Fatalf("a wrong passphrase must be refused clearly: %v %s", err, errOut)
	}
	var bobAddr map[string]string
	jsonOut(t, cli(t, nil, append([]string{"wallet", "address", "--wallet", bobW, "--json"}, offline...)...), &bobAddr)

	cli(t, nil, append([]string{"mine", "3"}, common...)...)
	var sent map[string]any
	jsonOut(t, cli(t, pass, append([]string{"send", "--to", bobAddr["address"], "--amount", "1.5", "--wallet", aliceW, "--json"}, common...)...), &sent)
	txid := sent["txid"].(string)
	cli(t, nil, append([]string{"mine", "1"}, common...)...)

	var bal wallet.Balance
	jsonOut(t, cli(t, nil, append([]string{"wallet", "balance", "--wallet", bobW, "--json"}, common...)...), &bal)
	if bal.Confirmed != 150_000_000 || bal.Unconfirmed != 0 {
		t.Fatalf("bob's balance: %+v", bal)
	}
	var aliceBal wallet.Balance
	jsonOut(t, cli(t, nil, append([]string{"wallet", "balance", "--wallet", aliceW, "--json"}, common...)...), &aliceBal)
	faucet := chain.RegtestParams.GenesisBlock.Transactions[0].TxOut[0].Value
	if aliceBal.Confirmed != faucet-150_000_000-uint64(sent["fee"].(float64)) {
		t.Fatalf("alice's balance: %+v", aliceBal)
	}

	proof := cli(t, nil, append([]string{"proof", txid}, read...)...)
	for _, want := range []string{"hashes to the block hash", "meets the header's own target", "Merkle branch", "verified: the transaction is in block 4"} {
		if !strings.Contains(proof, want) {
			t.Fatalf("proof output lacks %q:\n%s", want, proof)
		}
	}
	txOut := cli(t, nil, append([]string{"tx", txid}, read...)...)
	if !strings.Contains(txOut, "OP_DUP OP_HASH160") || !strings.Contains(txOut, "1.50000000") {
		t.Fatalf("tx output:\n%s", txOut)
	}
	valid := cli(t, nil, append([]string{"validate"}, common...)...)
	if !strings.Contains(valid, "chain valid") {
		t.Fatalf("validate: %s", valid)
	}
	var st1 map[string]any
	jsonOut(t, cli(t, nil, append([]string{"status", "--json"}, read...)...), &st1)

	rn.stop(t)
	startNodeProcess(t, datadir, addr)
	var st2 map[string]any
	jsonOut(t, cli(t, nil, append([]string{"status", "--json"}, read...)...), &st2)
	if st1["tip"] != st2["tip"] || st1["height"] != st2["height"] {
		t.Fatalf("after restart tip %v/%v, before %v/%v", st2["height"], st2["tip"], st1["height"], st1["tip"])
	}
	var bal2 wallet.Balance
	jsonOut(t, cli(t, nil, append([]string{"wallet", "balance", "--wallet", bobW, "--json"}, common...)...), &bal2)
	if bal2 != bal {
		t.Fatalf("bob's balance after restart %+v, before %+v", bal2, bal)
	}
}

// TestCLIErrors: bad command lines and bad input give clear errors and exit
// codes, never a crash.
func TestCLIErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"send", "--to", "x"}, 2, "needs --to ADDR and --amount"},
		{[]string{"send", "--to", "x", "--amount", "1.123456789"}, 2, "more than 8 decimals"},
		{[]string{"node", "--network", "mainnet"}, 2, "unknown network"},
		{[]string{"node", "--log-format", "xml", "--network", "regtest"}, 2, "want text or json"},
		{[]string{"node", "--network", "regtest", "--miner-kernel", "sse"}, 2, "unknown kernel"},
		{[]string{"status", "--node", "http://127.0.0.1:1"}, 1, "connect"},
		{[]string{"proof", "nothex"}, 2, "not a txid"},
		{[]string{"wallet", "address", "--wallet", "/nonexistent/w.json", "--network", "regtest"}, 1, "no regtest wallet at /nonexistent/w.json"},
		{[]string{"sim", "--nodes", "-3"}, 2, "--nodes -3"},
		// An unwritable profile path fails before the (here long) run.
		{[]string{"sim", "--duration", "2400h", "--memprofile", "/nonexistent/m.prof"}, 1, "--memprofile: open /nonexistent/m.prof"},
		{[]string{"sim", "--partition", "3h-2h"}, 2, "heal must come after start"},
		{[]string{"sim", "--bandwidth", "fast"}, 2, "want bits per second"},
		{[]string{"sim", "--memory-limit", "7G"}, 2, "want a size such as 7GiB"},
		{[]string{"sim", "--memory-limit", "1MiB"}, 2, "below 64MiB"},
		{[]string{"sim", "--workers", "-1"}, 2, "--workers must not be negative"},
		{[]string{"sim", "--workers", "100000"}, 2, "--workers 100000: at most 256"},
		{[]string{"sim", "--shares", "0.8,0.7"}, 2, "more than 1"},
		{[]string{"loadgen", "--node", "ftp://x"}, 2, "not an http:// or https:// URL"},
		{[]string{"loadgen", "--node", "http://127.0.0.1:1", "--token-file", "/nonexistent"}, 1, "needs its API token"},
		{[]string{"loadgen", "--fund", "abc"}, 2, "--fund"},
	}
	for _, tc := range cases {
		_, errOut, err := cliRun(nil, tc.args...)
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("minichain %v: exit %v, stderr %q; want code %d and %q", tc.args, err, errOut, tc.code, tc.want)
		}
	}
	// A kernel the CPU lacks (here turned off through GODEBUG) is one
	// clear line, before the node starts; so is the same through the
	// environment variable.
	for _, env := range [][]string{{"GODEBUG=cpu.avx512f=off"}, {"GODEBUG=cpu.avx512f=off", "MINICHAIN_MINER_KERNEL=avx512"}} {
		args := []string{"node", "--network", "regtest", "--datadir", t.TempDir()}
		if len(env) == 1 {
			args = append(args, "--miner-kernel", "avx512")
		}
		_, errOut, err := cliRun(env, args...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut, "avx512") ||
			!strings.Contains(errOut, "not supported by this CPU") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("node with avx512 turned off, %v: exit %v, stderr %q; want code 1 and one line", env, err, errOut)
		}
	}
	if out, _, err := cliRun(nil, "help"); err != nil || !strings.Contains(out, "usage: minichain") {
		t.Errorf("help: %v %s", err, out)
	}
}

// TestResetKeepsWallet: reset wipes the chain of a stopped node and keeps
// its wallet; it refuses while the node runs.
func TestResetKeepsWallet(t *testing.T) {
	datadir := filepath.Join(t.TempDir(), "node")
	addr := freePort(t)
	rn := startNodeProcess(t, datadir, addr)
	cli(t, nil, "mine", "2", "--network", "regtest", "--node", "http://"+addr, "--datadir", datadir)
	if _, errOut, err := cliRun(nil, "reset", "--datadir", datadir, "--yes"); err == nil || !strings.Contains(errOut, "still running") {
		t.Fatalf("reset of a running node: %v %s", err, errOut)
	}
	rn.stop(t)
	walletBefore, _ := os.ReadFile(filepath.Join(datadir, "wallet.json"))
	if _, _, err := cliRun(nil, "reset", "--datadir", datadir); err == nil {
		t.Fatal("reset without --yes and without an answer must not go on")
	}
	cli(t, nil, "reset", "--datadir", datadir, "--yes")
	walletAfter, _ := os.ReadFile(filepath.Join(datadir, "wallet.json"))
	if !bytes.Equal(walletBefore, walletAfter) || len(walletAfter) == 0 {
		t.Fatal("reset touched the wallet")
	}
	startNodeProcess(t, datadir, addr)
	var st map[string]any
	jsonOut(t, cli(t, nil, "status", "--json", "--network", "regtest", "--node", "http://"+addr), &st)
	if st["height"].(float64) != 0 {
		t.Fatalf("height after reset: %v", st["height"])
	}
}

// TestKill9LosesNothingAcknowledged: a node killed with SIGKILL right after
// acknowledging blocks, a payment and a new address comes back with all of
// them.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	datadir := filepath.Join(dir, "node")
	addr := freePort(t)
	common := []string{"--network", "regtest", "--node", "http://" + addr, "--datadir", datadir}
	offline := []string{"--network", "regtest"}
	read := []string{"--node", "http://" + addr}
	rn := startNodeProcess(t, datadir, addr)
	hashes := strings.Fields(cli(t, nil, append([]string{"mine", "3"}, common...)...))
	w := filepath.Join(dir, "w.json")
	cli(t, nil, append([]string{"wallet", "create", "--wallet", w, "--no-passphrase"}, offline...)...)
	cli(t, nil, append([]string{"wallet", "import", wallet.EncodeWIF(chaintest.RegtestFaucet.Priv, chain.RegtestParams), "--wallet", w}, offline...)...)
	var sent map[string]any
	jsonOut(t, cli(t, nil, append([]string{"send", "--to", wallet.NewAddress([20]byte{5}, chain.RegtestParams).String(),
		"--amount", "3", "--wallet", w, "--json"}, common...)...), &sent)
	rn.cmd.Process.Signal(syscall.SIGKILL)
	rn.cmd.Wait()

	startNodeProcess(t, datadir, addr)
	var st map[string]any
	jsonOut(t, cli(t, nil, append([]string{"status", "--json"}, read...)...), &st)
	if st["tip"] != hashes[len(hashes)-1] {
		t.Fatalf("after kill -9 the tip is %v, want %s", st["tip"], hashes[len(hashes)-1])
	}
	var tx map[string]any
	jsonOut(t, cli(t, nil, append([]string{"tx", sent["txid"].(string), "--json"}, read...)...), &tx)
	if tx["in_mempool"] != true {
		t.Fatalf("the acknowledged payment is gone: %v", tx)
	}
}

// TestCLISim: the same seed and flags print the same report and write the
// same files; the report says every node ended on one tip.
func TestCLISim(t *testing.T) {
	dir := t.TempDir()
	args := []string{"sim", "--nodes", "8", "--duration", "3h", "--block-interval", "5m", "--peers", "2",
		"--tx-rate", "0.05", "--partition", "30m-1h", "--seed", "3", "--quiet"}
	out1 := cli(t, nil, append(args, "--out", filepath.Join(dir, "a"))...)
	out2 := cli(t, nil, append(args, "--out", filepath.Join(dir, "b"))...)
	if out1 != out2 {
		t.Fatalf("same seed, different tables:\n%s\n---\n%s", out1, out2)
	}
	if !strings.Contains(out1, "one tip: yes") || !strings.Contains(out1, "partition") {
		t.Fatalf("unexpected table:\n%s", out1)
	}
	for _, f := range []string{"report.json", "propagation.svg", "stale.svg"} {
		a, err := os.ReadFile(filepath.Join(dir, "a", f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "b", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs of the same seed", f)
		}
	}
	var report struct {
		Blocks struct {
			Mined     int `json:"mined"`
			MainChain int `json:"main_chain"`
			Stale     int `json:"stale"`
		} `json:"blocks"`
		Final struct {
			OneTip bool `json:"one_tip"`
		} `json:"final"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a", "report.json"))
	jsonOut(t, string(b), &report)
	if !report.Final.OneTip || report.Blocks.Mined == 0 || report.Blocks.Mined != report.Blocks.MainChain+report.Blocks.Stale {
		t.Fatalf("report: %+v", report)
	}
}

// TestCLILoadgen runs loadgen against a mining node process.
func TestCLILoadgen(t *testing.T) {
	datadir := filepath.Join(t.TempDir(), "node")
	addr := freePort(t)
	nodeURL := "http://" + addr
	rn := startNodeProcess(t, datadir, addr)
	defer rn.stop(t)
	cli(t, nil, "mine", "12", "--network", "regtest", "--node", nodeURL, "--datadir", datadir)
	out := cli(t, nil, "loadgen", "--node", nodeURL, "--token-file", filepath.Join(datadir, "api.token"),
		"--wallets", "4", "--rate", "10", "--count", "20", "--confirm-wait", "0", "--seed", "5", "--json", "--quiet")
	var r struct {
		Sent, Accepted, Confirmed, Unconfirmed int
		Skipped                                int `json:"skipped_no_coin_ready"`
		Rejected                               map[string]int
	}
	jsonOut(t, out, &r)
	rejected := 0
	for _, n := range r.Rejected {
		rejected += n
	}
	if r.Sent+r.Skipped != 20 || r.Accepted+rejected != r.Sent || r.Accepted == 0 || r.Confirmed+r.Unconfirmed != r.Accepted {
		t.Fatalf("loadgen report does not add up: %s", out)
	}
}
