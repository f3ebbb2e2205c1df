// Command attack runs the hostile-peer attacks of issue 11 against real
// minichain node processes on loopback and prints, per attack, the
// victim's memory and CPU, whether the honest nodes still agree, and the
// join, propagation and reconnection times the issue sets targets for.
//
//	go run ./attack -bin bin/minichain      (make attack)
//
// Each attack gets a fresh regtest network in a temporary directory: a
// victim node and two honest nodes bootstrapped from it (each on its own
// 127.0.0.x address), and the hostile peers, which run in this process on
// real libp2p (package p2p/hostile) from 127.1.x.y addresses. Every attack
// is bounded in time, and every node process is stopped by its PID at the
// end, also when the run fails or is interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minichain/minichain/chain"
)

var params = chain.RegtestParams

// runner owns the node processes of a run.
type runner struct {
	bin        string
	dir        string
	attackTime time.Duration
	log        *log.Logger

	mu    sync.Mutex
	nodes []*node
}

// track remembers a node so cleanup stops it.
func (r *runner) track(n *node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.nodes, n) {
		r.nodes = append(r.nodes, n)
	}
}

// stopAll stops every node process this run started that still runs.
func (r *runner) stopAll() {
	r.mu.Lock()
	nodes := slices.Clone(r.nodes)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
}

func main() { os.Exit(run()) }

// selectAttacks returns the attacks only names (comma-separated), or all
// when it is empty.
func selectAttacks(only string) []attack {
	var selected []attack
	for _, a := range attacks {
		if only == "" || slices.Contains(strings.Split(only, ","), a.name) {
			selected = append(selected, a)
		}
	}
	return selected
}

// runAll runs the attacks one after another, each in a directory of its
// own under r.dir, stopping every node between them, until ctx ends.
// failed reports that some attack could not be run.
func (r *runner) runAll(ctx context.Context, selected []attack) (results []*result, failed bool) {
	for _, a := range selected {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "attack: %s ...\n", a.name)
		start := time.Now()
		res := &result{name: a.name, what: a.what}
		adir := filepath.Join(r.dir, a.name)
		if err := os.MkdirAll(adir, 0o700); err != nil {
			res.err = err
		} else {
			res.err = a.run(ctx, r, adir, res)
		}
		r.stopAll()
		if res.err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "attack: %s could not be run: %v\n", a.name, res.err)
		}
		fmt.Fprintf(os.Stderr, "attack: %s done in %.0f s\n", a.name, time.Since(start).Seconds())
		results = append(results, res)
	}
	return results, failed
}

func run() int {
	bin := flag.String("bin", "bin/minichain", "the minichain binary to attack")
	only := flag.String("only", "", "comma-separated attacks to run (default all): "+strings.Join(attackNames(), ", "))
	attackTime := flag.Duration("attack-time", 40*time.Second, "how long each resource attack runs")
	keep := flag.Bool("keep", false, "keep the temporary directory (node logs and data) after the run")
	verbose := flag.Bool("v", false, "log progress")
	flag.Parse()

	logger := log.New(io.Discard, "", 0)
	if *verbose {
		logger = log.New(os.Stderr, "attack: ", log.Ltime|log.Lmicroseconds)
	}
	abs, err := filepath.Abs(*bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "attack: the node binary %s is missing: build it first (make build)\n", *bin)
		return 2
	}
	selected := selectAttacks(*only)
	if len(selected) == 0 {
		fmt.Fprintf(os.Stderr, "attack: no attack named %q; the attacks are: %s\n", *only, strings.Join(attackNames(), ", "))
		return 2
	}
	dir, err := os.MkdirTemp("", "minichain-attack-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "attack: %v\n", err)
		return 1
	}
	r := &runner{bin: abs, dir: dir, attackTime: *attackTime, log: logger}

	// The whole run is bounded; an interrupt ends it early. Either way
	// every node process is stopped before returning.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	defer r.stopAll()

	fmt.Fprintf(os.Stderr, "attack: %d attacks against %s; nodes and logs in %s\n", len(selected), abs, dir)
	results, failed := r.runAll(ctx, selected)
	met, total := printReport(os.Stdout, results, r.attackTime)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "attack: interrupted or out of time")
		failed = true
	}
	if *keep || failed {
		fmt.Fprintf(os.Stderr, "attack: node data and logs kept in %s\n", dir)
	} else {
		os.RemoveAll(dir)
	}
	switch {
	case failed:
		return 1
	case met < total:
		return 3 // the run completed; some targets were not met
	}
	return 0
}
