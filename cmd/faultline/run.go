package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
)

// storeFlags are the flags that describe the store under test (shared by run and compare).
func storeFlags() []cli.Flag {
	d := harness.DefaultConfig()
	return []cli.Flag{
		&cli.StringFlag{Name: "store", Value: d.Store.Mode, Usage: "store mode: leaderless or multileader"},
		&cli.StringFlag{Name: "conflict", Value: d.Store.Conflict, Usage: "multileader conflict handling: lww, crdt or siblings"},
		&cli.StringFlag{Name: "topology", Value: d.Store.Topology, Usage: "multileader topology: all, ring or star"},
		&cli.IntFlag{Name: "nodes", Value: d.Nodes, Usage: "cluster size"},
		&cli.IntFlag{Name: "n", Value: d.Store.N, Usage: "replicas per key"},
		&cli.IntFlag{Name: "w", Value: d.Store.W, Usage: "write quorum"},
		&cli.IntFlag{Name: "r", Value: d.Store.R, Usage: "read quorum"},
		&cli.StringFlag{Name: "consistency", Value: d.Store.Consistency, Usage: "lww, vclock or abd"},
		&cli.BoolFlag{Name: "read-repair", Value: d.Store.ReadRepair, Usage: "read repair (--read-repair=false to turn off)"},
		&cli.DurationFlag{Name: "anti-entropy", Value: d.Store.AntiEntropy, Usage: "Merkle anti-entropy interval (0 = off)"},
		&cli.BoolFlag{Name: "hinted-handoff", Value: d.Store.HintedHandoff, Usage: "hinted handoff (--hinted-handoff=false to turn off)"},
		&cli.BoolFlag{Name: "sloppy-quorum", Value: d.Store.SloppyQuorum, Usage: "count hinted writes toward W (breaks quorum intersection)"},
		&cli.StringFlag{Name: "fsync", Value: d.Store.Fsync, Usage: "always or never"},
	}
}

func runFlags() []cli.Flag {
	d := harness.DefaultConfig()
	return append(append(storeFlags(), targetFlags()...),
		&cli.StringFlag{Name: "runtime", Usage: "local, docker or sim (sim: the whole test in one process in virtual time, network, disks and clocks simulated from the seed; default: docker where an engine answers, else local)"},
		&cli.Float64Flag{Name: "sim-duplicate", Usage: "--runtime sim only: probability that a message (between nodes, or client and node) is delivered twice"},
		&cli.BoolFlag{Name: "sim-reorder", Usage: "--runtime sim only: messages on a link may overtake each other (TCP hides both from the real runtimes)"},
		&cli.StringFlag{Name: "workload", Value: d.Workload, Usage: "register, set or counter"},
		&cli.BoolFlag{Name: "crdt", Usage: "set/counter: use the store's CRDTs instead of read-modify-write"},
		&cli.IntFlag{Name: "keys", Value: d.Keys, Usage: "number of keys"},
		&cli.StringFlag{Name: "key-dist", Value: d.KeyDist, Usage: "uniform or hot"},
		&cli.IntFlag{Name: "concurrency", Value: d.Concurrency, Usage: "client processes"},
		&cli.Float64Flag{Name: "rate", Value: d.Rate, Usage: "total ops/s (0 = unlimited)"},
		&cli.DurationFlag{Name: "op-timeout", Value: d.OpTimeout, Usage: "client op timeout (recorded as info)"},
		&cli.StringFlag{Name: "nemesis", Value: strings.Join(d.Nemesis, ","), Usage: "none, all, or a comma list of partition,kill,pause,clock,delay,loss"},
		&cli.DurationFlag{Name: "nemesis-interval", Value: d.NemesisInterval, Usage: "time between faults"},
		&cli.DurationFlag{Name: "clock-max", Value: d.ClockMax, Usage: "largest clock bump"},
		&cli.DurationFlag{Name: "delay-max", Value: d.DelayMax, Usage: "largest added link delay, one way (delay faults draw from [max/4, max])"},
		&cli.Float64Flag{Name: "loss-max", Value: d.LossMax, Usage: "largest link loss probability, 0.01..1 (loss faults draw from [max/4, max])"},
		&cli.StringFlag{Name: "checks", Usage: "comma list of checkers (default: the workload's)"},
		&cli.DurationFlag{Name: "check-timeout", Value: d.CheckTimeout, Usage: "linearizability time budget"},
		&cli.DurationFlag{Name: "time", Value: d.Time, Usage: "how long the clients and the nemesis run"},
		&cli.Int64Flag{Name: "seed", Usage: "seed of every random choice (default: random, printed and saved)"},
		&cli.DurationFlag{Name: "quiesce", Value: d.QuiesceMax, Usage: "bound on waiting for replication after healing"},
		&cli.StringFlag{Name: "results", Value: d.ResultsRoot, Usage: "results folder"},
		&cli.BoolFlag{Name: "json", Usage: "print a machine-readable summary on stdout"},
	)
}

// configFromFlags turns flags into a harness.Config; it reports bad values by flag name.
func configFromFlags(c *cli.Context) (harness.Config, error) {
	cfg := harness.DefaultConfig()
	cfg.Nodes = c.Int("nodes")
	cfg.Store.Mode = c.String("store")
	cfg.Store.Consistency = c.String("consistency")
	cfg.Store.N = c.Int("n")
	if !c.IsSet("n") && cfg.Store.N > cfg.Nodes {
		cfg.Store.N = cfg.Nodes // N=3 capped at the cluster size
	}
	maj := cfg.Store.N/2 + 1
	cfg.Store.W, cfg.Store.R = c.Int("w"), c.Int("r")
	if !c.IsSet("w") {
		cfg.Store.W = maj
	}
	if !c.IsSet("r") {
		cfg.Store.R = maj
	}
	cfg.Store.Conflict, cfg.Store.Topology = c.String("conflict"), c.String("topology")
	if cfg.Store.Mode == "multileader" {
		// A multi-leader write is acked by the leader it reaches, and reads are local.
		if !c.IsSet("w") {
			cfg.Store.W = 1
		}
		if !c.IsSet("r") {
			cfg.Store.R = 1
		}
	}
	cfg.Store.ReadRepair = c.Bool("read-repair")
	cfg.Store.AntiEntropy = c.Duration("anti-entropy")
	cfg.Store.HintedHandoff = c.Bool("hinted-handoff")
	cfg.Store.SloppyQuorum = c.Bool("sloppy-quorum")
	cfg.Store.Fsync = c.String("fsync")
	cfg.Workload = c.String("workload")
	cfg.CRDT = c.Bool("crdt")
	cfg.Keys = c.Int("keys")
	cfg.KeyDist = c.String("key-dist")
	cfg.Concurrency = c.Int("concurrency")
	cfg.Rate = c.Float64("rate")
	cfg.OpTimeout = c.Duration("op-timeout")
	kinds, err := nemesis.ParseSpec(c.String("nemesis"))
	if err != nil {
		return cfg, fmt.Errorf("--nemesis: %w", err)
	}
	cfg.Nemesis = nil
	for _, k := range kinds {
		cfg.Nemesis = append(cfg.Nemesis, string(k))
	}
	cfg.NemesisInterval = c.Duration("nemesis-interval")
	cfg.ClockMax = c.Duration("clock-max")
	cfg.DelayMax, cfg.LossMax = c.Duration("delay-max"), c.Float64("loss-max")
	if s := strings.TrimSpace(c.String("checks")); s != "" {
		for _, name := range strings.Split(s, ",") {
			cfg.Checks = append(cfg.Checks, strings.TrimSpace(name))
		}
	}
	if cfg.Checks == nil {
		cfg.Checks = cfg.DefaultChecks()
	}
	cfg.CheckTimeout = c.Duration("check-timeout")
	cfg.Time = c.Duration("time")
	cfg.Seed = c.Int64("seed")
	if !c.IsSet("seed") {
		cfg.Seed = time.Now().UnixNano() % 1_000_000_000
	}
	cfg.QuiesceMax = c.Duration("quiesce")
	if c.IsSet("sim-duplicate") || c.IsSet("sim-reorder") {
		if c.String("runtime") != simrt.Name {
			return cfg, errors.New("--sim-duplicate and --sim-reorder need --runtime sim (TCP hides duplication and reordering from the real runtimes)")
		}
		cfg.Sim = harness.SimConfig{Duplicate: c.Float64("sim-duplicate"), Reorder: c.Bool("sim-reorder")}
	}
	cfg.ResultsRoot = c.String("results")
	if err := targetFromFlags(c, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, checkTarget(cfg)
}

func runCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run one test: start a cluster, drive a workload, inject faults, heal, check, save",
		Description: "With no flags: a 5-node leaderless lww cluster (N=3, W=R=2), a register workload,\n" +
			"partitions every 5s for 30s, checked for linearizability. Exit 0 valid, 1 invalid,\n" +
			"2 unknown, 3 could not run.",
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("faultline run: unexpected argument %q (flags only)", c.Args().First()), exitCannotRun)
			}
			cfg, err := configFromFlags(c)
			if err == nil {
				err = refuseStoreFlags(c, cfg)
			}
			if err != nil {
				return cli.Exit("faultline run: "+err.Error(), exitCannotRun)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			if c.String("runtime") == simrt.Name {
				return doSimRun(ctx, env, cfg, c.Bool("json"))
			}
			rt, note, cleanup, err := pickRuntime(ctx, env, c.String("runtime"))
			if err != nil {
				return cli.Exit("faultline run: "+err.Error(), exitCannotRun)
			}
			defer cleanup()
			return doRun(ctx, env, cfg, rt, note, c.Bool("json"), nil)
		},
	}
}

// doRun runs one test and prints its outcome; shared by run and replay.
func doRun(ctx context.Context, env *appEnv, cfg harness.Config, rt harness.Runtime, note string, asJSON bool, sched *nemesis.Schedule) error {
	fmt.Fprintf(env.stderr, "faultline run %s: runtime %s%s, seed %d, %s\n", cfg.RunName(), rt.Name(), note, cfg.Seed, cfg.Time)
	opt := harness.Options{Runtime: rt, Log: env.log, Schedule: sched}
	if !asJSON {
		opt.Progress = env.stderr
		if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			opt.Terminal = true
		}
	}
	out, err := runTest(ctx, env, cfg, opt)
	if err != nil && !errors.Is(err, harness.ErrInterrupted) {
		if out != nil && out.Dir != "" {
			fmt.Fprintf(env.stderr, "run folder: %s\n", out.Dir)
		}
		return cli.Exit("faultline run: "+err.Error(), exitCannotRun)
	}
	return printOutcome(env, cfg, out, asJSON, nil, nil)
}

// printOutcome prints a run's outcome (a JSON document with --json, with extra's fields added;
// else lines, with before's lines first) and returns the verdict's exit.
func printOutcome(env *appEnv, cfg harness.Config, out *harness.Outcome, asJSON bool, extra map[string]any, before []string) error {
	if asJSON {
		doc := map[string]any{
			"valid": out.Results.Valid, "dir": out.Dir, "runtime": out.Runtime, "target": cfg.TargetName(), "run_id": out.RunID, "seed": cfg.Seed,
			"mechanisms": out.Mechanisms, "ops": out.Ops, "ok": out.OK, "fail": out.Fail, "info": out.Info,
			"quiesce_wait_ms": out.QuiesceWait.Milliseconds(), "interrupted": out.Interrupted,
			"results": out.Results,
		}
		for k, v := range extra {
			doc[k] = v
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return cli.Exit("faultline run: "+err.Error(), exitCannotRun)
		}
	} else {
		w := env.stdout
		for _, l := range before {
			fmt.Fprintln(w, l)
		}
		if len(out.Mechanisms) > 0 {
			kinds := make([]string, 0, len(out.Mechanisms))
			for k := range out.Mechanisms {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			fmt.Fprintf(w, "faults injected by (%s runtime):\n", out.Runtime)
			for _, k := range kinds {
				fmt.Fprintf(w, "  %-10s %s\n", k, out.Mechanisms[k])
			}
		}
		fmt.Fprintf(w, "ops: %d recorded; client ops ok %d, fail %d, info %d; quiesce %s (settled: %v)\n",
			out.Ops, out.OK, out.Fail, out.Info, out.QuiesceWait.Round(time.Millisecond), out.Quiesced)
		if out.Interrupted {
			fmt.Fprintln(w, "interrupted: the run was cut short; what was recorded was healed, saved and checked")
		}
		out.Results.Summary(w)
		if r := out.Results.Checkers[checker.Linearizable]; cfg.Store.Mode == "multileader" && r != nil && r.Valid == checker.Invalid {
			fmt.Fprintln(w, "note: multi-leader is not linearizable by design (reads are local, writes are acked before they replicate); "+
				"its default checks are lost updates/increments and convergence")
		}
		if cfg.Store.Mode == "multileader" {
			if line := multileaderLine(out.Dir); line != "" {
				fmt.Fprintln(w, line)
			}
		}
		fmt.Fprintf(w, "run folder: %s\n", out.Dir)
		if _, err := os.Stat(filepath.Join(out.Dir, report.HTMLFile)); err == nil {
			fmt.Fprintf(w, "report:     %s (or browse all runs with `faultline serve`)\n", filepath.Join(out.Dir, report.HTMLFile))
		}
	}
	if code := out.Results.ExitCode(); code != exitValid {
		return cli.Exit("", code)
	}
	return nil
}

// pickRuntime chooses the runtime: the one asked for, else docker where an engine answers,
// else local. note is printed beside the runtime's name.
func pickRuntime(ctx context.Context, env *appEnv, name string) (harness.Runtime, string, func(), error) {
	if name == "" {
		name = "local"
		if dockerAvailable(ctx) {
			// Docker where an engine answers; if the image cannot be had (no static binary and
			// no source tree to build one), say why and run locally rather than not at all.
			rt, note, cleanup, err := newDockerRuntime(ctx, env)
			if err == nil {
				return rt, note, cleanup, nil
			}
			fmt.Fprintf(env.stderr, "faultline: a Docker engine answers but the Docker runtime cannot start (%v); running locally. "+
				"Build faultline with CGO_ENABLED=0 (or run it from its source tree) to use Docker.\n", err)
		}
	}
	switch name {
	case "local":
		cfg := local.DefaultConfig()
		cfg.Log = env.log
		rt, err := local.New(cfg)
		if err != nil {
			return nil, "", nil, err
		}
		return rt, " (processes on loopback; partitions, loss and delay are SIMULATED in the node transport)", func() {}, nil
	case "docker":
		return newDockerRuntime(ctx, env)
	case simrt.Name:
		return simRuntime{}, simrt.Note, func() {}, nil
	}
	return nil, "", nil, fmt.Errorf("--runtime %q: want local, docker or sim", name)
}

// multileaderLine summarizes the nodes' multi-leader stats saved in a run folder: the worst
// p99 replication lag end to end (origin to each leader, over every hop) and per hop, the
// conflicts seen by resolution, and what stayed queued.
func multileaderLine(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, report.StatsFile))
	if err != nil {
		return ""
	}
	var stats map[string]map[string]any
	if json.Unmarshal(b, &stats) != nil {
		return ""
	}
	num := func(m map[string]any, k string) float64 { f, _ := m[k].(float64); return f }
	var lag, e2e, conf, local, incoming, merged, sibs, queued float64
	seen := false
	for id, m := range stats {
		if id == "harness" || m["mode"] != "multileader" {
			continue
		}
		seen = true
		lag = max(lag, num(m, "ml_lag_p99_ms"))
		e2e = max(e2e, num(m, "ml_e2e_lag_p99_ms"))
		conf += num(m, "ml_conflict")
		local += num(m, "ml_conflict_lww_local_won")
		incoming += num(m, "ml_conflict_lww_incoming_won")
		merged += num(m, "ml_conflict_merged")
		sibs += num(m, "ml_conflict_siblings_kept")
		queued += num(m, "ml_queue_total")
	}
	if !seen {
		return ""
	}
	return fmt.Sprintf("multi-leader: replication lag p99 %.1f ms end to end (origin to leader, worst origin; "+
		"one hop: %.1f ms, worst peer); conflicts seen %.0f "+
		"(lww: %.0f kept the local write, %.0f the incoming one, the other lost; crdt merged %.0f; siblings kept %.0f); "+
		"undelivered at the end %.0f", e2e, lag, conf, local, incoming, merged, sibs, queued)
}
