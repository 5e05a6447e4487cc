package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

func shrinkCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "shrink",
		Usage:     "cut a failing history (of a simulated run: its scenario) down to a small one that still fails (for a bug report)",
		ArgsUsage: "RUN|HISTORY",
		Description: "Keeps the failing key, then the shortest window of operations that still fails, then\n" +
			"removes operations one chunk at a time (ddmin), re-checking each candidate. Writes\n" +
			"history.jsonl, history.edn (Jepsen), results.json and NOTE.md; from a run folder also\n" +
			"config.json and schedule.json, so `faultline check` and `faultline replay` work on the output.\n" +
			"A run folder of the sim runtime shrinks its scenario instead: fault events (ddmin), then the\n" +
			"client operations (a key's at once, then chunks down to single ones), then the run's time,\n" +
			"re-running the simulator on each candidate (bounded by --max-runs); the output is a run folder\n" +
			"(schedule.json, script.json, history, results.json, report.html, NOTE.md) that `faultline replay`\n" +
			"reproduces byte for byte.\n" +
			"Exit 0 when shrunk, 3 when there is no anomaly to shrink or the input is broken.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "output folder (default: RUN/shrunk, or HISTORY's name + -shrunk)"},
			&cli.StringFlag{Name: "checks", Usage: "comma list of checkers that must keep failing (default: the failing deciding ones)"},
			&cli.StringFlag{Name: "workload", Usage: "register, set or counter (default: config.json's, else inferred)"},
			&cli.StringFlag{Name: "model", Value: "auto", Usage: "linearizability model: register, kv, set, counter or auto"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "linearizability time budget per re-check"},
			&cli.IntFlag{Name: "max-checks", Value: 5000, Usage: "bound on re-checks"},
			&cli.IntFlag{Name: "max-runs", Value: 500, Usage: "sim runs: bound on the simulations of the scenario search"},
			&cli.BoolFlag{Name: "keep-time", Usage: "sim runs: do not shorten the run's time"},
		},
		Action: func(c *cli.Context) error {
			if err, ok := trailingFlags(c, env); ok {
				return err
			}
			if c.NArg() != 1 {
				return cli.Exit("faultline shrink: want exactly one RUN folder or HISTORY file", exitCannotRun)
			}
			return doShrink(c, env, c.Args().First())
		},
	}
}

func doShrink(c *cli.Context, env *appEnv, path string) error {
	fail := func(format string, args ...any) error {
		return cli.Exit("faultline shrink: "+fmt.Sprintf(format, args...), exitCannotRun)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	cfg := checker.DefaultConfig()
	cfg.Model = c.String("model")
	cfg.Workload = c.String("workload")
	cfg.Timeout = c.Duration("timeout")
	histPath, runDir, out := path, "", c.String("out")
	var runCfg *harness.Config
	if st.IsDir() && isSimRun(path) {
		ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return doSimShrink(ctx, c, env, path, out)
	}
	if st.IsDir() {
		runDir, histPath = path, ""
		for _, n := range historyNames() {
			if _, err := os.Stat(filepath.Join(path, n)); err == nil {
				histPath = filepath.Join(path, n)
				break
			}
		}
		if histPath == "" {
			return fail("%s: no history file (want one of %s)", path, strings.Join(historyNames(), ", "))
		}
		if rc, err := harness.LoadConfig(path); err == nil {
			runCfg = &rc
			if cfg.Workload == "" {
				cfg.Workload = rc.Workload
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return fail("%v", err)
		}
		// which reads are the final ones, as the run checked them (see faultline check)
		if cfg.FinalProcess, err = readFinalProcess(filepath.Join(path, report.StatsFile)); err != nil {
			return fail("%v", err)
		}
		if out == "" {
			out = filepath.Join(path, "shrunk")
		}
	} else if out == "" {
		out = strings.TrimSuffix(path, filepath.Ext(path)) + "-shrunk"
	}
	if err := cfg.Validate(); err != nil {
		return fail("%v", err)
	}
	file, err := history.ReadFile(histPath)
	if err != nil {
		return fail("%v", err)
	}
	scfg := checker.ShrinkConfig{Check: cfg, MaxChecks: c.Int("max-checks")}
	if s := c.String("checks"); s != "" {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				scfg.Target = append(scfg.Target, n)
			}
		}
	}
	start := time.Now()
	res, err := checker.Shrink(c.Context, file.Ops, scfg)
	if err != nil {
		return fail("%s: %v", histPath, err)
	}
	took := time.Since(start)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return fail("%v", err)
	}
	if err := history.WriteFile(filepath.Join(out, report.HistoryFile), res.Ops, history.FormatJSONL); err != nil {
		return fail("%v", err)
	}
	if err := history.WriteFile(filepath.Join(out, "history.edn"), res.Ops, history.FormatEDN); err != nil {
		return fail("%v", err)
	}
	if err := writeResults(filepath.Join(out, report.ResultsFile), res.Results); err != nil {
		return fail("%v", err)
	}
	if runCfg != nil {
		// config.json and schedule.json make the folder replayable; the results root is the
		// default, not where the original run happened to be saved.
		rc := *runCfg
		rc.ResultsRoot = harness.DefaultConfig().ResultsRoot
		b, err := rc.MarshalJSON()
		if err != nil {
			return fail("%v", err)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, b, "", "  "); err != nil {
			return fail("%v", err)
		}
		ind.WriteByte('\n')
		if err := os.WriteFile(filepath.Join(out, report.ConfigFile), ind.Bytes(), 0o644); err != nil {
			return fail("%v", err)
		}
		if b, err := os.ReadFile(filepath.Join(runDir, report.ScheduleFile)); err == nil {
			if err := os.WriteFile(filepath.Join(out, report.ScheduleFile), b, 0o644); err != nil {
				return fail("%v", err)
			}
		}
		if cfg.FinalProcess > 0 {
			// so that `faultline check` of the output judges the same reads as final
			b := fmt.Appendf(nil, "{\"harness\": {\"final_process\": %d}}\n", cfg.FinalProcess)
			if err := os.WriteFile(filepath.Join(out, report.StatsFile), b, 0o644); err != nil {
				return fail("%v", err)
			}
		}
	}
	note := shrinkNote(path, runCfg, res)
	if err := os.WriteFile(filepath.Join(out, "NOTE.md"), []byte(note), 0o644); err != nil {
		return fail("%v", err)
	}
	w := env.stdout
	fmt.Fprintf(w, "shrunk %s: %d records (%d operations) -> %d records (%d operations), %d re-checks in %s\n",
		histPath, res.Before, res.BeforeOps, res.After, res.AfterOps, res.Checks, took.Round(time.Millisecond))
	for _, s := range res.Steps {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if res.Incomplete {
		fmt.Fprintln(w, "  stopped early (--max-checks or interrupted): a smaller history may exist")
	}
	res.Results.Summary(w)
	fmt.Fprintf(w, "written: %s (history.jsonl, history.edn, results.json, NOTE.md)\n", out)
	return nil
}

// shrinkNote is NOTE.md: what the shrunk history shows and where it came from. It names the
// source by its last two path elements only (no machine paths).
func shrinkNote(src string, cfg *harness.Config, res *checker.ShrinkResult) string {
	var b strings.Builder
	clean := filepath.Clean(src)
	name := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(clean)), filepath.Base(clean)))
	fmt.Fprintf(&b, "# Shrunk history: %s\n\n", strings.Join(res.Target, ", "))
	fmt.Fprintf(&b, "Source: `%s`, shrunk by `faultline shrink` from %d records (%d operations) to %d records (%d operations)",
		name, res.Before, res.BeforeOps, res.After, res.AfterOps)
	if res.Key != "" {
		fmt.Fprintf(&b, ", key `%s`", res.Key)
	}
	b.WriteString(".\n\n")
	if cfg != nil {
		s := cfg.Store
		nem := "none"
		if len(cfg.Nemesis) > 0 {
			nem = strings.Join(cfg.Nemesis, ",")
		}
		w := cfg.Workload
		if cfg.CRDT {
			w += " (CRDT)"
		}
		store := fmt.Sprintf("%s N=%d W=%d R=%d (read repair %v, sloppy quorum %v)", s.Consistency, s.N, s.W, s.R, s.ReadRepair, s.SloppyQuorum)
		if cfg.TargetName() != harness.ReferenceTarget {
			store = "target " + cfg.TargetLabel() // the reference store's settings do not apply
		}
		fmt.Fprintf(&b, "Run: %s workload on %d nodes, %s, nemesis %s, seed %d, %s.\n\n",
			w, cfg.Nodes, store, nem, cfg.Seed, cfg.Time)
	}
	b.WriteString("Steps:\n\n")
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	b.WriteString("\nVerdict on the shrunk history:\n\n```\n")
	res.Results.Summary(&b)
	b.WriteString("```\n\nCheck it: `faultline check DIR` (exit 1: invalid). Files: history.jsonl (faultline), history.edn (Jepsen).\n")
	return b.String()
}
