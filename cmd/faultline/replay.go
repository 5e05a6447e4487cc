package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets/etcd"
)

func replayCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "re-run a saved run's config, seed and fault schedule; say whether the anomaly came back",
		ArgsUsage: "RUN",
		Description: "RUN is a run folder (config.json and schedule.json; results.json says which checkers\n" +
			"found the anomaly; nemesis.json which faults ran). Each replay starts a fresh cluster with the\n" +
			"same config, seed and executed schedule (of an interrupted run: the faults it got to), on the\n" +
			"saved run's target: --target and --etcd-reads may only repeat it (a target file may be named\n" +
			"where it is now, by a path to a file of the same name).\n" +
			"Exit 0 when every replay was valid, 1 when a replay found an anomaly, 2 unknown, 3 could not run.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "times", Value: 1, Usage: "how many replays"},
			&cli.StringFlag{Name: "runtime", Usage: "local, docker or sim (default: the saved run's; else docker where an engine answers, else local); a sim run replays exactly, once"},
			&cli.StringFlag{Name: "results", Usage: "results folder for the replays (default: the saved config's)"},
			&cli.StringFlag{Name: "target", Usage: "the saved run's target (default); another one is refused, a target file may be given where it is now"},
			&cli.StringFlag{Name: "etcd-reads", Usage: "the saved run's etcd read mode (default); another one is refused"},
			&cli.BoolFlag{Name: "json", Usage: "print a machine-readable summary on stdout"},
		},
		Action: func(c *cli.Context) error {
			if err, ok := trailingFlags(c, env); ok {
				return err
			}
			if c.NArg() != 1 {
				return cli.Exit("faultline replay: want exactly one RUN folder", exitCannotRun)
			}
			if c.Int("times") < 1 {
				return cli.Exit(fmt.Sprintf("faultline replay: --times (%d) must be at least 1", c.Int("times")), exitCannotRun)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return doReplay(ctx, env, c.Args().First(), replayOptions{times: c.Int("times"), runtime: c.String("runtime"),
				results: c.String("results"), target: c.String("target"), reads: c.String("etcd-reads"), json: c.Bool("json")})
		},
	}
}

// savedRun is what replay needs from a run folder.
type savedRun struct {
	cfg     harness.Config
	runtime string // the runtime the run ran on, from config.json ("" in files that lack it)
	sched   nemesis.Schedule
	invalid []string // the deciding checkers the saved results found invalid (nil without results.json)
}

func loadRun(dir string) (*savedRun, error) {
	cfg, err := harness.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, report.ScheduleFile))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	s := &savedRun{cfg: cfg}
	var where struct {
		Runtime string `json:"runtime"`
	}
	if cb, err := os.ReadFile(filepath.Join(dir, report.ConfigFile)); err == nil && json.Unmarshal(cb, &where) == nil {
		s.runtime = where.Runtime
	}
	if err := json.Unmarshal(b, &s.sched); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", filepath.Join(dir, report.ScheduleFile), err)
	}
	// The executed schedule: the scheduled faults that the run got to (all of them, unless it
	// was interrupted). Heals the harness added at the end are not scheduled faults: a replay
	// adds its own.
	if b, err := os.ReadFile(filepath.Join(dir, report.NemesisFile)); err == nil {
		var done []nemesis.Executed
		if err := json.Unmarshal(b, &done); err != nil {
			return nil, fmt.Errorf("replay: %s: %w", filepath.Join(dir, report.NemesisFile), err)
		}
		s.sched.Events = executedPart(s.sched.Events, done)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("replay: %w", err)
	}
	b, err = os.ReadFile(filepath.Join(dir, report.ResultsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var res checker.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", filepath.Join(dir, report.ResultsFile), err)
	}
	s.invalid = invalidCheckers(&res)
	return s, nil
}

// executedPart keeps the scheduled events that were executed (matched by time, action and
// node, in order).
func executedPart(sched []nemesis.Event, done []nemesis.Executed) []nemesis.Event {
	type id struct {
		at   time.Duration
		f    string
		node string
	}
	ran := map[id]int{}
	for _, x := range done {
		ran[id{x.At, x.F, x.Node}]++
	}
	out := []nemesis.Event{}
	for _, e := range sched {
		if k := (id{e.At, e.F, e.Node}); ran[k] > 0 {
			ran[k]--
			out = append(out, e)
		}
	}
	return out
}

// invalidCheckers lists the deciding checkers that found an anomaly, sorted.
func invalidCheckers(res *checker.Results) []string {
	var out []string
	for name, r := range res.Checkers {
		if r != nil && r.Decides && r.Valid == checker.Invalid {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// replayName marks a replay's run folder name, once.
func replayName(cfg harness.Config) string {
	n := cfg.RunName()
	if strings.HasSuffix(n, "-replay") {
		return n
	}
	return n + "-replay"
}

type replayResult struct {
	Dir        string          `json:"dir"`
	Valid      checker.Verdict `json:"valid"`
	Invalid    []string        `json:"invalid"`
	Reproduced bool            `json:"reproduced"` // every originally invalid checker is invalid again
	Error      string          `json:"error,omitempty"`
}

// replayOptions are replay's flags.
type replayOptions struct {
	times         int
	runtime       string // "" = the saved run's
	results       string // "" = the saved config's
	target, reads string // "" = the saved run's; anything else must name the same target and read mode
	json          bool
}

// replayTarget returns cfg with the target the flags name, which must be cfg's own: a replay
// re-runs the saved run's target and read mode. A target file may be named by another path
// (where it is now) if the file's name is the same.
func replayTarget(cfg harness.Config, target, reads string) (harness.Config, error) {
	savedLabel := cfg.TargetLabel()
	if target != "" {
		given := cfg
		given.Target = target
		if target == harness.ReferenceTarget {
			given.Target = ""
		}
		switch {
		case given.TargetName() != cfg.TargetName():
			return cfg, fmt.Errorf("--target %s: the saved run tested %s, and a replay runs the saved target (for another target, start a new run: faultline run --target %s)",
				target, savedLabel, target)
		case isTargetFile(target) && isTargetFile(cfg.Target):
			cfg.Target = target // the same target file, where it is now
		}
	}
	if reads != "" {
		if cfg.TargetName() != "etcd" {
			return cfg, fmt.Errorf("--etcd-reads applies to etcd runs; the saved run tested %s", savedLabel)
		}
		if saved := etcd.Reads(cfg); reads != saved {
			return cfg, fmt.Errorf("--etcd-reads %s: the saved run read %s, and a replay runs the saved read mode (for another, start a new run)", reads, saved)
		}
	}
	return cfg, nil
}

func doReplay(ctx context.Context, env *appEnv, dir string, opt replayOptions) error {
	times, runtimeName, results, asJSON := opt.times, opt.runtime, opt.results, opt.json
	saved, err := loadRun(dir)
	if err != nil {
		return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
	}
	cfg, err := replayTarget(saved.cfg, opt.target, opt.reads)
	if err != nil {
		return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
	}
	cfg.Name = replayName(cfg)
	if results != "" {
		cfg.ResultsRoot = results
	}
	if err := cfg.Validate(); err != nil {
		return cli.Exit(fmt.Sprintf("faultline replay: %s: %v", dir, err), exitCannotRun)
	}
	if runtimeName == "" {
		// The same fault mechanisms as the saved run (simulated or real), unless told otherwise.
		runtimeName = saved.runtime
	}
	if runtimeName == simrt.Name {
		return doSimReplay(ctx, env, dir, cfg, saved, opt)
	}
	if !cfg.Sim.IsZero() {
		return cli.Exit(fmt.Sprintf("faultline replay: %s duplicated or reordered messages (--sim-duplicate, --sim-reorder), which only --runtime sim can do", dir), exitCannotRun)
	}
	rts, err := newRuntimes(ctx, env, runtimeName, 1)
	if err != nil {
		return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
	}
	defer rts.close()
	want := "no anomaly (the saved run was valid or has no results.json)"
	if len(saved.invalid) > 0 {
		want = "invalid " + strings.Join(saved.invalid, ", ")
	}
	fmt.Fprintf(env.stderr, "faultline replay %s: target %s, seed %d, %d scheduled faults, runtime %s%s; saved verdict: %s\n",
		dir, cfg.TargetLabel(), cfg.Seed, len(saved.sched.Events), rts.name, rts.note, want)

	var out []replayResult
	verdict := checker.Valid
	reproduced := 0
	for i := 0; i < times && ctx.Err() == nil; i++ {
		rt, err := rts.get(ctx, 0)
		if err != nil {
			return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
		}
		sched := saved.sched
		o, err := runTest(ctx, env, cfg, harness.Options{Runtime: rt, Log: env.log, Schedule: &sched})
		r := replayResult{}
		if o != nil {
			r.Dir = o.Dir
		}
		if err != nil && !errors.Is(err, harness.ErrInterrupted) || o == nil || o.Results == nil {
			if err == nil {
				err = errors.New("no results")
			}
			r.Error = err.Error()
			verdict = checker.Worse(verdict, checker.Unknown)
			out = append(out, r)
			fmt.Fprintf(env.stderr, "replay %d/%d: could not run: %v\n", i+1, times, err)
			continue
		}
		r.Valid = o.Results.Valid
		r.Invalid = invalidCheckers(o.Results)
		r.Reproduced = len(saved.invalid) > 0
		for _, name := range saved.invalid {
			if !slices.Contains(r.Invalid, name) {
				r.Reproduced = false
			}
		}
		if r.Reproduced {
			reproduced++
		}
		verdict = checker.Worse(verdict, r.Valid)
		out = append(out, r)
		if !asJSON {
			line := fmt.Sprintf("replay %d/%d: %s", i+1, times, r.Valid)
			if len(r.Invalid) > 0 {
				line += " (" + strings.Join(r.Invalid, ", ") + ")"
			}
			if r.Reproduced {
				line += ": the anomaly came back"
			}
			fmt.Fprintf(env.stdout, "%s  %s\n", line, r.Dir)
		}
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{
			"run": dir, "target": cfg.TargetName(), "target_options": cfg.TargetOptions, "seed": cfg.Seed, "saved_invalid": saved.invalid, "times": len(out),
			"reproduced": reproduced, "valid": verdict, "replays": out,
		}); err != nil {
			return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
		}
	} else if len(saved.invalid) > 0 {
		fmt.Fprintf(env.stdout, "anomaly (%s) reproduced in %d of %d replays\n", strings.Join(saved.invalid, ", "), reproduced, len(out))
	} else {
		fmt.Fprintf(env.stdout, "the saved run had no anomaly; replays: %s\n", verdict)
	}
	if ctx.Err() != nil {
		return cli.Exit("faultline replay: interrupted", exitCannotRun)
	}
	switch verdict {
	case checker.Invalid:
		return cli.Exit("", exitInvalid)
	case checker.Unknown:
		return cli.Exit("", exitUnknown)
	}
	return nil
}
