package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/client"
	"github.com/minichain/minichain/p2p/hostile"
)

// node is one real `minichain node` process on loopback, with its own data
// directory, IP address (127.0.0.x, so the node looks like a host of its
// own) and ports. It can be stopped and started again on the same data
// and ports.
type node struct {
	name      string
	dir       string
	ip        string
	apiPort   int
	p2pPort   int
	bootstrap []string
	log       string // the process's stdout and stderr, appended across restarts

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current process has exited
	cli    *client.Client
	peerID string
	addr   string // full multiaddr, /p2p/<id> included
}

// freePort asks the kernel for a free TCP port on ip.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newNode prepares a node in dir; start runs it.
func newNode(name, dir, ip string, bootstrap []string) (*node, error) {
	api, err := freePort(ip)
	if err != nil {
		return nil, err
	}
	p2p, err := freePort(ip)
	if err != nil {
		return nil, err
	}
	return &node{name: name, dir: filepath.Join(dir, name), ip: ip, apiPort: api, p2pPort: p2p,
		bootstrap: bootstrap, log: filepath.Join(dir, name+".log")}, nil
}

// start launches the process and waits until its API answers.
func (r *runner) start(ctx context.Context, n *node) error {
	args := []string{"node", "--network", "regtest", "--datadir", n.dir,
		"--api-addr", fmt.Sprintf("%s:%d", n.ip, n.apiPort),
		"--p2p-listen", fmt.Sprintf("/ip4/%s/tcp/%d", n.ip, n.p2pPort), "--log-level", "info"}
	for _, b := range n.bootstrap {
		args = append(args, "--bootstrap", b)
	}
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	fmt.Fprintf(logf, "\n==== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), r.bin, strings.Join(args, " "))
	cmd := exec.Command(r.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = cleanEnv()
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.cli = client.New(fmt.Sprintf("http://%s:%d", n.ip, n.apiPort), "", params)
	n.mu.Unlock()
	r.track(n)

	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := n.status(ctx)
		if err == nil {
			if len(st.Multiaddrs) == 0 {
				return fmt.Errorf("%s reports no p2p address", n.name)
			}
			token, err := os.ReadFile(filepath.Join(n.dir, "api.token"))
			if err != nil {
				return err
			}
			n.mu.Lock()
			n.peerID, n.addr = st.PeerID, st.Multiaddrs[0]
			n.cli = client.New(fmt.Sprintf("http://%s:%d", n.ip, n.apiPort), string(token), params)
			n.mu.Unlock()
			return nil
		}
		if !n.alive() {
			return fmt.Errorf("%s exited at start (log: %s)", n.name, n.log)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: API not up after 30 s: %v", n.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanEnv is this process's environment without MINICHAIN_* variables,
// which would configure the nodes behind the runner's back.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "MINICHAIN_") {
			env = append(env, e)
		}
	}
	return env
}

// pid is the current process's ID, or 0.
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// alive reports whether the current process is running.
func (n *node) alive() bool {
	n.mu.Lock()
	ch := n.exited
	n.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// stop ends the process by its PID: SIGTERM, then SIGKILL after 10 s.
func (n *node) stop() {
	n.mu.Lock()
	cmd, ch := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil || ch == nil {
		return
	}
	select {
	case <-ch:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-ch
	}
}

// exitState describes how the process ended ("" while it runs).
func (n *node) exitState() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.ProcessState == nil {
		return ""
	}
	return n.cmd.ProcessState.String()
}

// panicLine is the last "panic:" line of the node's log, or "".
func (n *node) panicLine() string {
	b, err := os.ReadFile(n.log)
	if err != nil {
		return ""
	}
	last := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "panic:") {
			last = line
		}
	}
	return last
}

func (n *node) client() *client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cli
}

// call bounds one API call in time.
func call[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return f(ctx)
}

func (n *node) status(ctx context.Context) (api.Status, error) {
	return call(ctx, n.client().Status)
}

func (n *node) peers(ctx context.Context) ([]api.Peer, error) {
	ps, err := call(ctx, n.client().Peers)
	return ps.Peers, err
}

// hasPeer reports whether the node is connected to the peer with ID id.
func (n *node) hasPeer(ctx context.Context, id string) bool {
	ps, _ := n.peers(ctx)
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

func (n *node) generate(ctx context.Context, blocks int) error {
	_, err := call(ctx, func(ctx context.Context) ([]string, error) { return n.client().Generate(ctx, blocks) })
	return err
}

// tip is the node's best block as a hostile.Tip, to build blocks on.
func (n *node) tip(ctx context.Context) (hostile.Tip, error) {
	st, err := n.status(ctx)
	if err != nil {
		return hostile.Tip{}, err
	}
	h, err := chain.ParseHash(st.Tip)
	if err != nil {
		return hostile.Tip{}, err
	}
	w, ok := new(big.Int).SetString(st.ChainWork, 16)
	if !ok {
		return hostile.Tip{}, fmt.Errorf("%s: chain work %q is not hex", n.name, st.ChainWork)
	}
	return hostile.Tip{Hash: h, Height: st.Height, Time: uint32(st.TipTime), Work: w}, nil
}

// bans is the sum of the node's minichain_peer_bans_total series.
func (n *node) bans(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s:%d/metrics", n.ip, n.apiPort), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "minichain_peer_bans_total") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += v
		}
	}
	return total, sc.Err()
}

// rss is the process's resident set (VmRSS), in bytes.
func (n *node) rss() (int64, error) {
	pid := n.pid()
	if pid == 0 {
		return 0, errors.New("not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// cpu is the CPU time the process has used (user + system).
func (n *node) cpu() (time.Duration, error) {
	pid := n.pid()
	if pid == 0 {
		return 0, errors.New("not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its ')'
	// start at field 3 (state). utime and stime are fields 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}
