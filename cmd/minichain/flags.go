package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/client"
)

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("minichain "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, then fills every flag not given on the command line
// from its MINICHAIN_<NAME> environment variable (dashes become
// underscores), as containers configure the node.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "MINICHAIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("%s=%q: %v", env, v, e)
			}
		}
	})
	return err
}

// interspersed moves positional arguments after the flags, so
// "minichain block latest --json" works as users type it. A "--" ends the
// flags as usual.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}

// stringList is a repeatable string flag (values may also be given
// comma-separated, as environment variables carry them). The first value
// set replaces the default.
type stringList struct {
	values []string
	set    bool
}

func (s *stringList) String() string { return strings.Join(s.values, ",") }
func (s *stringList) Set(v string) error {
	if !s.set {
		s.values, s.set = nil, true
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			s.values = append(s.values, p)
		}
	}
	return nil
}

// clientFlags are the flags of commands that talk to a node.
type clientFlags struct {
	network   string
	nodeURL   string
	datadir   string
	tokenFile string
	json      bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.network, "network", "devnet", "network: devnet or regtest")
	fs.StringVar(&c.nodeURL, "node", "http://"+node.DefaultAPIAddr, "URL of the node's API")
	fs.StringVar(&c.datadir, "datadir", "", "the node's data directory, to read its API token (default ~/.minichain/<network>)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the node's API token (default <datadir>/api.token)")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
}

func (c *clientFlags) params() (*chain.Params, error) {
	p, err := chain.NetworkParams(c.network)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}

// client returns an API client; with needToken it reads the token from
// MINICHAIN_API_TOKEN, --token-file or the data directory.
func (c *clientFlags) client(needToken bool) (*client.Client, *chain.Params, error) {
	p, err := c.params()
	if err != nil {
		return nil, nil, err
	}
	token := strings.TrimSpace(os.Getenv("MINICHAIN_API_TOKEN"))
	if needToken {
		token, err = readAPIToken(c.tokenFile, c.datadir, func() (string, error) { return node.DefaultDataDir(p.Name), nil })
		if err != nil {
			return nil, nil, fmt.Errorf("this command needs the node's API token: %w (use --token-file, --datadir or MINICHAIN_API_TOKEN)", err)
		}
	}
	return client.New(c.nodeURL, token, p), p, nil
}

// readAPIToken finds a node's API token: MINICHAIN_API_TOKEN, else the
// token file, else the one in the data directory, which defaultDir gives
// when none was named.
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

// clientCmd is a parsed command that talks to a node: its flags and a
// client of the node.
type clientCmd struct {
	clientFlags
	fs *flag.FlagSet
	c  *client.Client
	p  *chain.Params
}

// parseClientCmd parses a command that talks to a node: the common client
// flags, then check (if set) on the positional arguments, then the client,
// with the API token when needToken.
func parseClientCmd(name string, args []string, stderr io.Writer, needToken bool, check func(fs *flag.FlagSet) error) (*clientCmd, error) {
	cmd := &clientCmd{fs: newFlagSet(name, stderr)}
	cmd.register(cmd.fs)
	if err := parse(cmd.fs, args); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(cmd.fs); err != nil {
			return nil, err
		}
	}
	var err error
	if cmd.c, cmd.p, err = cmd.client(needToken); err != nil {
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

// ctx returns a context cancelled by Ctrl-C and after a generous timeout.
func cliContext() (context.Context, context.CancelFunc) {
	ctx, cancel := signalContext(context.Background())
	ctx2, cancel2 := context.WithTimeout(ctx, 30*time.Minute)
	return ctx2, func() { cancel2(); cancel() }
}

// readSecret reads a passphrase: from the terminal without echo, or a line
// of stdin when it is not a terminal.
func readSecret(prompt string, stderr io.Writer) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		return b, err
	}
	line, err := stdinLine()
	return []byte(line), err
}

var stdin = bufio.NewReader(os.Stdin)

// stdinLine reads one line of standard input without its newline.
func stdinLine() (string, error) {
	line, err := stdin.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// passphraseFrom returns the wallet passphrase from the environment or a
// file, or nil when neither is set.
func passphraseFrom(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if v, ok := os.LookupEnv("MINICHAIN_WALLET_PASSPHRASE"); ok {
		return []byte(v), nil
	}
	return nil, nil
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}
