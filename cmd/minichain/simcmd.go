package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/sim"
)

// partitionFlags is the repeatable --partition flag.
type partitionFlags []sim.Partition

func (p *partitionFlags) String() string {
	var parts []string
	for _, x := range *p {
		parts = append(parts, fmt.Sprintf("%v-%v@%g", x.Start, x.Heal, x.Fraction))
	}
	return strings.Join(parts, ",")
}

func (p *partitionFlags) Set(s string) error {
	x, err := sim.ParsePartition(s)
	if err != nil {
		return err
	}
	*p = append(*p, x)
	return nil
}

// floatFlag is a flag.Value parsed by a function.
type floatFlag struct {
	v     *float64
	parse func(string) (float64, error)
}

func (f floatFlag) String() string {
	if f.v == nil {
		return ""
	}
	return siUnits(*f.v)
}

// siUnits writes a rate as its flag takes it: 20M, 800k, 1500.
func siUnits(v float64) string {
	for _, u := range []struct {
		mult   float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.mult && math.Mod(v, u.mult) == 0 {
			return strconv.FormatFloat(v/u.mult, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (f floatFlag) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}

// sharesFlag is --shares.
type sharesFlag struct{ v *[]float64 }

func (f sharesFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strings.Trim(strings.ReplaceAll(fmt.Sprint(*f.v), " ", ","), "[]")
}
func (f sharesFlag) Set(s string) error {
	v, err := sim.ParseShares(s)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}

// runSim is `minichain sim`: it declares the simulator's flags, checks them and
// runs one simulation. It is one function of 81 lines because most of it is
// the list of flags, which reads best as one table.
func runSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", stderr)
	cfg := sim.Defaults
	var parts partitionFlags
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "number of nodes")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "simulated time during which blocks are mined and transactions sent")
	fs.DurationVar(&cfg.BlockInterval, "block-interval", cfg.BlockInterval, "mean time between blocks of the whole network")
	fs.Var(sharesFlag{&cfg.Shares}, "shares", "hash-power fractions of nodes 0, 1, ... (comma-separated; the other nodes split the rest; default equal)")
	fs.IntVar(&cfg.Peers, "peers", cfg.Peers, "peers each node dials at random (0: every node connects to every other)")
	fs.DurationVar(&cfg.Latency, "latency", cfg.Latency, "one-way latency of every link")
	fs.Var(floatFlag{&cfg.Bandwidth, sim.ParseBandwidth}, "bandwidth", "each node's upload bandwidth in bit/s, e.g. 20M, 800k (0: unlimited)")
	fs.Float64Var(&cfg.TxRate, "tx-rate", cfg.TxRate, "transactions per simulated second (0: none)")
	fs.StringVar(&cfg.Gossip, "gossip", cfg.Gossip, "how messages spread: mesh (gossipsub's mesh, IHAVE/IWANT, with the p2p package's parameters) or flood (every peer)")
	fs.Var(validationFlag{&cfg.Validation}, "validation", "CPU time of validation before a node relays: default (calibrated, see docs/SIMULATION.md), none, or block=200us,byte=5ns,input=3.3us,sig=184us")
	fs.Var(&parts, "partition", "split the network at START and heal it at HEAL: START-HEAL[@FRACTION], e.g. 2h-3h or 30m-90m@0.3 (repeatable)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed and flags give the same report")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "after --duration, mine on for at most this long until every node agrees on the tip")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "threads running the nodes' events side by side (0: one per CPU); the report is the same for any number")
	network := fs.String("network", "", "JSON file of a heterogeneous network: regions, latency matrix, per-node bandwidth distribution (replaces --latency and --bandwidth; see docs/SIMULATION.md)")
	out := fs.String("out", "", "directory to write report.json, propagation.svg and stale.svg into")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for `go tool pprof`)")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file at the end of the run, before the report (for `go tool pprof`)")
	var memLimit memLimitFlag
	fs.Var(&memLimit, "memory-limit", "soft limit on the simulator's memory, e.g. 7GiB or 1500MiB (GOMEMLIMIT's syntax), or off: near it the garbage collector works harder\n"+
		"instead of growing past it (default: GOMEMLIMIT if set, else 3/4 of the machine's memory)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg.Partitions = parts
	if *network != "" {
		m, err := sim.LoadNetworkModel(*network)
		if err != nil {
			return usagef("%v", err)
		}
		cfg.Network = m
	}
	if cfg.Settle == 0 {
		cfg.Settle = -1 // the flag's 0 means no settling
	}
	wallStart := time.Now()
	if !*quiet {
		cfg.Progress = func(now time.Duration, blocks int) {
			fmt.Fprintf(stderr, "simulated %v of %v: %d blocks (%.1fs wall)\n", now, cfg.Duration, blocks, time.Since(wallStart).Seconds())
		}
	}
	memPolicy := applySimMemoryPolicy(&memLimit)
	s, err := sim.New(cfg)
	if errors.Is(err, sim.ErrConfig) {
		return usageError{err.Error()}
	} else if err != nil {
		return err
	}
	// The heap profile's file is created now, so that a path that cannot
	// be written fails at once rather than after a long run.
	var heapFile *os.File
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		defer f.Close()
		heapFile = f
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	ctx, stop := signalContext(context.Background())
	defer stop()
	heap := watchHeap(200 * time.Millisecond)
	report, err := s.Run(ctx)
	peakHeap := heap.Stop()
	if err != nil {
		return err
	}
	if heapFile != nil {
		err := writeHeapProfile(heapFile)
		runtime.KeepAlive(s) // the profile is of the simulation's heap
		if err != nil {
			return err
		}
	}
	wall := time.Since(wallStart)
	if *asJSON {
		if _, err := stdout.Write(report.JSON()); err != nil {
			return err
		}
	} else if err := report.WriteTable(stdout); err != nil {
		return err
	}
	if *out != "" {
		if err := report.WriteFiles(*out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s, %s and %s\n", filepath.Join(*out, "report.json"),
			filepath.Join(*out, "propagation.svg"), filepath.Join(*out, "stale.svg"))
	}
	fmt.Fprintf(stderr, "wall clock: %v for %v simulated (%.0f× real time)\n", wall.Round(time.Millisecond),
		time.Duration(report.EndSeconds*1e9).Round(time.Second), report.EndSeconds/wall.Seconds())
	live := "no collection ran"
	if peakHeap > 0 {
		live = "peak live heap " + sim.FormatBytes(int64(peakHeap)) + " (sampled after collections)"
	}
	fmt.Fprintf(stderr, "memory: %s; %s\n", live, memPolicy)
	return nil
}

// validationFlag is --validation.
type validationFlag struct{ v *sim.ValidationCost }

func (f validationFlag) String() string {
	if f.v == nil {
		return ""
	}
	return f.v.String()
}

func (f validationFlag) Set(s string) error {
	v, err := sim.ParseValidationCost(s)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}

// startCPUProfile starts writing a CPU profile to path; the returned function
// stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeHeapProfile writes the live heap, after a collection, to f and
// closes it.
func writeHeapProfile(f *os.File) error {
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
}
