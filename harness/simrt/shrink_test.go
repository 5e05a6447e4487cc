package simrt

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/harness"
)

// lwwConfig is the calibration pair's invalid half: lww W=1 R=1 on 3 nodes under partitions
// (seed 3 is invalid).
func lwwConfig() harness.Config {
	cfg := harness.DefaultConfig()
	cfg.Nodes = 3
	cfg.Store.N, cfg.Store.W, cfg.Store.R = 3, 1, 1
	cfg.Store.Consistency = "lww"
	cfg.Nemesis = []string{"partition"}
	cfg.NemesisInterval = time.Second
	cfg.Time = 4 * time.Second
	cfg.Rate = 100
	cfg.Keys = 2
	cfg.Concurrency = 6
	cfg.Seed = 3
	return cfg
}

// TestScriptRepeatsRun: the ops a generated run started, run as a script, give the same
// history byte for byte; a script with ops removed runs only the ops left.
func TestScriptRepeatsRun(t *testing.T) {
	cfg := smallConfig()
	gen := simulate(t, cfg, Reference{})
	if gen.Script.Ops() == 0 {
		t.Fatal("the generated run started no ops")
	}
	out, err := Run(context.Background(), cfg, Options{Store: Reference{}, NoSave: true, Log: zerolog.Nop(), Script: gen.Script})
	if err != nil {
		t.Fatal(err)
	}
	if out.HistorySHA256 != gen.HistorySHA256 {
		t.Fatalf("scripted run: history %s, the generated run's %s: want equal", out.HistorySHA256, gen.HistorySHA256)
	}
	cut := append(gen.Script[:0:0], gen.Script...)
	cut[0] = nil
	out, err = Run(context.Background(), cfg, Options{Store: Reference{}, NoSave: true, Log: zerolog.Nop(), Script: cut})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Script.Ops(), gen.Script.Ops()-len(gen.Script[0]); got != want {
		t.Fatalf("script without worker 0's ops: %d ops started, want %d", got, want)
	}
}

// TestShrinkScenario: a failing lww W=1 R=1 run shrinks to a scenario with fewer fault events
// and fewer client ops that still fails with the same checkers, saved as a run folder whose
// scenario, run again, gives the saved history byte for byte.
func TestShrinkScenario(t *testing.T) {
	cfg := lwwConfig()
	out := filepath.Join(t.TempDir(), "shrunk")
	res, err := Shrink(context.Background(), cfg, ShrinkOptions{Store: Reference{}, Log: zerolog.Nop(), MaxRuns: 300, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("target %v: events %d -> %d, ops %d -> %d, time %s -> %s, %d runs in %s, incomplete %v",
		res.Target, res.EventsBefore, res.EventsAfter, res.OpsBefore, res.OpsAfter, res.TimeBefore, res.TimeAfter, res.Runs, res.Wall, res.Incomplete)
	for _, s := range res.Steps {
		t.Log(s)
	}
	if res.EventsAfter >= res.EventsBefore || res.OpsAfter >= res.OpsBefore {
		t.Fatalf("events %d -> %d, ops %d -> %d: want strictly fewer of both", res.EventsBefore, res.EventsAfter, res.OpsBefore, res.OpsAfter)
	}
	if !fails(res.Outcome.Results, res.Target) {
		t.Fatalf("the saved shrunk run is not invalid on %v: %v", res.Target, InvalidCheckers(res.Outcome.Results))
	}
	script, err := LoadScript(out)
	if err != nil || script.Ops() != res.OpsAfter {
		t.Fatalf("script.json: %d ops, %v: want %d", script.Ops(), err, res.OpsAfter)
	}
	again, err := Run(context.Background(), res.Config, Options{Store: Reference{}, NoSave: true, Log: zerolog.Nop(), Schedule: &res.Schedule, Script: script})
	if err != nil {
		t.Fatal(err)
	}
	if again.HistorySHA256 != res.Outcome.HistorySHA256 {
		t.Fatalf("the shrunk scenario again: history %s, saved %s: want equal", again.HistorySHA256, res.Outcome.HistorySHA256)
	}
}

// TestShrinkValid: a valid scenario (abd W=2 R=2) has nothing to shrink.
func TestShrinkValid(t *testing.T) {
	cfg := lwwConfig()
	cfg.Store.Consistency = "abd"
	cfg.Store.W, cfg.Store.R = 2, 2
	_, err := Shrink(context.Background(), cfg, ShrinkOptions{Store: Reference{}, Log: zerolog.Nop(), MaxRuns: 10})
	if !errors.Is(err, ErrNothingToShrink) {
		t.Fatalf("Shrink of abd W=2 R=2: %v, want ErrNothingToShrink", err)
	}
}

// TestDDMin: ddmin finds the two items a failure needs among 100, in far fewer tests than
// subsets, and stops at the budget with what it has.
func TestDDMin(t *testing.T) {
	needs := func(keep []int) bool {
		a, b := false, false
		for _, i := range keep {
			a, b = a || i == 17, b || i == 63
		}
		return a && b
	}
	s := &shrinker{res: &ShrinkResult{}}
	tests := 0
	keep, err := s.ddmin(100, func(keep []int) (bool, error) { tests++; return needs(keep), nil })
	if err != nil || len(keep) != 2 || keep[0] != 17 || keep[1] != 63 {
		t.Fatalf("ddmin: %v, %v: want [17 63]", keep, err)
	}
	if tests > 60 {
		t.Errorf("ddmin took %d tests, want at most 60", tests)
	}
	t.Logf("%d tests", tests)
	tests = 0
	keep, err = s.ddmin(100, func(keep []int) (bool, error) {
		if tests++; tests > 5 {
			return false, errBudget
		}
		return needs(keep), nil
	})
	if !errors.Is(err, errBudget) || !needs(keep) {
		t.Fatalf("ddmin stopped by the budget: %v, %v: want errBudget and a set that still fails", keep, err)
	}
}
