package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exitCode is a finished command's exit status (0 for no error).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestStartupMistakes: each ordinary mistake when starting a node is one
// line on stderr that says what is wrong and what to do, exit status 1, no
// stack trace, and the data directory is left usable (the store closed: the
// same directory starts cleanly afterwards).
func TestStartupMistakes(t *testing.T) {
	// The busy node holds an API port, a data directory and a p2p port.
	_, p2pPort, err := net.SplitHostPort(freePort(t))
	if err != nil {
		t.Fatal(err)
	}
	busyP2P := "/ip4/127.0.0.1/tcp/" + p2pPort
	busy := startNodeProcess(t, t.TempDir(), freePort(t), "--p2p-listen", busyP2P)
	encrypted := t.TempDir()
	// Create the encrypted wallet the way a user would: start once with a
	// passphrase, then stop.
	enc := startNodeProcess(t, encrypted, freePort(t), "--wallet-passphrase-file", writeFile(t, "right\n"))
	enc.stop(t)

	tests := []struct {
		name    string
		env     []string
		datadir string
		args    []string
		want    string // in the one line
	}{
		{"API port in use", nil, "", []string{"--api-addr", busy.addr}, "is in use"},
		{"API address malformed", nil, "", []string{"--api-addr", "nonsense"}, "is not host:port"},
		{"API port out of range", nil, "", []string{"--api-addr", "127.0.0.1:99999"}, "is not host:port"},
		{"miner address malformed", nil, "", []string{"--miner-address", "nonsense"}, "--miner-address"},
		{"miner address of another network", nil, "", []string{"--miner-address", devnetAddress}, "regtest"},
		{"wallet passphrase missing", nil, encrypted, nil, "no passphrase was given"},
		{"wallet passphrase wrong", []string{"MINICHAIN_WALLET_PASSPHRASE=wrong"}, encrypted, nil, "does not open"},
		{"data directory in use", nil, busy.datadir, nil, "another node using this data directory"},
		// libp2p's TCP transport would share the port (SO_REUSEPORT) and
		// start; the node must refuse. Its tcp/0 address is free: one busy
		// address of several is enough.
		{"p2p port in use", nil, "", []string{"--p2p-listen", busyP2P}, "the p2p address " + busyP2P + " is in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.datadir
			if dir == "" {
				dir = t.TempDir()
			}
			args := append([]string{"node", "--network", "regtest", "--datadir", dir, "--p2p-listen", "/ip4/127.0.0.1/tcp/0",
				"--api-addr", freePort(t)}, tc.args...)
			out, errOut, err := runWithin(time.Minute, tc.env, args...)
			code := exitCode(err)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			switch {
			case code != 1:
				t.Fatalf("exit status %d, want 1 (err %v)\nstderr:\n%s", code, err, errOut)
			case strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic"):
				t.Fatalf("a stack trace:\n%s", errOut)
			case !strings.HasPrefix(last, "minichain node: ") || !strings.Contains(last, tc.want):
				t.Fatalf("last line %q, want one line about %q\nstdout: %s", last, tc.want, out)
			}
		})
	}
	// The encrypted wallet's node starts with the right passphrase: the
	// failed starts left its store closed and whole.
	ok := startNodeProcess(t, encrypted, freePort(t), "--wallet-passphrase-file", writeFile(t, "right\n"))
	ok.stop(t)
}

// runWithin is cliRun with a deadline: a node that starts when it should
// have refused is killed, and the test fails on its exit status instead of
// hanging.
func runWithin(d time.Duration, env []string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// devnetAddress is an address of the devnet (the devnet faucet's).
const devnetAddress = "DL8bHi2YD3hnW27cHGw5EA9CGPqnGNTFbn"

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
