package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/compare"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
)

// sweptFlags are the run flags that compare takes as lists instead of single values.
func sweptFlags() []string {
	return []string{"w", "r", "consistency", "read-repair", "sloppy-quorum", "nemesis", "etcd-reads"}
}

// compareFlags are the run flags, with the swept ones as lists, plus the sweep's own.
func compareFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range runFlags() {
		if n := f.Names()[0]; !slices.Contains(sweptFlags(), n) && n != "json" {
			out = append(out, f)
		}
	}
	d := harness.DefaultConfig()
	return append(out,
		&cli.StringFlag{Name: "w", Usage: "write quorums, a comma list (default: 1..n)"},
		&cli.StringFlag{Name: "r", Usage: "read quorums, a comma list (default: 1..n)"},
		&cli.StringFlag{Name: "consistency", Value: d.Store.Consistency, Usage: "comma list of lww, vclock, abd"},
		&cli.StringFlag{Name: "read-repair", Value: "on", Usage: "comma list of on, off"},
		&cli.StringFlag{Name: "sloppy-quorum", Value: "off", Usage: "comma list of on, off"},
		&cli.StringFlag{Name: "nemesis", Value: strings.Join(d.Nemesis, ","),
			Usage: "fault sets separated by '/', each none, all or a comma list (e.g. partition/clock/partition,kill)"},
		&cli.StringFlag{Name: "etcd-reads", Value: "linearizable,serializable", Usage: "--target etcd: comma list of read modes to sweep"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "seeds per cell (--seed, --seed+1, ...; every cell runs the same seeds; more seeds narrow the invalid-seed 95% interval)"},
		&cli.BoolFlag{Name: "explain", Usage: "full run folders: explain each run's linearizability failures (a second porcupine search, linearizability.html) and write report.html (off: verdicts only; `faultline check RUN` explains, `faultline serve` renders reports)"},
		&cli.IntFlag{Name: "parallel", Value: 1, Usage: "clusters at once (on --runtime sim: runs at once, default one per core)"},
		&cli.BoolFlag{Name: "json", Usage: "print the table as JSON on stdout (one object per configuration)"},
		&cli.StringFlag{Name: "out", Usage: "folder for compare.md, compare.csv and compare.html (default: <results>/compare/<time>)"},
	)
}

func compareCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "compare",
		Usage: "sweep W/R (and consistency, sloppy quorum, read repair, nemesis) and print a comparison table",
		Description: "Every cell (one configuration) runs the same seeds, so the same fault schedule.\n" +
			"Example: faultline compare --nodes 3 --w 1,2,3 --r 1,2,3 --consistency lww,abd --time 10s\n" +
			"Writes compare.md, compare.csv and compare.html (a chart). Exit 0 when the sweep ran, 3 when it could not.",
		Flags: compareFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("faultline compare: unexpected argument %q (flags only)", c.Args().First()), exitCannotRun)
			}
			sw, err := sweepFromFlags(c)
			if err != nil {
				return cli.Exit("faultline compare: "+err.Error(), exitCannotRun)
			}
			if c.String("runtime") == simrt.Name && !c.IsSet("parallel") {
				// A simulated run is single-threaded and independent of the others: one per
				// core by default.
				sw.Parallel = runtime.GOMAXPROCS(0)
			}
			if sw.Parallel > 1 {
				// the runs already share the cores: one porcupine search per run bounds
				// the memory of pathological keys
				sw.Base.CheckWorkers = 1
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return doCompare(ctx, env, sw, c.String("runtime"), c.String("out"), c.Bool("json"))
		},
	}
}

// sweepFromFlags reads the swept lists, then builds the base config from the other flags.
func sweepFromFlags(c *cli.Context) (compare.Config, error) {
	sw := compare.DefaultConfig()
	var err error
	lists := map[string]string{}
	for _, n := range sweptFlags() {
		lists[n] = c.String(n)
	}
	if sw.Consistency, err = splitList("consistency", lists["consistency"]); err != nil {
		return sw, err
	}
	if sw.ReadRepair, err = onOffList("read-repair", lists["read-repair"]); err != nil {
		return sw, err
	}
	if sw.SloppyQuorum, err = onOffList("sloppy-quorum", lists["sloppy-quorum"]); err != nil {
		return sw, err
	}
	for set := range strings.SplitSeq(lists["nemesis"], "/") {
		kinds, err := nemesis.ParseSpec(set)
		if err != nil {
			return sw, fmt.Errorf("--nemesis: %w", err)
		}
		names := []string{}
		for _, k := range kinds {
			names = append(names, string(k))
		}
		sw.Nemesis = append(sw.Nemesis, names)
	}
	userSet := map[string]bool{}
	for _, n := range sweptFlags() {
		userSet[n] = c.IsSet(n)
	}
	isEtcd := c.String("target") == "etcd"
	if isEtcd {
		if sw.Reads, err = splitList("etcd-reads", lists["etcd-reads"]); err != nil {
			return sw, err
		}
		if err := c.Set("etcd-reads", sw.Reads[0]); err != nil {
			return sw, fmt.Errorf("--etcd-reads: %w", err)
		}
	} else if c.IsSet("etcd-reads") {
		return sw, fmt.Errorf("--etcd-reads applies to --target etcd")
	}
	// The base config: the swept flags get their first value so the run flags' parsing and
	// defaults apply to everything else.
	for n, v := range map[string]string{"consistency": sw.Consistency[0], "nemesis": "none",
		"read-repair": strconv.FormatBool(sw.ReadRepair[0]), "sloppy-quorum": strconv.FormatBool(sw.SloppyQuorum[0])} {
		if err := c.Set(n, v); err != nil {
			return sw, fmt.Errorf("--%s: %w", n, err)
		}
	}
	for _, n := range []string{"w", "r"} {
		if err := c.Set(n, "1"); err != nil {
			return sw, fmt.Errorf("--%s: %w", n, err)
		}
	}
	base, err := configFromFlags(c)
	if err != nil {
		return sw, err
	}
	sw.Base = base
	all := make([]int, base.Store.N)
	for i := range all {
		all[i] = i + 1
	}
	if sw.W, err = intList("w", lists["w"], all); err != nil {
		return sw, err
	}
	if sw.R, err = intList("r", lists["r"], all); err != nil {
		return sw, err
	}
	if base.TargetName() != harness.ReferenceTarget {
		// Another target: the reference store's axes mean nothing to it; the nemesis sets (and
		// etcd's read modes) are swept.
		for _, n := range []string{"w", "r", "consistency", "read-repair", "sloppy-quorum"} {
			if userSet[n] {
				return sw, fmt.Errorf("--%s sweeps the reference store, not target %s", n, base.TargetName())
			}
		}
		sw.W, sw.R, sw.Consistency, sw.ReadRepair, sw.SloppyQuorum = nil, nil, nil, nil, nil
		// A target file whose store takes ?w= and ?r= gets the run's default (a majority of
		// --n), not the 1 the flags were set to above.
		sw.Base.Store.W, sw.Base.Store.R = base.Store.N/2+1, base.Store.N/2+1
	}
	// A cell needs verdicts: `faultline check RUN` explains a run, `faultline serve` renders
	// its report.html on demand.
	sw.Base.NoExplain, sw.Base.NoReport = !c.Bool("explain"), !c.Bool("explain")
	sw.Repeat = c.Int("repeat")
	sw.Parallel = c.Int("parallel")
	return sw, sw.Validate()
}

func splitList(flag, s string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" && !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s %q: want a comma list", flag, s)
	}
	return out, nil
}

func onOffList(flag, s string) ([]bool, error) {
	items, err := splitList(flag, s)
	if err != nil {
		return nil, err
	}
	var out []bool
	for _, it := range items {
		var v bool
		switch strings.ToLower(it) {
		case "on", "true", "yes", "1":
			v = true
		case "off", "false", "no", "0":
		default:
			return nil, fmt.Errorf("--%s %q: want a comma list of on, off", flag, s)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func intList(flag, s string, def []int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	items, err := splitList(flag, s)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, it := range items {
		n, err := strconv.Atoi(it)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: want a comma list of integers", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// runtimes hands out runtimes for a series of runs: a fresh local runtime per run (one runs a
// single cluster), one Docker runtime per parallel slot (reused after each teardown).
type runtimes struct {
	env      *appEnv
	name     string // "local" or "docker", resolved
	note     string
	slots    []harness.Runtime
	cleanups []func()
}

// newRuntimes resolves the runtime name (docker where an engine answers, else local) and checks
// the runtime can be made, for parallel slots.
func newRuntimes(ctx context.Context, env *appEnv, name string, parallel int) (*runtimes, error) {
	if name == "" {
		name = "local"
		if dockerAvailable(ctx) {
			name = "docker"
		}
	}
	rs := &runtimes{env: env, name: name, slots: make([]harness.Runtime, parallel)}
	rt, note, cleanup, err := pickRuntime(ctx, env, name)
	if err != nil {
		return nil, err
	}
	rs.note = note
	rs.cleanups = append(rs.cleanups, cleanup)
	if name != "local" {
		rs.slots[0] = rt
	}
	return rs, nil
}

// get returns the runtime for one run in slot worker.
func (rs *runtimes) get(ctx context.Context, worker int) (harness.Runtime, error) {
	if rs.name != "local" && rs.slots[worker] != nil {
		return rs.slots[worker], nil
	}
	rt, _, cleanup, err := pickRuntime(ctx, rs.env, rs.name)
	if err != nil {
		return nil, err
	}
	rs.cleanups = append(rs.cleanups, cleanup)
	if rs.name != "local" {
		rs.slots[worker] = rt
	}
	return rt, nil
}

// close releases every runtime made.
func (rs *runtimes) close() {
	for _, c := range rs.cleanups {
		c()
	}
}

// doCompare runs the sweep, prints the table and writes the files.
func doCompare(ctx context.Context, env *appEnv, sw compare.Config, runtimeName, out string, asJSON bool) error {
	cells := sw.Cells()
	rts, err := newRuntimes(ctx, env, runtimeName, sw.Parallel)
	if err != nil {
		return cli.Exit("faultline compare: "+err.Error(), exitCannotRun)
	}
	defer rts.close()
	if rts.name == simrt.Name {
		defer tuneGC()() // once for the sweep: the runs in parallel share the collector
	}
	fmt.Fprintf(env.stderr, "faultline compare: %d cells x %d seeds on runtime %s%s, %s each, %d at a time\n",
		len(cells), sw.Repeat, rts.name, rts.note, sw.Base.Time, sw.Parallel)
	if sw.Base.NoExplain {
		fmt.Fprintln(env.stderr, "faultline compare: run folders carry verdicts only (no linearizability explanation, linearizability.html or report.html; --explain writes them): `faultline check RUN` explains a run, `faultline serve` renders its report")
	}
	var mu sync.Mutex // the runtimes' bookkeeping
	run := func(ctx context.Context, worker int, cfg harness.Config) (*harness.Outcome, error) {
		mu.Lock()
		rt, err := rts.get(ctx, worker)
		mu.Unlock()
		if err != nil {
			return nil, err
		}
		return runTest(ctx, env, cfg, harness.Options{Runtime: rt, Log: env.log})
	}
	start := time.Now()
	table, sweepErr := compare.Sweep(ctx, sw, compare.Options{Run: run, Log: env.log, Progress: env.stderr})
	if table == nil {
		return cli.Exit("faultline compare: "+sweepErr.Error(), exitCannotRun)
	}
	write := table.WriteText
	if asJSON {
		write = table.WriteJSON
	}
	if err := write(env.stdout); err != nil {
		return cli.Exit("faultline compare: "+err.Error(), exitCannotRun)
	}
	if out == "" {
		out = filepath.Join(sw.Base.ResultsRoot, "compare", start.UTC().Format(report.TimeLayout))
	}
	if err := table.WriteFiles(out); err != nil {
		return cli.Exit("faultline compare: "+err.Error(), exitCannotRun)
	}
	info := env.stdout
	if asJSON {
		info = env.stderr // stdout is the JSON document only
	}
	fmt.Fprintf(info, "tables: %s (compare.md, compare.csv, compare.html); %s in all\n", out, time.Since(start).Round(time.Second))
	if sweepErr != nil { // interrupted: the table above holds what finished
		return cli.Exit("faultline compare: "+sweepErr.Error(), exitCannotRun)
	}
	ran := 0
	for _, r := range table.Rows {
		ran += r.Runs
	}
	if ran == 0 {
		return cli.Exit("faultline compare: no run could be done (see the log)", exitCannotRun)
	}
	return nil
}
