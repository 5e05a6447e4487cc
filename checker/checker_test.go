package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/rs/zerolog"
)

var update = flag.Bool("update", false, "rewrite the golden results in testdata/golden")

func load(t *testing.T, name string) []history.Op {
	t.Helper()
	f, err := history.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f.Ops
}

// TestGolden checks every hand-written history: the verdicts are asserted here, and the
// whole results document is compared with testdata/golden/<name>.json (-update rewrites it).
func TestGolden(t *testing.T) {
	V, I, U := Valid, Invalid, Unknown
	tests := []struct {
		file   string
		dumps  string
		checks []string
		want   Verdict
		each   map[string]Verdict // checker -> verdict
	}{
		{file: "reg-valid-sequential.jsonl", want: V, each: map[string]Verdict{Linearizable: V}},
		{file: "reg-valid-concurrent-writes.jsonl", want: V, each: map[string]Verdict{Linearizable: V}},
		{file: "reg-invalid-stale-read.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-valid-info-write.jsonl", want: V, each: map[string]Verdict{Linearizable: V}},
		{file: "reg-invalid-info-flipflop.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-valid-cas-fail.jsonl", want: V, each: map[string]Verdict{Linearizable: V}},
		{file: "reg-invalid-cas.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-invalid-never-written.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-invalid-siblings.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-invalid-nil-after-write.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "kv-one-bad-key.jsonl", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-jepsen-cas.edn", want: V, each: map[string]Verdict{Linearizable: V}},
		{file: "reg-jepsen-cas-bad.edn", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "reg-jepsen-log.txt", want: I, each: map[string]Verdict{Linearizable: I}},
		{file: "set-valid.jsonl", dumps: "set-valid.dumps.json", want: V, each: map[string]Verdict{LostUpdates: V, Convergence: V}},
		{file: "set-diverged.jsonl", dumps: "set-diverged.dumps.json", want: I, each: map[string]Verdict{LostUpdates: V, Convergence: I}},
		{file: "set-invalid-lost-add.jsonl", want: I, each: map[string]Verdict{LostUpdates: I, Convergence: U}},
		{file: "set-invalid-unexpected.jsonl", want: I, each: map[string]Verdict{LostUpdates: I}},
		{file: "set-valid-stale.jsonl", want: V, each: map[string]Verdict{LostUpdates: V}},
		{file: "counter-valid.jsonl", want: V, each: map[string]Verdict{LostIncrements: V, CounterBounds: V}},
		{file: "counter-invalid-lost.jsonl", want: I, each: map[string]Verdict{LostIncrements: I, CounterBounds: I}},
		{file: "counter-bounds-violated-final-ok.jsonl", want: V, each: map[string]Verdict{LostIncrements: V, CounterBounds: I}},
		{file: "counter-bounds-violated-final-ok.jsonl", checks: []string{CounterBounds}, want: I, each: map[string]Verdict{CounterBounds: I}},
		{file: "counter-subset-sum.jsonl", want: V, each: map[string]Verdict{LostIncrements: V}},
		{file: "counter-invalid-subset-sum.jsonl", want: I, each: map[string]Verdict{LostIncrements: I}},
		{file: "counter-jepsen-add.edn", want: V, each: map[string]Verdict{LostIncrements: V, CounterBounds: V}}, // Jepsen's counter: :f :add
		{file: "set-valid.jsonl", checks: []string{Convergence}, want: U, each: map[string]Verdict{Convergence: U}},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.file, filepath.Ext(tt.file))
		if len(tt.checks) > 0 {
			name += "+" + strings.Join(tt.checks, "+")
		}
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Checks = tt.checks
			cfg.Log = zerolog.New(zerolog.NewTestWriter(t))
			if tt.dumps != "" {
				d, err := history.ReadDumps(filepath.Join("testdata", tt.dumps))
				if err != nil {
					t.Fatal(err)
				}
				cfg.Dumps = d
			}
			res, err := Check(context.Background(), load(t, tt.file), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var sum bytes.Buffer
			res.Summary(&sum)
			if res.Valid != tt.want {
				t.Errorf("verdict: got %s, want %s\n%s", res.Valid, tt.want, sum.String())
			}
			for c, want := range tt.each {
				r, ok := res.Checkers[c]
				if !ok {
					t.Errorf("%s: not computed", c)
					continue
				}
				if r.Valid != want {
					t.Errorf("%s: got %s, want %s\n%s", c, r.Valid, want, sum.String())
				}
			}
			if want := map[Verdict]int{Valid: 0, Invalid: 1, Unknown: 2}[tt.want]; res.ExitCode() != want {
				t.Errorf("exit code: got %d, want %d", res.ExitCode(), want)
			}
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("results differ from %s (go test -update rewrites it)\ngot:\n%s", path, got)
			}
		})
	}
}

func TestExplanationNamesTheOp(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the explanation
	}{
		{"reg-invalid-stale-read.jsonl", []string{"process 1 read -> 1", "line 5"}},
		{"reg-invalid-never-written.jsonl", []string{"read -> 7", "no operation ever wrote 7"}},
		{"reg-invalid-siblings.jsonl", []string{"2 siblings"}},
		{"kv-one-bad-key.jsonl", []string{"key b:", "read b -> 1"}},
		{"reg-invalid-cas.jsonl", []string{"cas [2,3]", "value 2 it compared against"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg := DefaultConfig()
			res, err := Check(context.Background(), load(t, tt.file), cfg)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(res.Checkers[Linearizable].Explanation, "\n")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("explanation %q: want it to contain %q", text, w)
				}
			}
		})
	}
}

func TestVisualizationWithNemesis(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.OutDir = dir
	res, err := Check(context.Background(), load(t, "reg-invalid-never-written.jsonl"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "linearizability.html"); res.Visualization != want {
		t.Fatalf("visualization: got %q, want %q", res.Visualization, want)
	}
	b, err := os.ReadFile(res.Visualization)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"start-partition", "grudge n1 | n2,n3"} {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("visualization lacks the nemesis annotation %q", w)
		}
	}
	var sum bytes.Buffer
	res.Summary(&sum)
	if !strings.Contains(sum.String(), "visualization: "+res.Visualization) {
		t.Errorf("summary does not say where the visualization is:\n%s", sum.String())
	}
}

func TestTimeBudgetGivesUnknown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timeout = time.Nanosecond
	res, err := Check(context.Background(), load(t, "reg-valid-info-write.jsonl"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != Unknown || res.Checkers[Linearizable].Valid != Unknown {
		t.Errorf("got %s (linearizable %s), want unknown: a spent budget is never valid", res.Valid, res.Checkers[Linearizable].Valid)
	}
	if res.ExitCode() != 2 {
		t.Errorf("exit code: got %d, want 2", res.ExitCode())
	}
}

func TestStaleness(t *testing.T) {
	res, err := Check(context.Background(), load(t, "reg-invalid-stale-read.jsonl"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := res.Checkers[Staleness]
	d := r.Details.(*StalenessDetails)
	if d.Reads != 1 || d.Stale != 1 || d.MaxBehind != 1 || d.Worst == nil || d.Worst.SinceNewest != 10 {
		t.Errorf("got %+v, want 1 read, 1 stale, 1 behind, begun 10ns after the newest write", d)
	}
	if r.Decides {
		t.Errorf("staleness decides: got true, want false")
	}
}

func TestCheckErrors(t *testing.T) {
	good := load(t, "reg-valid-sequential.jsonl")
	tests := []struct {
		name string
		ops  []history.Op
		cfg  func(*Config)
		want string
	}{
		{"bad model", good, func(c *Config) { c.Model = "graph" }, `model "graph"`},
		{"bad check", good, func(c *Config) { c.Checks = []string{"serializable"} }, `check "serializable"`},
		{"bad workload", good, func(c *Config) { c.Workload = "queue" }, `workload "queue"`},
		{"negative timeout", good, func(c *Config) { c.Timeout = -time.Second }, "timeout (-1s)"},
		{"malformed history", good[1:], func(*Config) {}, "without an invocation"},
		{"register model with keys", load(t, "kv-one-bad-key.jsonl"), func(c *Config) { c.Model = ModelRegister }, "has 2 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			_, err := Check(context.Background(), tt.ops, cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestReachable(t *testing.T) {
	tests := []struct {
		deltas []int64
		target int64
		want   bool
		method string
	}{
		{nil, 0, true, "range"},
		{nil, 1, false, "range"},
		{[]int64{1, 1, 1}, 2, true, "range"},
		{[]int64{1, 1, 1}, 4, false, "range"},
		{[]int64{3, 3, 3}, 6, true, "multiple"},
		{[]int64{3, 3, 3}, 5, false, "multiple"},
		{[]int64{3, 7}, 7, true, "subset-sum"},
		{[]int64{3, 7}, 6, false, "subset-sum"},
		{[]int64{3, 7, 7, 7, 2}, 23, true, "subset-sum"},
		{[]int64{-2, 5}, 3, true, "subset-sum"},
		{[]int64{-2, 5}, 1, false, "subset-sum"},
		{[]int64{-2, 5}, -2, true, "subset-sum"},
		{[]int64{100, 1 << 40}, 100, false, "undecided"},
	}
	for _, tt := range tests {
		ok, method := reachable(tt.deltas, tt.target)
		if method != tt.method || (method != "undecided" && ok != tt.want) {
			t.Errorf("reachable(%v, %d): got %v by %s, want %v by %s", tt.deltas, tt.target, ok, method, tt.want, tt.method)
		}
	}
}

func TestVerdictJSON(t *testing.T) {
	for v, want := range map[Verdict]string{Valid: "true", Invalid: "false", Unknown: `"unknown"`} {
		b, err := json.Marshal(v)
		if err != nil || string(b) != want {
			t.Errorf("marshal %s: got %s (%v), want %s", v, b, err, want)
		}
		var back Verdict
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Errorf("unmarshal %s: got %s (%v), want %s", b, back, err, v)
		}
	}
	if got := Worse(Valid, Unknown); got != Unknown {
		t.Errorf("Worse(valid, unknown): got %s, want unknown", got)
	}
	if got := Worse(Invalid, Unknown); got != Invalid {
		t.Errorf("Worse(invalid, unknown): got %s, want invalid", got)
	}
}

func TestConvergence(t *testing.T) {
	tests := []struct {
		name      string
		dumps     history.Dumps
		want      Verdict
		divergent int
	}{
		{"agree", history.Dumps{"n1": {"a": history.Int(1)}, "n2": {"a": history.Int(1)}}, Valid, 0},
		{"siblings in any order", history.Dumps{"n1": {"a": history.List(2, 1)}, "n2": {"a": history.List(1, 2)}}, Valid, 0},
		{"differ", history.Dumps{"n1": {"a": history.Int(1)}, "n2": {"a": history.Int(2)}}, Invalid, 1},
		{"held with no value", history.Dumps{"n1": {"a": history.Int(1)}, "n2": {"a": history.Nil()}}, Invalid, 1},
		{"not a replica", history.Dumps{"n1": {"a": history.Int(1), "b": history.Int(1)}, "n2": {"b": history.Int(1)}}, Valid, 0},
		{"no nodes", history.Dumps{}, Unknown, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := checkConvergence(tt.dumps, true)
			if r.Valid != tt.want {
				t.Errorf("got %s, want %s (%v)", r.Valid, tt.want, r.Explanation)
			}
			if d, ok := r.Details.(*ConvergenceDetails); ok && d.Divergent != tt.divergent {
				t.Errorf("divergent: got %d, want %d", d.Divergent, tt.divergent)
			}
		})
	}
}

// TestJepsenEtcdLogs checks raw Jepsen logs of etcd with the verdicts Knossos-era tools gave
// them (as asserted by porcupine's tests): same verdict there and here.
func TestJepsenEtcdLogs(t *testing.T) {
	tests := []struct {
		file string
		want Verdict
	}{
		{"etcd_000.log", Invalid},
		{"etcd_001.log", Invalid},
		{"etcd_002.log", Valid},
		{"etcd_003.log", Invalid},
		{"etcd_005.log", Valid},
		{"etcd_007.log", Valid},
		{"etcd_099.log", Invalid},
		{"etcd_100.log", Valid},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := history.ReadFile(filepath.Join("testdata", "jepsen", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != history.FormatText {
				t.Errorf("format: got %s, want jepsen-txt", f.Format)
			}
			res, err := Check(context.Background(), f.Ops, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Checkers[Linearizable].Valid; got != tt.want {
				t.Errorf("got %s, want %s: %v", got, tt.want, res.Checkers[Linearizable].Explanation)
			}
		})
	}
}

// TestNemesisOnlyHistory: a history of nemesis ops and no client operation is linearizable
// (Knossos and Porcupine both say so): the register verdict is valid and says why. The set and
// counter checkers judge final reads, and there are none: unknown. With no op at all there is
// nothing to judge: unknown.
func TestNemesisOnlyHistory(t *testing.T) {
	nemesisOnly := []history.Op{
		{Index: 0, Time: 1, Process: history.NemesisProcess, Type: history.Info, F: "start-partition"},
		{Index: 1, Time: 2, Process: history.NemesisProcess, Type: history.Info, F: "stop-partition"},
	}
	tests := []struct {
		workload string
		ops      []history.Op
		want     Verdict
		say      string
	}{
		{WorkloadRegister, nemesisOnly, Valid, "no client operation"},
		{"", nemesisOnly, Valid, "no client operation"},
		{WorkloadSet, nemesisOnly, Unknown, ""},
		{WorkloadCounter, nemesisOnly, Unknown, ""},
		{WorkloadRegister, nil, Unknown, "nothing to check"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d-ops", tt.workload, len(tt.ops)), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload = tt.workload
			res, err := Check(context.Background(), tt.ops, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Valid != tt.want {
				t.Errorf("got %s, want %s", res.Valid, tt.want)
			}
			if lin := res.Checkers[Linearizable]; tt.say != "" && (lin == nil || !strings.Contains(strings.Join(lin.Explanation, "\n"), tt.say)) {
				t.Errorf("linearizable: got %+v, want it to say %q", lin, tt.say)
			}
		})
	}
}

// An indeterminate write may take effect at any time after it was invoked, even after its info
// completion (a timed-out request still in flight, a hinted replica applying it later): a read
// of its value is not stale because an acknowledged write began after the info completion. The
// history is linearizable (write 2, then write 1 takes effect, then the read), so staleness
// must not count the read, just as porcupine accepts it.
func TestStalenessInfoWriteTakesEffectLate(t *testing.T) {
	ops := []history.Op{
		{Index: 0, Time: 0, Process: 0, Type: history.Invoke, F: history.FWrite, Value: history.Int(1)},
		{Index: 1, Time: 10, Process: 0, Type: history.Info, F: history.FWrite, Value: history.Int(1), Error: "timeout"},
		{Index: 2, Time: 20, Process: 1, Type: history.Invoke, F: history.FWrite, Value: history.Int(2)},
		{Index: 3, Time: 30, Process: 1, Type: history.OK, F: history.FWrite, Value: history.Int(2)},
		{Index: 4, Time: 40, Process: 2, Type: history.Invoke, F: history.FRead},
		{Index: 5, Time: 50, Process: 2, Type: history.OK, F: history.FRead, Value: history.Int(1)},
	}
	res, err := Check(context.Background(), ops, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Checkers[Linearizable].Valid; v != Valid {
		t.Fatalf("linearizable: got %s, want valid", v)
	}
	d := res.Checkers[Staleness].Details.(*StalenessDetails)
	if d.Reads != 1 || d.Stale != 0 || d.MaxBehind != 0 || d.Worst != nil {
		t.Errorf("staleness: got %d of %d reads stale, %d behind, want 0 of 1: the info write of 1 may have taken effect after the write of 2", d.Stale, d.Reads, d.MaxBehind)
	}
}

// TestNoExplainVerdictOnly: a sweep's check gives the same verdict without the explanation's
// second porcupine search or linearizability.html, and says how to get them.
func TestNoExplainVerdictOnly(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.OutDir = dir
	cfg.NoExplain = true
	res, err := Check(context.Background(), load(t, "reg-invalid-never-written.jsonl"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != Invalid || res.Checkers[Linearizable].Valid != Invalid {
		t.Fatalf("got %s (linearizable %s), want invalid", res.Valid, res.Checkers[Linearizable].Valid)
	}
	if res.Visualization != "" {
		t.Errorf("visualization %q written with NoExplain", res.Visualization)
	}
	if _, err := os.Stat(filepath.Join(dir, "linearizability.html")); err == nil {
		t.Error("linearizability.html written with NoExplain")
	}
	if ex := res.Checkers[Linearizable].Explanation; !strings.Contains(strings.Join(ex, "\n"), NoExplainNote) {
		t.Errorf("explanation does not say it was skipped: %q", ex)
	}
}
