package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"github.com/urfave/cli/v2"
)

// historyNames returns the history files looked for in a run folder, in order.
func historyNames() []string { return []string{"history.jsonl", "history.edn", "history.txt"} }

// checkCommand checks a saved history: a run folder or a history file.
func checkCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a saved history (a run folder, a JSONL history, or a Jepsen EDN or text history)",
		ArgsUsage: "PATH",
		Description: "PATH is a run folder (history.jsonl, optional dumps.json and config.json) or a history file.\n" +
			"Checkers: " + strings.Join(checker.Names(), ", ") + ".\n" +
			"A malformed record is broken input (exit 3, naming its line). A JSONL history cut off in its\n" +
			"last line (a killed run), or a run folder whose run did not finish (no stats.json nor\n" +
			"results.json), is checked as a partial history: the verdict says so and what is missing, and\n" +
			"checkers that need final reads say unknown.\n" +
			"Exit codes: 0 valid, 1 invalid, 2 unknown, 3 could not run.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: "auto", Usage: "linearizability model: register, kv, set, counter or auto"},
			&cli.StringFlag{Name: "format", Value: "auto", Usage: "history format: jsonl, jepsen-edn, jepsen-txt or auto"},
			&cli.StringFlag{Name: "workload", Usage: "register, set or counter (default: config.json's, else inferred from the ops)"},
			&cli.StringFlag{Name: "checks", Usage: "comma-separated checkers that decide the verdict (default: by workload)"},
			&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "linearizability time budget; past it the verdict is unknown"},
			&cli.BoolFlag{Name: "json", Usage: "print the results document on stdout"},
			&cli.StringFlag{Name: "out", Usage: "where to write the visualization and results.json (default: the run folder; none for a file)"},
		},
		Action: func(c *cli.Context) error {
			if err, ok := trailingFlags(c, env); ok { // `faultline check RUN --model kv`
				return err
			}
			if c.NArg() != 1 {
				return cli.Exit("faultline check: want exactly one PATH (a run folder or a history file)", exitCannotRun)
			}
			return runCheck(c, env, c.Args().First())
		},
	}
}

func runCheck(c *cli.Context, env *appEnv, path string) error {
	format, err := history.ParseFormat(c.String("format"))
	if err != nil {
		return cli.Exit("faultline check: --format: "+err.Error(), exitCannotRun)
	}
	cfg := checker.DefaultConfig()
	cfg.Log = env.log
	cfg.Model = c.String("model")
	cfg.Workload = c.String("workload")
	cfg.Timeout = c.Duration("timeout")
	if s := c.String("checks"); s != "" {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Checks = append(cfg.Checks, n)
			}
		}
	}
	outDir := c.String("out")

	st, err := os.Stat(path)
	if err != nil {
		return cli.Exit(fmt.Sprintf("faultline check: %v", err), exitCannotRun)
	}
	histPath := path
	var status report.Status // of a run folder; zero for a file
	if st.IsDir() {
		histPath = ""
		for _, n := range historyNames() {
			if _, err := os.Stat(filepath.Join(path, n)); err == nil {
				histPath = filepath.Join(path, n)
				break
			}
		}
		if histPath == "" {
			return cli.Exit(fmt.Sprintf("faultline check: %s: no history file (want one of %s)", path, strings.Join(historyNames(), ", ")), exitCannotRun)
		}
		if d, err := history.ReadDumps(filepath.Join(path, "dumps.json")); err == nil {
			cfg.Dumps = d
		} else if !errors.Is(err, os.ErrNotExist) {
			return cli.Exit(fmt.Sprintf("faultline check: %v", err), exitCannotRun)
		}
		rc, err := readRunConfig(filepath.Join(path, "config.json"))
		if err != nil {
			return cli.Exit(fmt.Sprintf("faultline check: %v", err), exitCannotRun)
		}
		if cfg.Workload == "" {
			cfg.Workload = rc.Workload
		}
		if len(cfg.Checks) == 0 {
			cfg.Checks = rc.Checks
		}
		// which reads are the final ones, as the run checked them (absent: the last ok read),
		// and whether the run finished at all
		if status, err = report.ReadStatus(path); err != nil {
			return cli.Exit(fmt.Sprintf("faultline check: %v", err), exitCannotRun)
		}
		cfg.FinalProcess = status.FinalProcess
		if outDir == "" {
			outDir = path
		}
	}
	cfg.OutDir = outDir
	if err := cfg.Validate(); err != nil {
		return cli.Exit("faultline check: "+err.Error(), exitCannotRun)
	}

	parseStart := time.Now()
	file, err := history.ReadFileFormat(histPath, format)
	if err != nil {
		return cli.Exit(history.ClipN(fmt.Sprintf("faultline check: %v", err), maxMessage), exitCannotRun)
	}
	parsed := time.Since(parseStart)
	for i, w := range file.Warnings {
		file.Warnings[i] = history.ClipN(w, maxMessage)
		env.log.Warn().Str("history", histPath).Msg(file.Warnings[i])
	}
	// What the history lacks: a last line cut off, a run that did not finish.
	if file.Partial {
		cfg.Partial = append(cfg.Partial, "the last line was cut off mid-write (a killed harness) and is not checked")
	}
	notes, noFinal := status.Incomplete(time.Duration(lastTime(file.Ops)))
	cfg.Partial = append(cfg.Partial, notes...)
	cfg.NoFinalReads = noFinal
	if len(file.Ops) == 0 {
		// an empty file is an empty history (a run killed before its first op); a file with
		// content but no op is not a history this format reads: there is nothing to check
		if fi, err := os.Stat(histPath); err == nil && fi.Size() > 0 {
			msg := fmt.Sprintf("faultline check: %s: no operations found in %d bytes read as %s", histPath, fi.Size(), file.Format)
			if len(file.Warnings) > 0 {
				msg += " (" + strings.Join(file.Warnings, "; ") + ")"
			}
			return cli.Exit(msg, exitCannotRun)
		}
	}
	checkStart := time.Now()
	res, err := checker.Check(c.Context, file.Ops, cfg)
	if err != nil {
		return cli.Exit(history.ClipN(fmt.Sprintf("faultline check: %s: %v", histPath, err), maxMessage), exitCannotRun)
	}
	checked := time.Since(checkStart)
	res.Warnings = append(file.Warnings, res.Warnings...)
	if w := status.Unsaved(); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	env.log.Info().Str("history", histPath).Str("format", string(file.Format)).Int("ops", len(file.Ops)).
		Dur("parse", parsed).Dur("check", checked).Msg("checked")

	if c.String("out") != "" {
		if err := writeResults(filepath.Join(outDir, "results.json"), res); err != nil {
			return cli.Exit(fmt.Sprintf("faultline check: %v", err), exitCannotRun)
		}
	}
	if c.Bool("json") {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return cli.Exit(fmt.Sprintf("faultline check: encoding results: %v", err), exitCannotRun)
		}
		fmt.Fprintf(env.stdout, "%s\n", b)
	} else {
		fmt.Fprintf(env.stdout, "file: %s (%s, %d records; parse %s, check %s)\n",
			histPath, file.Format, len(file.Ops), parsed.Round(time.Millisecond), checked.Round(time.Millisecond))
		res.Summary(env.stdout)
		if lin, ok := res.Checkers[checker.Linearizable]; ok && lin.Valid == checker.Invalid && res.Visualization == "" && outDir == "" {
			fmt.Fprintln(env.stdout, "visualization: not written (use --out DIR)")
		}
	}
	if code := res.ExitCode(); code != exitValid {
		return cli.Exit("", code)
	}
	return nil
}

// runConfig is what check uses of a run folder's config.json.
type runConfig struct {
	Workload string   `json:"workload"` // register, set or counter
	Checks   []string `json:"checks"`   // the run's selected checkers, if it saved them
}

// readRunConfig reads a run folder's config.json (a missing file is an empty config).
func readRunConfig(path string) (runConfig, error) {
	var rc runConfig
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rc, nil
	}
	if err != nil {
		return rc, err
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, fmt.Errorf("%s: %w", path, err)
	}
	return rc, nil
}

// lastTime returns the latest op time of a history (ns since the run started).
func lastTime(ops []history.Op) int64 {
	var t int64
	for i := range ops {
		t = max(t, ops[i].Time)
	}
	return t
}

// maxMessage bounds an error or warning printed for people: the values in it are clipped
// where they are formatted (history.MaxShown); this is the backstop.
const maxMessage = 4 << 10

// readFinalProcess reads the first final-read process from a run folder's stats.json (the
// harness saves it; 0 when the file or the figure is missing, as in older runs).
func readFinalProcess(path string) (int, error) {
	s, err := report.ReadStatus(filepath.Dir(path))
	return s.FinalProcess, err
}

func writeResults(path string, res *checker.Results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
