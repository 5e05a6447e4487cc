package simrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/report"
)

var update = flag.Bool("update", false, "rewrite the golden hashes in testdata")

// smallConfig is a short run with every fault kind, seed 7.
func smallConfig() harness.Config {
	cfg := harness.DefaultConfig()
	cfg.Time = 3 * time.Second
	cfg.NemesisInterval = time.Second
	cfg.Nemesis = []string{"partition", "kill", "pause", "clock", "delay", "loss"}
	cfg.Seed = 7
	cfg.QuiesceMax = 2 * time.Second
	return cfg
}

func simulate(t testing.TB, cfg harness.Config, st Store) *Outcome {
	t.Helper()
	out, err := Run(context.Background(), cfg, Options{Store: st, NoSave: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeterministic: the same config and seed give the same history, byte for byte (and the
// same trace); another seed gives another history.
func TestDeterministic(t *testing.T) {
	cfg := smallConfig()
	a, b := simulate(t, cfg, toyStore{}), simulate(t, cfg, toyStore{})
	t.Logf("seed %d: %d ops (ok %d, fail %d, info %d), %d faults, %s virtual in %s (%.0fx), %d events, history %s", cfg.Seed, a.Ops, a.OK, a.Fail, a.Info, len(a.Faults), a.Virtual, a.Wall, a.Speed(), a.Fired, a.HistorySHA256[:12])
	if a.Ops == 0 || a.OK == 0 {
		t.Fatalf("got %d ops, %d ok: want a history with successful ops", a.Ops, a.OK)
	}
	if a.HistorySHA256 != b.HistorySHA256 || a.TraceSHA256 != b.TraceSHA256 {
		t.Fatalf("two runs of seed %d: history %s vs %s, trace %s vs %s: want equal", cfg.Seed,
			a.HistorySHA256, b.HistorySHA256, a.TraceSHA256, b.TraceSHA256)
	}
	cfg.Seed++
	if c := simulate(t, cfg, toyStore{}); c.HistorySHA256 == a.HistorySHA256 {
		t.Fatalf("seeds %d and %d gave the same history %s: want different", cfg.Seed-1, cfg.Seed, c.HistorySHA256)
	}
}

// TestGOMAXPROCS: the history does not depend on how many threads the Go runtime has.
func TestGOMAXPROCS(t *testing.T) {
	cfg := smallConfig()
	prev := runtime.GOMAXPROCS(1)
	one := simulate(t, cfg, toyStore{})
	runtime.GOMAXPROCS(2)
	two := simulate(t, cfg, toyStore{})
	runtime.GOMAXPROCS(prev)
	if one.HistorySHA256 != two.HistorySHA256 {
		t.Fatalf("GOMAXPROCS 1: %s, 2: %s: want equal", one.HistorySHA256, two.HistorySHA256)
	}
}

// golden compares got with the hash in testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if w := strings.TrimSpace(string(want)); got != w {
		t.Fatalf("history sha256 %s, want %s (%s): the simulation of a fixed seed changed; if on purpose, rerun with -update", got, w, path)
	}
}

// TestGoldenToy pins the harness half of a simulated run (workers, nemesis, network, disks) on
// the stand-in store: any change to what a seed does shows here.
func TestGoldenToy(t *testing.T) {
	golden(t, "golden-toy.sha256", simulate(t, smallConfig(), toyStore{}).HistorySHA256)
}

// TestRunFolder: a saved simulated run has the run folder of any run, with runtime sim in its
// config and the history's hash equal to the file's.
func TestRunFolder(t *testing.T) {
	cfg := smallConfig()
	cfg.ResultsRoot = t.TempDir()
	cfg.Sim = harness.SimConfig{Duplicate: 0.01, Reorder: true}
	out, err := Run(context.Background(), cfg, Options{Store: toyStore{}, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{report.ConfigFile, report.HistoryFile, report.ScheduleFile, report.NemesisFile,
		report.ResultsFile, report.StatsFile, report.DumpsFile, EventsFile, report.HTMLFile} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
			t.Errorf("run folder: %v", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out.Dir, report.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != out.HistorySHA256 {
		t.Fatalf("history.jsonl sha256 %x, outcome says %s: want equal", sum, out.HistorySHA256)
	}
	var doc struct {
		Runtime string `json:"runtime"`
		Seed    int64  `json:"seed"`
	}
	cb, _ := os.ReadFile(filepath.Join(out.Dir, report.ConfigFile))
	if err := json.Unmarshal(cb, &doc); err != nil || doc.Runtime != Name || doc.Seed != cfg.Seed {
		t.Fatalf("config.json: runtime %q seed %d (%v), want %q %d", doc.Runtime, doc.Seed, err, Name, cfg.Seed)
	}
	if out.Results == nil {
		t.Fatal("no results")
	}
	loaded, err := harness.LoadConfig(out.Dir)
	if err != nil || loaded.Seed != cfg.Seed || loaded.Sim != cfg.Sim {
		t.Fatalf("LoadConfig: seed %d, sim %+v, %v; want %d, %+v", loaded.Seed, loaded.Sim, err, cfg.Seed, cfg.Sim)
	}
}

// TestReferenceDeterministic: the reference store's own core under every fault kind gives the
// same history twice, at GOMAXPROCS 1 and 2, and the golden one for its fixed seed.
func TestReferenceDeterministic(t *testing.T) {
	for _, cons := range []string{"lww", "vclock", "abd"} {
		t.Run(cons, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Store.Consistency = cons
			prev := runtime.GOMAXPROCS(1)
			a := simulate(t, cfg, Reference{})
			runtime.GOMAXPROCS(2)
			b := simulate(t, cfg, Reference{})
			runtime.GOMAXPROCS(prev)
			t.Logf("%s seed %d: %d ops (ok %d, fail %d, info %d), %d faults, %d store events, %s virtual in %s (%.0fx)",
				cons, cfg.Seed, a.Ops, a.OK, a.Fail, a.Info, len(a.Faults), a.Events, a.Virtual, a.Wall, a.Speed())
			if a.OK == 0 {
				t.Fatalf("no op succeeded: want a working cluster")
			}
			if a.HistorySHA256 != b.HistorySHA256 || a.TraceSHA256 != b.TraceSHA256 {
				t.Fatalf("GOMAXPROCS 1 then 2: history %s vs %s, trace %s vs %s: want equal",
					a.HistorySHA256, b.HistorySHA256, a.TraceSHA256, b.TraceSHA256)
			}
			golden(t, "golden-"+cons+".sha256", a.HistorySHA256)
		})
	}
}

// TestFsyncNever: the simulated disk loses unsynced writes in a crash, so under --fsync never a
// crashed node loses adds it acknowledged (one replica per key, W=1: nothing else holds them),
// and under --fsync always it loses none.
func TestFsyncNever(t *testing.T) {
	for _, tt := range []struct {
		fsync string
		want  checker.Verdict
	}{{"never", checker.Invalid}, {"always", checker.Valid}} {
		t.Run(tt.fsync, func(t *testing.T) {
			cfg := harness.DefaultConfig()
			cfg.Workload, cfg.CRDT = "set", true
			cfg.Store.N, cfg.Store.W, cfg.Store.R = 1, 1, 1
			cfg.Store.Fsync = tt.fsync
			cfg.Nemesis = []string{"kill"}
			cfg.NemesisInterval, cfg.Time, cfg.Seed = 2*time.Second, 10*time.Second, 3
			cfg.ResultsRoot = t.TempDir()
			out, err := Run(context.Background(), cfg, Options{Store: Reference{}, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results.Checkers[checker.LostUpdates]
			if r == nil || r.Valid != tt.want {
				t.Fatalf("fsync %s: lost-updates %+v, want %s", tt.fsync, r, tt.want)
			}
		})
	}
}

// TestDuplicateReorder: duplicated and reordered messages change the run, and it stays a
// function of its seed.
func TestDuplicateReorder(t *testing.T) {
	cfg := smallConfig()
	plain := simulate(t, cfg, Reference{})
	cfg.Sim = harness.SimConfig{Duplicate: 0.05, Reorder: true}
	a, b := simulate(t, cfg, Reference{}), simulate(t, cfg, Reference{})
	if a.HistorySHA256 != b.HistorySHA256 {
		t.Fatalf("with duplication and reordering, two runs: %s vs %s: want equal", a.HistorySHA256, b.HistorySHA256)
	}
	if a.Net.Duplicated == 0 || a.HistorySHA256 == plain.HistorySHA256 {
		t.Fatalf("duplicated %d messages, history %s (plain %s): want some, and another history", a.Net.Duplicated, a.HistorySHA256, plain.HistorySHA256)
	}
}

// TestInterrupted: a cancelled context stops the clients at once; the run is still healed,
// saved and checked, and says it was interrupted.
func TestInterrupted(t *testing.T) {
	cfg := smallConfig()
	cfg.ResultsRoot = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := Run(ctx, cfg, Options{Store: Reference{}, Log: zerolog.Nop()})
	if !errors.Is(err, harness.ErrInterrupted) || out == nil || !out.Interrupted || out.Results == nil {
		t.Fatalf("got %+v, %v; want an interrupted, checked run and harness.ErrInterrupted", out, err)
	}
	if out.OK > 0 {
		t.Fatalf("%d ops ok after an interrupt at time 0: want none", out.OK)
	}
}

// TestReplayMultileaderRing: a multi-leader run's config.json keeps its conflict mode and
// topology, so the config loaded from the run folder (what replay runs) gives the same
// history, byte for byte.
func TestReplayMultileaderRing(t *testing.T) {
	cfg := smallConfig()
	cfg.Store.Mode, cfg.Store.Conflict, cfg.Store.Topology = "multileader", "crdt", "ring"
	cfg.Workload, cfg.CRDT = "set", true
	cfg.Nemesis = []string{"partition"}
	cfg.ResultsRoot = t.TempDir()
	out, err := Run(context.Background(), cfg, Options{Store: Reference{}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := harness.LoadConfig(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Store.Conflict != "crdt" || loaded.Store.Topology != "ring" {
		t.Fatalf("config.json loads conflict %q, topology %q; want crdt, ring", loaded.Store.Conflict, loaded.Store.Topology)
	}
	if again := simulate(t, loaded, Reference{}); again.HistorySHA256 != out.HistorySHA256 {
		t.Fatalf("replay from config.json: history %s, the run's %s: want equal", again.HistorySHA256, out.HistorySHA256)
	}
}

// TestMultileaderSetsWithoutFaults: with no faults, CRDT adds under --conflict crdt are never
// lost, on any seed; under --conflict lww a set is one last-writer-wins record, so concurrent
// adds from two leaders lose one (by design, not a bug), and events.jsonl says so
// (ml_superseded).
func TestMultileaderSetsWithoutFaults(t *testing.T) {
	for _, tt := range []struct {
		conflict string
		want     checker.Verdict
	}{{"crdt", checker.Valid}, {"lww", checker.Invalid}} {
		for seed := int64(1); seed <= 3; seed++ {
			cfg := harness.DefaultConfig()
			cfg.Store.Mode, cfg.Store.Conflict = "multileader", tt.conflict
			cfg.Workload, cfg.CRDT = "set", true
			cfg.Nemesis, cfg.Time, cfg.Seed = nil, 3*time.Second, seed
			cfg.ResultsRoot = t.TempDir()
			out, err := Run(context.Background(), cfg, Options{Store: Reference{}, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results.Checkers[checker.LostUpdates]
			if r == nil || r.Valid != tt.want {
				t.Errorf("conflict %s seed %d: lost-updates %+v, want %s", tt.conflict, seed, r, tt.want)
			}
			if tt.want == checker.Invalid && superseded(t, out.Dir) == 0 {
				t.Errorf("conflict %s seed %d: adds lost, and no ml_superseded event says why", tt.conflict, seed)
			}
		}
	}
}

// superseded counts the ml_superseded events in a run folder's events.jsonl.
func superseded(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), `"kind":"ml_superseded"`)
}
