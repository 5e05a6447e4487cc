// Command faultline is the whole tool in one binary: it runs store nodes, drives tests against
// them, checks histories and manages runs. Each subcommand lives in its own file.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// Exit codes, everywhere a verdict is given (DESIGN.md).
const (
	exitValid     = 0 // the history is valid / the command succeeded
	exitInvalid   = 1 // an anomaly was found
	exitUnknown   = 2 // a checker gave up (e.g. timed out)
	exitCannotRun = 3 // bad flags, no engine, broken input
)

// appEnv is what every subcommand gets: the logger (configured by the global flags before any
// action runs) and the output streams.
type appEnv struct {
	log    zerolog.Logger
	stdout io.Writer
	stderr io.Writer
}

func newApp(env *appEnv) *cli.App {
	return &cli.App{
		Name:  "faultline",
		Usage: "fault-injection testing for replicated stores, with its own reference store",
		Description: "Start a cluster, drive a workload, inject faults, check the history.\n" +
			"Exit codes: 0 valid, 1 invalid, 2 unknown, 3 could not run.",
		Writer:    env.stdout,
		ErrWriter: env.stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", EnvVars: []string{"FAULTLINE_LOG_LEVEL"}},
			&cli.StringFlag{Name: "log-format", Value: "console", Usage: "console or json"},
		},
		Before: func(c *cli.Context) error {
			lvl, err := zerolog.ParseLevel(strings.ToLower(c.String("log-level")))
			if err != nil || c.String("log-level") == "" {
				return cli.Exit(fmt.Sprintf("faultline: --log-level %q: want debug, info, warn or error", c.String("log-level")), exitCannotRun)
			}
			var w io.Writer
			switch c.String("log-format") {
			case "console":
				noColor := true
				if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					noColor = false
				}
				w = zerolog.ConsoleWriter{Out: env.stderr, TimeFormat: "15:04:05", NoColor: noColor}
			case "json":
				w = env.stderr
			default:
				return cli.Exit(fmt.Sprintf("faultline: --log-format %q: want console or json", c.String("log-format")), exitCannotRun)
			}
			env.log = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
			return nil
		},
		Commands: []*cli.Command{
			runCommand(env),
			checkCommand(env),
			nodeCommand(env),
			kvCommand(env),
			imageCommand(env),
			pruneCommand(env),
			compareCommand(env),
			replayCommand(env),
			suiteCommand(env),
			shrinkCommand(env),
			containerCommand(env),
			serveCommand(env),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides the exit code
	}
}

func main() {
	env := &appEnv{log: zerolog.Nop(), stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(runMain(env, os.Args))
}

// runMain runs the app and turns its error into an exit code: an error carrying a code keeps
// it, anything else (bad flags, broken input) is exitCannotRun.
func runMain(env *appEnv, args []string) int {
	err := newApp(env).Run(args)
	if err == nil {
		return exitValid
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(env.stderr, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(env.stderr, "faultline: %v\n", err)
	return exitCannotRun
}
