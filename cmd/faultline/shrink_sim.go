package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/workloads"
)

// isSimRun says whether dir is a run folder of the sim runtime (config.json says so).
func isSimRun(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, report.ConfigFile))
	if err != nil {
		return false
	}
	var where struct {
		Runtime string `json:"runtime"`
	}
	return json.Unmarshal(b, &where) == nil && where.Runtime == simrt.Name
}

// doSimShrink shrinks a simulated run's scenario: its fault events, its client ops and its
// time, re-running the simulator on each candidate (simrt.Shrink), and saves the smallest
// scenario that still fails as a run folder that `faultline replay` reproduces byte for byte.
func doSimShrink(ctx context.Context, c *cli.Context, env *appEnv, dir, out string) error {
	fail := func(format string, args ...any) error {
		return cli.Exit("faultline shrink: "+fmt.Sprintf(format, args...), exitCannotRun)
	}
	saved, err := loadRun(dir)
	if err != nil {
		return fail("%v", err)
	}
	cfg := saved.cfg
	if err := simrt.Check(cfg); err != nil {
		return fail("%s: %v", dir, err)
	}
	for _, name := range []string{"workload", "model", "timeout", "max-checks"} {
		if c.IsSet(name) {
			fmt.Fprintf(env.stderr, "faultline shrink: --%s applies to shrinking a history; a simulated run's candidates are checked as the run was (its config.json): ignored\n", name)
		}
	}
	if c.Int("max-runs") < 1 {
		return fail("--max-runs (%d) must be at least 1", c.Int("max-runs"))
	}
	var target []string
	for n := range strings.SplitSeq(c.String("checks"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			target = append(target, n)
		}
	}
	if len(target) == 0 {
		if _, err := os.Stat(filepath.Join(dir, report.ResultsFile)); err == nil && len(saved.invalid) == 0 {
			fmt.Fprintf(env.stdout, "%s: the run is valid (results.json): no anomaly, nothing to shrink\n", dir)
			return cli.Exit("", exitCannotRun)
		}
		target = saved.invalid
	}
	if out == "" {
		out = filepath.Join(dir, "shrunk")
	}
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return fail("%s exists and is not empty: remove it or give --out", out)
	}
	// config.json of the output names the default results root, not where the run was saved.
	cfg.ResultsRoot = harness.DefaultConfig().ResultsRoot
	st, err := simStore()
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(env.stderr, "faultline shrink %s: runtime %s%s; shrinking the scenario (fault events, client ops, time), at most %d simulations\n",
		dir, simrt.Name, simrt.Note, c.Int("max-runs"))
	defer tuneGC()()
	sched := saved.sched
	res, err := simrt.Shrink(ctx, cfg, simrt.ShrinkOptions{Store: st, Log: env.log, Schedule: &sched, Script: saved.script,
		Target: target, MaxRuns: c.Int("max-runs"), KeepTime: c.Bool("keep-time"), Out: out})
	if errors.Is(err, simrt.ErrNothingToShrink) {
		fmt.Fprintf(env.stdout, "%s: %v\n", dir, err)
		return cli.Exit("", exitCannotRun)
	}
	if err != nil {
		return fail("%s: %v", dir, err)
	}
	o := res.Outcome
	if err := history.WriteFile(filepath.Join(out, "history.edn"), o.History, history.FormatEDN); err != nil {
		return fail("%v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "NOTE.md"), []byte(simShrinkNote(dir, out, res)), 0o644); err != nil {
		return fail("%v", err)
	}
	w := env.stdout
	fmt.Fprintf(w, "shrunk the scenario of %s (%s): fault events %d -> %d, client ops %d -> %d, time %s -> %s; %d simulations in %s (simulating %s, checking %s)\n",
		dir, strings.Join(res.Target, ", "), res.EventsBefore, res.EventsAfter, res.OpsBefore, res.OpsAfter,
		res.TimeBefore, res.TimeAfter, res.Runs, res.Wall.Round(time.Millisecond), res.SimWall.Round(time.Millisecond), res.CheckWall.Round(time.Millisecond))
	for _, s := range res.Steps {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if res.Incomplete {
		fmt.Fprintln(w, "  stopped early (--max-runs or interrupted): a smaller scenario may exist")
	}
	o.Results.Summary(w)
	fmt.Fprintf(w, "written: %s (a run folder: schedule.json, %s, history.jsonl, history.edn, results.json, report.html, NOTE.md); faultline replay %s reproduces it exactly (history sha256 %s)\n",
		out, simrt.ScriptFile, out, o.HistorySHA256)
	return nil
}

// simShrinkNote is NOTE.md of a shrunk scenario: what was removed, what is left, how to replay
// it. It names the source by its last two path elements only (no machine paths).
func simShrinkNote(src, out string, res *simrt.ShrinkResult) string {
	var b strings.Builder
	clean := filepath.Clean(src)
	name := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(clean)), filepath.Base(clean)))
	cfg := res.Config
	fmt.Fprintf(&b, "# Shrunk scenario: %s\n\n", strings.Join(res.Target, ", "))
	fmt.Fprintf(&b, "Source: `%s`, a simulated run (runtime sim), shrunk by `faultline shrink`: fault events and client\n"+
		"operations were removed from its scenario, and the simulator re-ran each candidate; every step kept\n"+
		"still fails %s.\n\n", name, strings.Join(res.Target, ", "))
	s := cfg.Store
	fmt.Fprintf(&b, "Run: %s workload on %d nodes, %s N=%d W=%d R=%d, nemesis %s, seed %d.\n\n",
		cfg.Workload, cfg.Nodes, s.Consistency, s.N, s.W, s.R, strings.Join(cfg.Nemesis, ","), cfg.Seed)
	b.WriteString("| | before | after |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| fault events | %d | %d |\n", res.EventsBefore, res.EventsAfter)
	fmt.Fprintf(&b, "| client operations | %d | %d |\n", res.OpsBefore, res.OpsAfter)
	fmt.Fprintf(&b, "| virtual time | %s | %s |\n", res.TimeBefore, res.TimeAfter)
	fmt.Fprintf(&b, "| history records | %d | %d |\n\n", res.FirstHistory, res.FinalHistory)
	fmt.Fprintf(&b, "Re-runs: %d simulations in %s of wall time (simulating %s, checking %s)", res.Runs, res.Wall.Round(time.Millisecond),
		res.SimWall.Round(time.Millisecond), res.CheckWall.Round(time.Millisecond))
	if res.Incomplete {
		b.WriteString(" (stopped early by --max-runs or an interrupt: a smaller scenario may exist)")
	}
	fmt.Fprintf(&b, ".\n\nRemoved: %d of %d fault events and %d of %d client operations.\n\nSteps:\n\n",
		res.EventsBefore-res.EventsAfter, res.EventsBefore, res.OpsBefore-res.OpsAfter, res.OpsBefore)
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	b.WriteString("\nFault events left (schedule.json):\n\n")
	if len(res.Schedule.Events) == 0 {
		b.WriteString("- none: the anomaly needs no fault\n")
	}
	for _, e := range res.Schedule.Events {
		fmt.Fprintf(&b, "- at %s: %s\n", e.At, e)
	}
	fmt.Fprintf(&b, "\nClient operations left (%s; worker w runs them as processes w, w+%d, ...):\n\n", simrt.ScriptFile, cfg.Concurrency)
	keys := workloads.KeyNames(harness.WorkloadConfig(cfg))
	type line struct {
		at   time.Duration
		text string
	}
	var lines []line
	for w, steps := range res.Script {
		for _, st := range steps {
			what := fmt.Sprintf("update %s with %d", keys[st.Key], st.Value)
			if st.Read {
				what = "read " + keys[st.Key]
			}
			lines = append(lines, line{st.At, fmt.Sprintf("- at %s: worker %d: %s", st.At, w, what)})
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int { return int(a.at - b.at) })
	if len(lines) == 0 {
		b.WriteString("- none\n")
	}
	for _, l := range lines {
		b.WriteString(l.text + "\n")
	}
	b.WriteString("\nVerdict on the shrunk scenario:\n\n```\n")
	verdict := *res.Outcome.Results
	if verdict.Visualization != "" {
		verdict.Visualization = filepath.Base(verdict.Visualization) // beside NOTE.md; no machine path
	}
	verdict.Summary(&b)
	fmt.Fprintf(&b, "```\n\nReplay it: `faultline replay %s` reproduces history.jsonl byte for byte (sha256 %s).\n"+
		"Check it: `faultline check %s` (exit 1: invalid). Files: history.jsonl (faultline), history.edn (Jepsen), report.html.\n",
		filepath.Base(out), res.Outcome.HistorySHA256, filepath.Base(out))
	return b.String()
}
