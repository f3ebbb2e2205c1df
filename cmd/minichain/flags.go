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
)

// newFlagSet makes a flag set that reports errors instead of exiting and
// prints nothing itself: parse turns -h into a helpRequest, which run
// prints to stdout (help.go), and a bad flag into one line on stderr.
func newFlagSet(name string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("minichain "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// givenFlags says which flags were given and where: flag name ->
// "--name" (the command line) or "MINICHAIN_NAME" (the environment).
type givenFlags map[string]string

// onCommandLine reports whether a flag was given on the command line.
func (g givenFlags) onCommandLine(name string) bool { return strings.HasPrefix(g[name], "--") }

// parse parses args, then fills every flag not given on the command line
// from its MINICHAIN_<NAME> environment variable (dashes become
// underscores), as containers configure the node.
func parse(fs *flag.FlagSet, args []string) error {
	_, err := parseGiven(fs, args)
	return err
}

// parseGiven is parse, also saying where each flag came from.
func parseGiven(fs *flag.FlagSet, args []string) (givenFlags, error) {
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, helpRequest{fs}
		}
		return nil, usagef("%v (see '%s -h')", err, fs.Name())
	}
	given := givenFlags{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = "--" + f.Name })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] != "" || err != nil {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("%s=%q: %v", env, v, e)
			}
			given[f.Name] = env
		}
	})
	return given, err
}

// envName is the environment variable of a flag: MINICHAIN_API_ADDR for
// api-addr.
func envName(flagName string) string {
	return "MINICHAIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
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

// cliContext returns a context cancelled by Ctrl-C and after a generous timeout.
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
