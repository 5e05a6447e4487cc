package harness_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/internal/testbin"
	"github.com/faultline/faultline/internal/wait"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets/reference"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "faultline-harness-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = testbin.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newLocal(t *testing.T) *local.Runtime {
	t.Helper()
	return newLocalWith(t, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
}

func newLocalWith(t testing.TB, log zerolog.Logger) *local.Runtime {
	t.Helper()
	if binary == "" {
		t.Skip("needs the faultline binary (not built in -short mode)")
	}
	cfg := local.DefaultConfig()
	cfg.Binary = binary
	cfg.Log = log
	rt, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// shortConfig is a short, seeded test on the local runtime.
func shortConfig(t *testing.T) harness.Config {
	cfg := harness.DefaultConfig()
	cfg.Nodes = 3
	cfg.Time = 6 * time.Second
	cfg.NemesisInterval = 2 * time.Second
	cfg.Rate = 150
	cfg.Keys = 3
	cfg.Concurrency = 6
	cfg.OpTimeout = 1500 * time.Millisecond
	cfg.QuiesceMax = 5 * time.Second
	cfg.CheckTimeout = 30 * time.Second
	cfg.Seed = 7
	cfg.ResultsRoot = t.TempDir()
	return cfg
}

// TestKnownBadAndGood runs the calibration pairs: configurations the theory says must fail
// are found invalid, and the ones that must hold are found valid.
func TestKnownBadAndGood(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	cases := []struct {
		name  string
		edit  func(*harness.Config)
		want  checker.Verdict
		check string // the checker whose verdict decides
	}{
		{
			name: "lww W=1 R=1 under partitions is not linearizable",
			edit: func(c *harness.Config) {
				c.Store.W, c.Store.R = 1, 1
				c.Nemesis = []string{"partition"}
			},
			want: checker.Invalid, check: "linearizable",
		},
		{
			name: "lww under clock skew loses updates even with W+R>N",
			edit: func(c *harness.Config) {
				c.Store.W, c.Store.R = 2, 2
				c.Nemesis = []string{"clock"}
				c.ClockMax = 3 * time.Second
			},
			want: checker.Invalid, check: "linearizable",
		},
		{
			name: "read-modify-write counter loses increments",
			edit: func(c *harness.Config) {
				c.Workload = "counter"
				c.Keys = 2
				c.Nemesis = []string{"partition"}
			},
			want: checker.Invalid, check: "lost-increments",
		},
		{
			name: "CRDT counter keeps every increment",
			edit: func(c *harness.Config) {
				c.Workload = "counter"
				c.CRDT = true
				c.Keys = 2
				c.Nemesis = []string{"partition"}
			},
			want: checker.Valid, check: "lost-increments",
		},
		{
			name: "abd W=2 R=2 stays linearizable under partitions, kills and pauses",
			edit: func(c *harness.Config) {
				c.Store.Consistency = "abd"
				c.Store.W, c.Store.R = 2, 2
				c.Nemesis = []string{"partition", "kill", "pause"}
			},
			want: checker.Valid, check: "linearizable",
		},
	}
	runtimes := []struct {
		name string
		make func(t *testing.T) harness.Runtime
	}{
		{"local", func(t *testing.T) harness.Runtime { return newLocal(t) }},
		{"docker", newDocker},
	}
	for _, rtc := range runtimes {
		for _, tc := range cases {
			t.Run(rtc.name+"/"+tc.name, func(t *testing.T) {
				knownVerdict(t, rtc.make(t), tc.edit, tc.check, tc.want)
			})
		}
	}
}

// knownVerdict runs one calibration case and checks the deciding checker's verdict.
func knownVerdict(t *testing.T, rt harness.Runtime, edit func(*harness.Config), check string, want checker.Verdict) {
	t.Helper()
	cfg := shortConfig(t)
	edit(&cfg)
	out, err := harness.Run(context.Background(), cfg, harness.Options{
		Runtime: rt, Target: reference.New(),
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rt.Name() == "docker" {
		dockertest.RequireNothingLeft(t, out.RunID)
	}
	r, ok := out.Results.Checkers[check]
	if !ok {
		t.Fatalf("no %s result in %v", check, out.Results.Checkers)
	}
	if r.Valid != want {
		t.Errorf("%s: got %v, want %v (ops %d, ok %d, fail %d, info %d, folder %s)",
			check, r.Valid, want, out.Ops, out.OK, out.Fail, out.Info, out.Dir)
	}
	if out.OK == 0 {
		t.Errorf("no client op succeeded: the test exercised nothing")
	}
}

// okOps counts the completed client ops in the history a run is writing under root.
func okOps(root string) int {
	m, _ := filepath.Glob(filepath.Join(root, "*", "*", report.HistoryFile))
	if len(m) != 1 {
		return 0
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(`"type":"ok"`))
}

// newDocker is the Docker runtime on the test's static binary; it skips (or, with
// FAULTLINE_REQUIRE_DOCKER=1, fails) where no engine answers.
func newDocker(t *testing.T) harness.Runtime {
	t.Helper()
	if binary == "" {
		t.Skip("needs the faultline binary (not built in -short mode)")
	}
	dockertest.Require(t)
	cfg := docker.DefaultConfig()
	cfg.Binary = binary
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	rt, err := docker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// TestInterrupt cancels a run midway (Ctrl-C), on each runtime: the folder is complete, the
// history checked, and nothing of the run is left (no node process; no container, network or
// volume of the run).
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	for _, tc := range []struct {
		name string
		rt   func(*testing.T) harness.Runtime
	}{{"local", func(t *testing.T) harness.Runtime { return newLocal(t) }}, {"docker", newDocker}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shortConfig(t)
			cfg.Time = time.Minute
			cfg.Nemesis = []string{"partition", "pause"}
			rt := tc.rt(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Interrupt once clients ops are being recorded (a fixed 3 s could end a slow start
			// before any op, and then "0 ops recorded" failed the test).
			waited := make(chan error, 1)
			ended := make(chan struct{})
			go func() {
				defer cancel()
				waited <- wait.Until(t, 2*time.Minute, func() (bool, string) {
					select {
					case <-ended: // the run stopped on its own; the checks below say how
						return true, ""
					default:
					}
					n := okOps(cfg.ResultsRoot)
					return n >= 20, fmt.Sprintf("%d ok ops in the history", n)
				})
			}()
			out, err := harness.Run(ctx, cfg, harness.Options{Runtime: rt, Target: reference.New(), Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
			close(ended)
			if werr := <-waited; werr != nil {
				t.Errorf("waiting for the run to record ops before interrupting it: %v", werr)
			}
			if err != harness.ErrInterrupted {
				t.Fatalf("got error %v, want ErrInterrupted", err)
			}
			if !out.Interrupted || out.Results == nil {
				t.Fatalf("got interrupted=%v results=%v, want a checked interrupted run", out.Interrupted, out.Results)
			}
			for _, f := range []string{report.ConfigFile, report.HistoryFile, report.ScheduleFile, report.NemesisFile,
				report.ResultsFile, report.StatsFile, filepath.Join(report.NodesDir, "n1.log")} {
				if st, err := os.Stat(filepath.Join(out.Dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("run folder: %s missing or empty (%v)", f, err)
				}
			}
			if out.Ops == 0 {
				t.Errorf("got 0 ops recorded before the interrupt, want some")
			}
			lr, isLocal := rt.(*local.Runtime)
			if !isLocal {
				dockertest.RequireNothingLeft(t, out.RunID)
				return
			}
			for id, pid := range lr.PIDs() {
				t.Errorf("node %s (pid %d) still running after the run", id, pid)
			}
			// The processes are really gone, not just forgotten.
			for _, pid := range lr.AllPIDs() {
				if err := syscall.Kill(pid, 0); err == nil {
					t.Errorf("pid %d still exists", pid)
				}
			}
		})
	}
}
