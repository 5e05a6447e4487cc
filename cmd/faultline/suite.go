package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/suite"
)

func suiteCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "suite",
		Usage:     "run a suite of tests with expected verdicts (CI); JUnit XML out",
		ArgsUsage: "FILE",
		Description: "FILE is YAML: tests, each with a name, `faultline run` flags (args: [...] or flags: {...})\n" +
			"and expect: valid or invalid (a known-broken configuration is expected to be invalid).\n" +
			"Exit 0 when every verdict is the expected one, 1 when one differs or a test could not run,\n" +
			"3 when the file is bad.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "junit", Usage: "write JUnit XML here"},
			&cli.StringFlag{Name: "runtime", Usage: "runtime for every test, overriding the file (default: the file's, else docker where an engine answers, else local)"},
			&cli.StringFlag{Name: "results", Usage: "results folder for tests that do not set --results (default: the run default)"},
			&cli.StringSliceFlag{Name: "only", Usage: "run only the named tests (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if err, ok := trailingFlags(c, env); ok {
				return err
			}
			if c.NArg() != 1 {
				return cli.Exit("faultline suite: want exactly one FILE", exitCannotRun)
			}
			s, err := suite.Load(c.Args().First())
			if err != nil {
				return cli.Exit("faultline "+err.Error(), exitCannotRun)
			}
			if only := c.StringSlice("only"); len(only) > 0 {
				if err := s.Select(only); err != nil {
					return cli.Exit("faultline "+err.Error(), exitCannotRun)
				}
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return doSuite(ctx, env, s, c.String("runtime"), c.String("results"), c.String("junit"))
		},
	}
}

// suiteTest is a suite test turned into a run: its config and runtime name.
type suiteTest struct {
	cfg     harness.Config
	runtime string
}

// suiteArgs is the argument list a test runs with: the suite's results folder first (so a
// test can override it), then the defaults and the test's flags, then the --runtime given on
// the command line (it overrides the file).
func suiteArgs(s *suite.Suite, t suite.Test, runtimeName, results string) []string {
	var args []string
	if results != "" {
		args = append(args, "--results", results)
	}
	args = append(args, s.Args...)
	args = append(args, t.Args...)
	if runtimeName != "" {
		args = append(args, "--runtime", runtimeName)
	}
	return args
}

// parseRunArgs parses `faultline run` flags into a config, as `faultline run` would.
func parseRunArgs(args []string) (suiteTest, error) {
	var st suiteTest
	var parsed bool
	var errBuf bytes.Buffer
	app := &cli.App{
		Name:      "run",
		Flags:     runFlags(),
		Writer:    io.Discard,
		ErrWriter: &errBuf,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q (flags only)", c.Args().First())
			}
			cfg, err := configFromFlags(c)
			if err == nil {
				err = refuseStoreFlags(c, cfg)
			}
			if err != nil {
				return err
			}
			st = suiteTest{cfg: cfg, runtime: c.String("runtime")}
			parsed = true
			return nil
		},
		HideHelp:       true,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(append([]string{"run"}, args...)); err != nil {
		return st, err
	}
	if !parsed {
		return st, errors.New("flags not understood")
	}
	if st.runtime != "" && st.runtime != "local" && st.runtime != "docker" && st.runtime != "sim" {
		return st, fmt.Errorf("--runtime %q: want local, docker or sim", st.runtime)
	}
	return st, nil
}

func doSuite(ctx context.Context, env *appEnv, s *suite.Suite, runtimeName, results, junit string) error {
	// Every test's flags are checked before anything runs.
	parsed := make(map[string]suiteTest, len(s.Tests))
	var bad []string
	for _, t := range s.Tests {
		st, err := parseRunArgs(suiteArgs(s, t, runtimeName, results))
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: line %d: test %q: %v", s.File, t.Line, t.Name, err))
			continue
		}
		parsed[t.Name] = st
	}
	if len(bad) > 0 {
		return cli.Exit("faultline suite: bad suite file:\n  "+strings.Join(bad, "\n  "), exitCannotRun)
	}
	if junit != "" {
		if err := os.MkdirAll(filepath.Dir(junit), 0o755); err != nil {
			return cli.Exit("faultline suite: "+err.Error(), exitCannotRun)
		}
	}
	pools := map[string]*runtimes{}
	defer func() {
		for _, p := range pools {
			p.close()
		}
	}()
	run := func(ctx context.Context, t suite.Test) suite.Outcome {
		st := parsed[t.Name]
		p, ok := pools[st.runtime]
		if !ok {
			var err error
			if p, err = newRuntimes(ctx, env, st.runtime, 1); err != nil {
				return suite.Outcome{Err: err}
			}
			pools[st.runtime] = p
		}
		rt, err := p.get(ctx, 0)
		if err != nil {
			return suite.Outcome{Err: err}
		}
		o, err := runTest(ctx, env, st.cfg, harness.Options{Runtime: rt, Log: env.log})
		out := suite.Outcome{}
		if o != nil {
			out.Dir = o.Dir
		}
		if err != nil || o.Results == nil {
			if err == nil {
				err = errors.New("no results")
			}
			out.Err = err
			return out
		}
		out.Verdict = o.Results.Valid
		out.Invalid = invalidCheckers(o.Results)
		var sum bytes.Buffer
		o.Results.Summary(&sum)
		fmt.Fprintf(&sum, "seed %d, runtime %s; client ops ok %d, fail %d, info %d\n", st.cfg.Seed, o.Runtime, o.OK, o.Fail, o.Info)
		out.Summary = strings.TrimSpace(sum.String())
		return out
	}
	fmt.Fprintf(env.stderr, "faultline suite %s: %d tests\n", s.Name, len(s.Tests))
	rep := suite.Run(ctx, s, run, env.stderr)
	if err := rep.WriteSummary(env.stdout); err != nil {
		return cli.Exit("faultline suite: "+err.Error(), exitCannotRun)
	}
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			return cli.Exit("faultline suite: "+err.Error(), exitCannotRun)
		}
		err = rep.WriteJUnit(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return cli.Exit("faultline suite: "+err.Error(), exitCannotRun)
		}
		fmt.Fprintf(env.stdout, "JUnit XML: %s\n", junit)
	}
	if ctx.Err() != nil {
		return cli.Exit("faultline suite: interrupted", exitCannotRun)
	}
	if !rep.OK() {
		return cli.Exit("", exitInvalid)
	}
	return nil
}

// trailingFlags handles flags given after a command's one positional argument (`faultline
// suite FILE --junit x`): urfave/cli stops parsing flags at the first argument, so the command
// is run again with them moved in front. ok is false when there is nothing to move.
func trailingFlags(c *cli.Context, env *appEnv) (err error, ok bool) {
	args := c.Args().Slice()
	if len(args) < 2 || !strings.HasPrefix(args[1], "-") {
		return nil, false
	}
	out := []string{"faultline", "--log-level", c.String("log-level"), "--log-format", c.String("log-format"), c.Command.Name}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		if _, slice := f.(*cli.StringSliceFlag); slice {
			for _, v := range c.StringSlice(name) {
				out = append(out, "--"+name+"="+v)
			}
			continue
		}
		out = append(out, fmt.Sprintf("--%s=%v", name, c.Value(name)))
	}
	out = append(append(out, args[1:]...), args[0])
	if code := runMain(env, out); code != exitValid {
		return cli.Exit("", code), true
	}
	return nil, true
}
