package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/client"
)

// How a command that talks to a node finds it, learns its network and
// gets its API token: the same settings the node itself was started with
// (--api-addr, --datadir and their MINICHAIN_ variables) point the
// commands at it, and every failure says what was tried and how to change
// it.

// Which flags a command registers besides --network.
const (
	withNode    = 1 << iota // --node and --api-addr: the command talks to a node
	withToken               // --datadir and --token-file: it needs the API token
	withDatadir             // --datadir alone: the default wallet lives there
	withJSON                // --json
)

// clientFlags are the flags of commands that talk to a node or use its
// data directory, and what connect found out.
type clientFlags struct {
	network   string
	nodeURL   string
	apiAddr   string
	datadir   string
	tokenFile string
	json      bool
	given     givenFlags

	url     string     // the node's API, once connect chose it
	urlFrom string     // how it was chosen, for messages
	status  api.Status // the node's status, once connect asked
	tokFrom string     // where the token came from, once read
}

func (c *clientFlags) register(fs *flag.FlagSet, what int) {
	if what&withNode != 0 {
		fs.StringVar(&c.network, "network", "", "devnet or regtest (default: the node's, from its status; if given, the node must be on it)")
		fs.StringVar(&c.nodeURL, "node", "", "URL of the node's API (default: http:// and --api-addr)")
		fs.StringVar(&c.apiAddr, "api-addr", "", "the API address the node was started with, used when --node is not given (default "+node.DefaultAPIAddr+"; 0.0.0.0 means this machine)")
	} else {
		fs.StringVar(&c.network, "network", "", "devnet or regtest (default devnet)")
	}
	if what&(withToken|withDatadir) != 0 {
		usage := "the node's data directory, holding its API token (default ~/.minichain/<network>)"
		if what&withToken == 0 {
			usage = "data directory whose " + defaultWalletFile + " is the default wallet (default ~/.minichain/<network>)"
		}
		fs.StringVar(&c.datadir, "datadir", "", usage)
	}
	if what&withToken != 0 {
		fs.StringVar(&c.tokenFile, "token-file", "", "file holding the node's API token (default <datadir>/api.token; MINICHAIN_API_TOKEN gives the token itself)")
	}
	if what&withJSON != 0 {
		fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	}
}

// offlineParams is the network of a command that talks to no node:
// --network, or devnet.
func (c *clientFlags) offlineParams() (*chain.Params, error) {
	name := c.network
	if name == "" {
		name = "devnet"
	}
	p, err := chain.NetworkParams(name)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}

// dataDir is --datadir (or MINICHAIN_DATADIR) or the network's default,
// and how it was chosen.
func (c *clientFlags) dataDir(p *chain.Params) (dir, how string) {
	if c.datadir != "" {
		return expandHome(c.datadir), c.source("datadir", c.datadir)
	}
	return node.DefaultDataDir(p.Name), "the default data directory of " + p.Name
}

// source says where a flag's value came from, for messages: "--datadir
// /x" or "MINICHAIN_DATADIR=/x".
func (c *clientFlags) source(name, value string) string {
	if c.given.onCommandLine(name) {
		return "--" + name + " " + value
	}
	return c.given[name] + "=" + value
}

// rank orders where a flag came from: the command line beats the
// environment, which beats nothing.
func (c *clientFlags) rank(name string) int {
	switch {
	case c.given.onCommandLine(name):
		return 2
	case c.given[name] != "":
		return 1
	}
	return 0
}

// chooseURL picks the node's API: --node, else http:// and --api-addr, else
// the default address; a flag on the command line beats a variable in the
// environment, and --node beats --api-addr given the same way.
func (c *clientFlags) chooseURL() error {
	nodeRank, addrRank := c.rank("node"), c.rank("api-addr")
	if nodeRank > 0 && nodeRank >= addrRank {
		raw := c.nodeURL
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("%s is not the URL of a node's API (for example http://127.0.0.1:8080)", c.source("node", c.nodeURL))
		}
		c.url, c.urlFrom = strings.TrimRight(raw, "/"), c.source("node", c.nodeURL)
		return nil
	}
	addr, from := node.DefaultAPIAddr, "the default API address"
	if addrRank > 0 {
		addr, from = c.apiAddr, c.source("api-addr", c.apiAddr)
	}
	u, err := apiURL(addr)
	if err != nil {
		return usagef("%s is not host:port (for example 127.0.0.1:8080)", from)
	}
	c.url, c.urlFrom = u, from
	return nil
}

// apiURL is the URL a client reaches an API listening on addr at: a node
// listening on every interface is reached here on loopback.
func apiURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// connect finds the node, learns its network from its status (checking it
// against an explicit --network), and returns a client of it: with the
// API token when needToken.
func (c *clientFlags) connect(ctx context.Context, needToken bool) (*client.Client, *chain.Params, error) {
	if c.network != "" {
		if _, err := chain.NetworkParams(c.network); err != nil {
			return nil, nil, usageError{err.Error()}
		}
	}
	if err := c.chooseURL(); err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := client.New(c.url, "", nil).Status(sctx)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == 404 {
			return nil, nil, fmt.Errorf("%s answers, but not as a minichain node (no /api/v1/status): is --node right?", c.url)
		}
		return nil, nil, c.explain(err)
	}
	c.status = st
	p, err := chain.NetworkParams(st.Network)
	if err != nil {
		return nil, nil, fmt.Errorf("the node at %s is on a network this minichain does not know (%q): is it another version?", c.url, st.Network)
	}
	if st.Genesis != p.GenesisHash.String() {
		return nil, nil, fmt.Errorf("the node at %s says it is on %s, but its genesis block %s is not %s's: is it another version of minichain?",
			c.url, p.Name, st.Genesis, p.Name)
	}
	if c.network != "" && c.network != p.Name {
		return nil, nil, fmt.Errorf("the node at %s is on %s, but %s says %s: leave the network out to follow the node, or point --node at a %s node",
			c.url, p.Name, c.given["network"], c.network, c.network)
	}
	token := ""
	if needToken {
		if token, err = c.readToken(p); err != nil {
			return nil, nil, err
		}
	}
	return client.New(c.url, token, p), p, nil
}

// readToken reads the node's API token: MINICHAIN_API_TOKEN, else
// --token-file, else api.token in the data directory.
func (c *clientFlags) readToken(p *chain.Params) (string, error) {
	if t := strings.TrimSpace(os.Getenv("MINICHAIN_API_TOKEN")); t != "" {
		c.tokFrom = "MINICHAIN_API_TOKEN"
		return t, nil
	}
	path, how := expandHome(c.tokenFile), c.given["token-file"]
	if path == "" {
		var dir string
		dir, how = c.dataDir(p)
		path = node.TokenPath(dir)
	}
	c.tokFrom = path
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("this command needs the API token of the node at %s, and %s does not exist (from %s): "+
			"give the node's data directory with --datadir or MINICHAIN_DATADIR, or the token with --token-file or MINICHAIN_API_TOKEN",
			c.url, path, how)
	case err != nil:
		return "", fmt.Errorf("this command needs the API token of the node at %s: %v", c.url, err)
	case len(strings.TrimSpace(string(b))) == 0:
		return "", fmt.Errorf("the API token file %s is empty: is the node starting?", path)
	}
	return strings.TrimSpace(string(b)), nil
}

// explain turns a failure to talk to the node into one line that says what
// was tried and what to do: an unreachable node names the URL and how it
// was chosen; a refused token names where it came from.
func (c *clientFlags) explain(err error) error {
	if err == nil {
		return nil
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.Status == 401 && c.tokFrom != "" {
			return fmt.Errorf("the node at %s refused the API token from %s: the node writes a new token at every start, "+
				"so this one is from an earlier start or another node. Give the running node's data directory with --datadir "+
				"(or MINICHAIN_DATADIR), or its token with --token-file or MINICHAIN_API_TOKEN", c.url, c.tokFrom)
		}
		return err
	}
	var ue *url.Error
	if !errors.As(err, &ue) || errors.Is(err, context.Canceled) {
		return err
	}
	reason := ue.Err.Error()
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.As(err, &dnsErr):
		reason = "no such host " + dnsErr.Name
	case ue.Timeout():
		reason = "no answer in time"
	}
	return fmt.Errorf("cannot reach a node at %s (from %s): %s. Is the node running? If it listens elsewhere, "+
		"say where with --node URL, or with --api-addr HOST:PORT or MINICHAIN_API_ADDR as the node was started with",
		c.url, c.urlFrom, reason)
}

// clientCmd is a parsed command that talks to a node: its flags, a client
// of the node and the context its calls run in.
type clientCmd struct {
	clientFlags
	fs     *flag.FlagSet
	c      *client.Client
	p      *chain.Params
	ctx    context.Context
	cancel context.CancelFunc
}

// parseClientCmd parses a command that talks to a node: its flags (what,
// plus any extra registers), then check (if set) on the positional
// arguments, then connects, with the API token when what has withToken.
// The caller must call cancel.
func parseClientCmd(name string, args []string, stderr io.Writer, what int, extra func(fs *flag.FlagSet), check func(fs *flag.FlagSet) error) (*clientCmd, error) {
	cmd := &clientCmd{fs: newFlagSet(name, stderr)}
	cmd.register(cmd.fs, what|withNode)
	if extra != nil {
		extra(cmd.fs)
	}
	var err error
	if cmd.given, err = parseGiven(cmd.fs, args); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(cmd.fs); err != nil {
			return nil, err
		}
	} else if cmd.fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (see 'minichain %s -h')", cmd.fs.Arg(0), name)
	}
	cmd.ctx, cmd.cancel = cliContext()
	if cmd.c, cmd.p, err = cmd.connect(cmd.ctx, what&withToken != 0); err != nil {
		cmd.cancel()
		return nil, err
	}
	return cmd, nil
}

// oneArg checks that a command got exactly one positional argument.
func oneArg(usage string) func(fs *flag.FlagSet) error {
	return func(fs *flag.FlagSet) error {
		if fs.NArg() != 1 {
			return usagef("%s", usage)
		}
		return nil
	}
}

// readAPIToken finds a node's API token for loadgen: MINICHAIN_API_TOKEN,
// else the token file, else the one in the data directory, which
// defaultDir gives when none was named.
func readAPIToken(tokenFile, datadir string, defaultDir func() (string, error)) (string, error) {
	if t := strings.TrimSpace(os.Getenv("MINICHAIN_API_TOKEN")); t != "" {
		return t, nil
	}
	path := expandHome(tokenFile)
	if path == "" {
		dir := expandHome(datadir)
		if dir == "" {
			var err error
			if dir, err = defaultDir(); err != nil {
				return "", err
			}
		}
		path = node.TokenPath(dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
