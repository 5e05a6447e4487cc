package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
)

// simStore is the store the sim runtime runs: the reference store's own core through its
// simulator adapter.
func simStore() (simrt.Store, error) {
	return simrt.Reference{}, nil
}

// tuneGC sets the collector's target for simulations (simrt.GCPercent) unless the user set
// GOGC, and returns what restores it.
func tuneGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(simrt.GCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// runSim runs one test in the simulator and prints its outcome as doRun does, plus the
// simulation's speed and the history's hash.
func runSim(ctx context.Context, env *appEnv, cfg harness.Config, asJSON bool, sched *nemesis.Schedule) (*simrt.Outcome, error) {
	if err := simrt.Check(cfg); err != nil {
		return nil, cli.Exit("faultline run: "+err.Error(), exitCannotRun)
	}
	st, err := simStore()
	if err != nil {
		return nil, cli.Exit("faultline run: "+err.Error(), exitCannotRun)
	}
	fmt.Fprintf(env.stderr, "faultline run %s: runtime %s%s, seed %d, %s of virtual time\n", cfg.RunName(), simrt.Name, simrt.Note, cfg.Seed, cfg.Time)
	defer tuneGC()()
	opt := simrt.Options{Store: st, Log: env.log, Schedule: sched}
	if !asJSON {
		opt.Progress = env.stderr
	}
	out, err := simrt.Run(ctx, cfg, opt)
	if err != nil && (out == nil || out.Results == nil || !errors.Is(err, harness.ErrInterrupted)) {
		if out != nil && out.Dir != "" {
			fmt.Fprintf(env.stderr, "run folder: %s\n", out.Dir)
		}
		return out, cli.Exit("faultline run: "+err.Error(), exitCannotRun)
	}
	return out, nil
}

// simLines say what the simulation did: the speed and the history's hash.
func simLines(out *simrt.Outcome) []string {
	return []string{
		fmt.Sprintf("simulated: network, disks and clocks; %s of virtual time in %s of wall time (%.0f virtual seconds per wall second), %d events",
			out.Virtual.Round(time.Millisecond), out.Wall.Round(time.Millisecond), out.Speed(), out.Fired),
		fmt.Sprintf("history sha256 %s (the same seed and config give the same bytes: faultline replay %s)", out.HistorySHA256, "RUN"),
	}
}

func simExtra(out *simrt.Outcome) map[string]any {
	return map[string]any{
		"simulated": true, "virtual_ms": out.Virtual.Milliseconds(), "wall_ms": out.Wall.Milliseconds(),
		"virtual_per_wall": out.Speed(), "history_sha256": out.HistorySHA256, "store_events": out.Events,
	}
}

// doSimRun is doRun for the sim runtime.
func doSimRun(ctx context.Context, env *appEnv, cfg harness.Config, asJSON bool) error {
	out, err := runSim(ctx, env, cfg, asJSON, nil)
	if err != nil {
		return err
	}
	lines := simLines(out)
	lines[1] = fmt.Sprintf("history sha256 %s (the same seed and config give the same bytes: faultline replay %s)", out.HistorySHA256, out.Dir)
	return printOutcome(env, cfg, &out.Outcome, asJSON, simExtra(out), lines)
}

// fileSHA256 is the hex sha256 of a file's bytes.
func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// doSimReplay replays a simulated run: once, since a simulated run is a function of its config,
// seed and schedule, and says whether the history came back byte for byte.
func doSimReplay(ctx context.Context, env *appEnv, dir string, cfg harness.Config, saved *savedRun, opt replayOptions) error {
	if opt.times > 1 {
		fmt.Fprintf(env.stderr, "faultline replay: --times %d is pointless on the sim runtime: a simulated run is a function of its seed, so every replay is the same; replaying once\n", opt.times)
	}
	want, err := fileSHA256(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		return cli.Exit("faultline replay: "+err.Error(), exitCannotRun)
	}
	sched := saved.sched
	out, err := runSim(ctx, env, cfg, opt.json, &sched)
	if err != nil {
		return err
	}
	same := out.HistorySHA256 == want
	verdict := "REPRODUCED EXACTLY: the replay's history.jsonl is byte-identical to the saved run's (sha256 " + want + ")"
	if !same {
		verdict = fmt.Sprintf("NOT reproduced: the replay's history sha256 %s differs from the saved run's %s (another faultline version, or the run folder was edited)", out.HistorySHA256, want)
	}
	extra := simExtra(out)
	extra["reproduced_exactly"] = same
	extra["saved_history_sha256"] = want
	extra["run"] = dir
	lines := append(simLines(out)[:1], verdict)
	if err := printOutcome(env, cfg, &out.Outcome, opt.json, extra, lines); err != nil {
		return err
	}
	if !same {
		return cli.Exit("", exitUnknown)
	}
	return nil
}

// simRuntime stands for the sim runtime where the commands pass a harness.Runtime around
// (compare, suite, replay): runTest sees its name and runs the test in the simulator, which
// drives its own world, so none of its methods is ever called by the harness.
type simRuntime struct{}

var _ harness.Runtime = simRuntime{}

var errSimRuntime = errors.New("the sim runtime is not driven through harness.Runtime")

func (simRuntime) Name() string { return simrt.Name }
func (simRuntime) Start(context.Context, harness.ClusterSpec) ([]harness.Node, error) {
	return nil, errSimRuntime
}
func (simRuntime) Kill(context.Context, string) error                   { return errSimRuntime }
func (simRuntime) Restart(context.Context, string) error                { return errSimRuntime }
func (simRuntime) Pause(context.Context, string) error                  { return errSimRuntime }
func (simRuntime) Resume(context.Context, string) error                 { return errSimRuntime }
func (simRuntime) Partition(context.Context, map[string][]string) error { return errSimRuntime }
func (simRuntime) SetLinks(context.Context, []harness.Link) error       { return errSimRuntime }
func (simRuntime) Heal(context.Context) error                           { return errSimRuntime }
func (simRuntime) Logs(context.Context, string, io.Writer) error        { return errSimRuntime }
func (simRuntime) Teardown(context.Context) error                       { return nil }

// runSimTest is runTest on the sim runtime: the simulated run's harness outcome.
func runSimTest(ctx context.Context, env *appEnv, cfg harness.Config, opt harness.Options) (*harness.Outcome, error) {
	if err := simrt.Check(cfg); err != nil {
		return nil, err
	}
	st, err := simStore()
	if err != nil {
		return nil, err
	}
	defer tuneGC()()
	out, err := simrt.Run(ctx, cfg, simrt.Options{Store: st, Log: opt.Log, Schedule: opt.Schedule})
	if out == nil {
		return nil, err
	}
	return &out.Outcome, err
}
