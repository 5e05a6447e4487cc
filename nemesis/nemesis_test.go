package nemesis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

var update = flag.Bool("update", false, "rewrite the golden schedules in testdata/")

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec    string
		want    string // FormatSpec of the result
		wantErr string
	}{
		{"none", "none", ""},
		{"all", "all", ""},
		{" ALL ", "all", ""},
		{"partition", "partition", ""},
		{"kill,partition", "partition,kill", ""},
		{"loss, delay ,loss", "delay,loss", ""},
		{"partition,kill,pause,clock,delay,loss", "all", ""},
		{"", "", "empty fault spec"},
		{"partition,", "", "empty item"},
		{"none,kill", "", `"none" cannot be combined`},
		{"all,kill", "", `"all" cannot be combined`},
		{"partiton", "", `unknown fault "partiton"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseSpec(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if s := FormatSpec(got); s != tt.want {
				t.Fatalf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"none", "all", "partition", "kill,pause", " clock , delay,loss", "", ",", "all,none", "Kill"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kinds, err := ParseSpec(s)
		if err != nil {
			if kinds != nil {
				t.Fatalf("ParseSpec(%q) returned kinds %v with error %v", s, kinds, err)
			}
			return
		}
		for i, k := range kinds {
			if !k.Valid() {
				t.Fatalf("ParseSpec(%q) gave invalid kind %q", s, k)
			}
			if i > 0 && slices.Index(AllKinds(), kinds[i-1]) >= slices.Index(AllKinds(), k) {
				t.Fatalf("ParseSpec(%q) = %v: not distinct in canonical order", s, kinds)
			}
		}
		back, err := ParseSpec(FormatSpec(kinds))
		if err != nil || !slices.Equal(back, kinds) {
			t.Fatalf("round trip of %q: got %v, %v; want %v", s, back, err, kinds)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default", DefaultConfig(), ""},
		{"no faults", mod(func(c *Config) { c.Faults = nil }), ""},
		{"one node kill", mod(func(c *Config) { c.Faults, c.Nodes = []Kind{Kill, Pause, Clock}, []string{"n1"} }), ""},
		{"unknown fault", mod(func(c *Config) { c.Faults = []Kind{"flood"} }), `unknown fault "flood"`},
		{"twice", mod(func(c *Config) { c.Faults = []Kind{Kill, Kill} }), `"kill" listed twice`},
		{"no nodes", mod(func(c *Config) { c.Nodes = nil }), "Nodes is empty"},
		{"dup node", mod(func(c *Config) { c.Nodes = []string{"n1", "n1"} }), `node "n1" listed twice`},
		{"one node partition", mod(func(c *Config) { c.Nodes = []string{"n1"} }), "at least 2 nodes, have 1"},
		{"interval", mod(func(c *Config) { c.Interval = time.Millisecond }), "Interval (1ms)"},
		{"duration", mod(func(c *Config) { c.Duration = 0 }), "Duration (0s)"},
		{"clock max", mod(func(c *Config) { c.ClockMax = 0 }), "ClockMax (0s)"},
		{"clock max unused", mod(func(c *Config) { c.ClockMax, c.Faults = 0, []Kind{Kill} }), ""},
		{"delay max", mod(func(c *Config) { c.DelayMax = 0 }), "DelayMax (0s)"},
		{"loss max", mod(func(c *Config) { c.LossMax = 1.5 }), "LossMax (1.5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.cfg)
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if fmt.Sprint(tt.cfg) != before {
				t.Fatalf("Validate changed the config")
			}
		})
	}
}

// goldenConfigs are the configs whose schedules are kept in testdata/.
func goldenConfigs() map[string]Config {
	out := map[string]Config{}
	for _, seed := range []int64{1, 2, 3} {
		c := DefaultConfig()
		c.Seed = seed
		out[fmt.Sprintf("all-5nodes-seed%d", seed)] = c
	}
	c := DefaultConfig()
	c.Faults, c.Nodes, c.Seed, c.Duration = []Kind{Partition}, []string{"n1", "n2", "n3"}, 7, 60*time.Second
	out["partition-3nodes-seed7"] = c
	c = DefaultConfig()
	c.Faults, c.Seed, c.Interval, c.Duration = []Kind{Clock}, 4, 2*time.Second, 20*time.Second
	out["clock-5nodes-seed4"] = c
	return out
}

func TestGolden(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			s, err := Generate(cfg)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			got, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./nemesis -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("schedule of %s differs from %s (rerun with -update if intended):\n%s", name, path, got)
			}
			var back Schedule
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatalf("unmarshal golden: %v", err)
			}
			if !reflect.DeepEqual(back, s) {
				t.Fatalf("JSON round trip changed the schedule:\ngot  %+v\nwant %+v", back, s)
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	a, _ := Generate(cfg)
	b, _ := Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two schedules of the same config differ")
	}
	cfg.Seed = 99
	c, _ := Generate(cfg)
	if reflect.DeepEqual(a.Events, c.Events) {
		t.Fatalf("seeds 1 and 99 gave the same events")
	}
}

func TestGenerateNone(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = []Kind{}
	s, err := Generate(cfg)
	if err != nil || len(s.Events) != 0 {
		t.Fatalf("got %d events, %v; want none", len(s.Events), err)
	}
}

// TestScheduleProperties checks many generated schedules: sorted, inside the run, every fault
// stopped, never more than a minority of nodes down, and a recovery window between faults.
func TestScheduleProperties(t *testing.T) {
	for n := 1; n <= 7; n++ {
		for seed := range int64(30) {
			cfg := DefaultConfig()
			cfg.Seed, cfg.Duration = seed, 60*time.Second
			cfg.Nodes = nil
			for i := 1; i <= n; i++ {
				cfg.Nodes = append(cfg.Nodes, fmt.Sprintf("n%d", i))
			}
			if n < 2 {
				cfg.Faults = []Kind{Kill, Pause, Clock}
			}
			s, err := Generate(cfg)
			if err != nil {
				t.Fatalf("n=%d seed=%d: %v", n, seed, err)
			}
			checkSchedule(t, cfg, s)
		}
	}
}

func checkSchedule(t *testing.T, cfg Config, s Schedule) {
	t.Helper()
	name := fmt.Sprintf("n=%d seed=%d", len(cfg.Nodes), cfg.Seed)
	minority := max(1, (len(cfg.Nodes)-1)/2)
	down := map[string]bool{}
	active := map[Kind]bool{}
	kinds := map[Kind]int{}
	var lastStop time.Duration = -1
	for i, e := range s.Events {
		if i > 0 && e.At < s.Events[i-1].At {
			t.Fatalf("%s: event %d at %s before event %d at %s", name, i, e.At, i-1, s.Events[i-1].At)
		}
		if e.At < 0 || e.At > cfg.Duration {
			t.Fatalf("%s: event at %s outside the run (0..%s)", name, e.At, cfg.Duration)
		}
		if e.Node != "" && !slices.Contains(cfg.Nodes, e.Node) {
			t.Fatalf("%s: event on unknown node %q", name, e.Node)
		}
		switch e.F {
		case FKill, FPause:
			down[e.Node] = true
			if len(down) > minority {
				t.Fatalf("%s: %d nodes down at %s, want at most %d", name, len(down), e.At, minority)
			}
		case FRestart, FResume:
			if !down[e.Node] {
				t.Fatalf("%s: %s of %s which is not down", name, e.F, e.Node)
			}
			delete(down, e.Node)
		}
		starting := e.F == FStartPartition || e.F == FKill || e.F == FPause || e.F == FStartDelay || e.F == FStartLoss ||
			(e.F == FClockBump && !active[Clock])
		stopping := e.F == FStopPartition || e.F == FRestart || e.F == FResume || e.F == FStopDelay || e.F == FStopLoss || e.F == FClockReset
		if starting && !active[e.Kind] {
			for k, on := range active {
				if on {
					t.Fatalf("%s: %s starts at %s while %s is active", name, e.Kind, e.At, k)
				}
			}
			if lastStop >= 0 && e.At-lastStop < cfg.Interval/5 {
				t.Fatalf("%s: only %s of recovery before %s at %s", name, e.At-lastStop, e.F, e.At)
			}
			kinds[e.Kind]++
			active[e.Kind] = true
		}
		if stopping {
			lastStop = e.At
			if e.Kind == Kill || e.Kind == Pause {
				active[e.Kind] = len(down) > 0
			} else if e.Kind == Clock {
				active[Clock] = hasPendingReset(s.Events[i+1:], e.At)
			} else {
				active[e.Kind] = false
			}
		}
	}
	for k, on := range active {
		if on {
			t.Fatalf("%s: %s still active at the end of the schedule", name, k)
		}
	}
	if len(down) > 0 {
		t.Fatalf("%s: nodes still down at the end: %v", name, down)
	}
	slots := int(cfg.Duration / cfg.Interval)
	for _, k := range cfg.Faults {
		if kinds[k] < slots/len(cfg.Faults)-1 {
			t.Fatalf("%s: %s ran %d times in %d slots, want its turn about every %d slots", name, k, kinds[k], slots, len(cfg.Faults))
		}
	}
}

// hasPendingReset reports whether more clock resets follow at the same time (a bump of several
// nodes ends with one reset each).
func hasPendingReset(rest []Event, at time.Duration) bool {
	return len(rest) > 0 && rest[0].At == at && rest[0].F == FClockReset
}

// hears reports whether node a hears node b under grudge gr.
func hears(gr map[string][]string, a, b string) bool { return a == b || !slices.Contains(gr[a], b) }

func TestPartitionShapes(t *testing.T) {
	for n := 3; n <= 7; n++ {
		for seed := range int64(20) {
			cfg := DefaultConfig()
			cfg.Seed = seed
			cfg.Nodes = nil
			for i := 1; i <= n; i++ {
				cfg.Nodes = append(cfg.Nodes, fmt.Sprintf("n%d", i))
			}
			name := fmt.Sprintf("n=%d seed=%d", n, seed)
			g := &generator{cfg: cfg, rng: newTestRand(seed)}
			nodes := cfg.Nodes

			gr, detail := g.grudge(ShapeHalves)
			// Halves: two groups covering every node; within a group all hear, across none.
			same := func(a, b string) bool { return hears(gr, a, b) }
			var groupA, groupB []string
			for _, x := range nodes {
				if same(nodes[0], x) {
					groupA = append(groupA, x)
				} else {
					groupB = append(groupB, x)
				}
			}
			if len(groupA)+len(groupB) != n || len(groupB) == 0 || abs(len(groupA)-len(groupB)) > 1 {
				t.Fatalf("%s halves %s: got groups %v | %v, want two halves covering all nodes", name, detail, groupA, groupB)
			}
			for _, a := range groupA {
				for _, b := range groupB {
					if hears(gr, a, b) || hears(gr, b, a) {
						t.Fatalf("%s halves: %s and %s in different halves hear each other", name, a, b)
					}
				}
			}

			gr, detail = g.grudge(ShapeIsolate)
			var isolated []string
			for _, x := range nodes {
				if len(gr[x]) == n-1 {
					isolated = append(isolated, x)
				}
			}
			if len(isolated) != 1 {
				t.Fatalf("%s isolate %s: got isolated %v, want exactly one node", name, detail, isolated)
			}
			for _, x := range nodes {
				if x != isolated[0] && (len(gr[x]) != 1 || gr[x][0] != isolated[0]) {
					t.Fatalf("%s isolate: %s drops %v, want only %s", name, x, gr[x], isolated[0])
				}
			}

			gr, detail = g.grudge(ShapeRing)
			views := map[string]bool{}
			for _, x := range nodes {
				var view []string
				for _, y := range nodes {
					if hears(gr, x, y) {
						view = append(view, y)
					}
				}
				if len(view) <= n/2 {
					t.Fatalf("%s ring %s: %s sees %v, want a majority", name, detail, x, view)
				}
				key := strings.Join(view, ",")
				if views[key] {
					t.Fatalf("%s ring %s: two nodes see the same majority %s", name, detail, key)
				}
				views[key] = true
			}

			gr, detail = g.grudge(ShapeBridge)
			var bridges []string
			for _, x := range nodes {
				all := true
				for _, y := range nodes {
					all = all && hears(gr, x, y) && hears(gr, y, x)
				}
				if all {
					bridges = append(bridges, x)
				}
			}
			if len(bridges) != 1 {
				t.Fatalf("%s bridge %s: got bridge nodes %v, want exactly one node in both halves", name, detail, bridges)
			}
			cutPairs := 0
			for _, x := range nodes {
				cutPairs += len(gr[x])
			}
			if cutPairs == 0 {
				t.Fatalf("%s bridge %s: nothing cut", name, detail)
			}

			gr, detail = g.grudge(ShapeOneWay)
			asym := 0
			for _, x := range nodes {
				for _, y := range nodes {
					if hears(gr, x, y) && !hears(gr, y, x) {
						asym++
					}
					if !hears(gr, x, y) && !hears(gr, y, x) {
						t.Fatalf("%s one-way %s: %s and %s cut both ways", name, detail, x, y)
					}
				}
			}
			if asym == 0 {
				t.Fatalf("%s one-way %s: no asymmetric link", name, detail)
			}
		}
	}
}

func abs(x int) int { return max(x, -x) }

func TestExecute(t *testing.T) {
	cfg := DefaultConfig()
	s, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tgt := newFakeTarget()
	tgt.fail["pause"] = errors.New("no such process")
	rec := &recorder{}
	start := time.Unix(1_000_000, 0)
	fc := &fakeClock{t: start}
	var seen []string
	done, err := execute(context.Background(), s, tgt, rec, start, func(e Event) { seen = append(seen, e.F) }, zerolog.New(zerolog.NewTestWriter(t)), fc.clock())
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	if len(done) != len(s.Events) || len(rec.ops) != len(s.Events) || len(seen) != len(s.Events) {
		t.Fatalf("got %d executed, %d recorded, %d notified; want %d each", len(done), len(rec.ops), len(seen), len(s.Events))
	}
	pauses := 0
	for i, e := range s.Events {
		x, op := done[i], rec.ops[i]
		if x.F != e.F || x.At != e.At || x.Actual != e.At {
			t.Fatalf("executed %d: got %s at %s (planned %s), want %s at %s", i, x.F, x.Actual, x.At, e.F, e.At)
		}
		if op.Process != history.NemesisProcess || op.Type != history.Info || op.F != e.F || op.Node != e.Node || op.Detail != e.Detail {
			t.Fatalf("op %d: got %+v, want a nemesis info op %s %s %q", i, op, e.F, e.Node, e.Detail)
		}
		if e.F == FPause {
			pauses++
			if op.Error == "" || x.Error == "" {
				t.Fatalf("failed pause recorded without its error")
			}
		} else if op.Error != "" {
			t.Fatalf("op %d %s: unexpected error %s", i, e.F, op.Error)
		}
	}
	if pauses == 0 {
		t.Fatalf("default schedule has no pause; pick another seed for this test")
	}
	// The schedule ends healed (paused nodes never paused, since pause failed).
	if f := tgt.faults(); f != "" {
		t.Fatalf("after the whole schedule: got faults %s, want none", f)
	}
	// Calls follow the events: every kill precedes its restart, etc.
	want := 0
	for _, c := range tgt.calls {
		if strings.HasPrefix(c, "kill") || strings.HasPrefix(c, "restart") || strings.HasPrefix(c, "pause") || strings.HasPrefix(c, "resume") {
			want++
		}
	}
	if want == 0 {
		t.Fatalf("no process faults called: %v", tgt.calls)
	}
}

func TestExecuteCancelledThenHeal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = []Kind{Kill, Clock, Partition, Delay, Loss, Pause}
	cfg.Duration = 60 * time.Second
	s, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(zerolog.NewTestWriter(t))
	healers := map[string]func(context.Context, []Executed, *fakeTarget, *recorder) error{
		"HealAll": func(ctx context.Context, _ []Executed, tgt *fakeTarget, rec *recorder) error {
			return HealAll(ctx, s, tgt, rec, log)
		},
		"HealExecuted": func(ctx context.Context, done []Executed, tgt *fakeTarget, rec *recorder) error {
			return HealExecuted(ctx, done, tgt, rec, log)
		},
	}
	for name, healer := range healers {
		t.Run(name, func(t *testing.T) {
			for stop := 1; stop < len(s.Events); stop++ {
				ctx, cancel := context.WithCancel(context.Background())
				tgt := newFakeTarget()
				rec := &recorder{}
				start := time.Unix(0, 0)
				fc := &fakeClock{t: start, stopAfter: stop, cancel: cancel}
				done, err := execute(ctx, s, tgt, rec, start, nil, log, fc.clock())
				cancel()
				if err != nil || len(done) != stop {
					t.Fatalf("stop after %d: got %d executed, %v; want %d", stop, len(done), err, stop)
				}
				before := tgt.faults()
				for i := range 2 {
					n := len(rec.ops)
					if err := healer(context.Background(), done, tgt, rec); err != nil {
						t.Fatalf("stop after %d: heal #%d: %v", stop, i+1, err)
					}
					if f := tgt.faults(); f != "" {
						t.Fatalf("stop after %d: after heal #%d: got faults %s, want none", stop, i+1, f)
					}
					var healed []string
					for _, op := range rec.ops[n:] {
						if op.Process != history.NemesisProcess || op.Type != history.Info || op.Detail != healDetail {
							t.Fatalf("heal op %+v: want a nemesis info op with detail %q", op, healDetail)
						}
						if op.F == FStopDelay || op.F == FStopLoss {
							op.F = "links" // the fake target cannot tell them apart
						}
						healed = append(healed, op.F+" "+op.Node)
					}
					if name == "HealExecuted" {
						// It records exactly the faults that were in effect (again on a repeat
						// call with the same list: the target calls are idempotent, not the record).
						want := healOpsFor(before)
						slices.Sort(healed)
						if strings.Join(healed, ",") != strings.Join(want, ",") {
							t.Fatalf("stop after %d: heal #%d recorded %v, want %v (faults were %s)", stop, i+1, healed, want, before)
						}
					}
				}
			}
		})
	}
}

// healOpsFor lists, sorted, the heal ops that end the faults fakeTarget.faults described.
func healOpsFor(faults string) []string {
	var out []string
	for _, f := range strings.Split(faults, ", ") {
		kind, node, _ := strings.Cut(f, " ")
		switch kind {
		case "killed":
			out = append(out, FRestart+" "+node)
		case "paused":
			out = append(out, FResume+" "+node)
		case "clock":
			out = append(out, FClockReset+" "+node)
		case "partitioned":
			out = append(out, FStopPartition+" ")
		case "links":
			out = append(out, "links ")
		}
	}
	slices.Sort(out)
	return out
}

func TestHealAllErrors(t *testing.T) {
	cfg := DefaultConfig()
	s, _ := Generate(cfg)
	tgt := newFakeTarget()
	tgt.fail["heal"] = errors.New("engine gone")
	tgt.fail["restart"] = errors.New("no binary")
	rec := &recorder{}
	err := HealAll(context.Background(), s, tgt, rec, zerolog.New(zerolog.NewTestWriter(t)))
	if err == nil || !strings.Contains(err.Error(), "engine gone") || !strings.Contains(err.Error(), "no binary") {
		t.Fatalf("got %v, want both the heal and the restart error", err)
	}
	// The clock resets still ran after the failures.
	resets := 0
	for _, c := range tgt.calls {
		if strings.HasPrefix(c, "clock") {
			resets++
		}
	}
	if resets == 0 {
		t.Fatalf("no clock reset after failed steps: calls %v", tgt.calls)
	}
	// No events, nothing recorded, Heal still called.
	rec = &recorder{}
	tgt = newFakeTarget()
	if err := HealAll(context.Background(), Schedule{}, tgt, rec, zerolog.Nop()); err != nil || len(rec.ops) != 0 || len(tgt.calls) != 1 {
		t.Fatalf("empty schedule: got %v, %d ops, calls %v; want nil, 0 ops, [heal]", err, len(rec.ops), tgt.calls)
	}
}

func TestMergeLinks(t *testing.T) {
	d := []Link{{From: "n1", To: "n2", Delay: time.Second}, {From: "n2", To: "n1", Delay: time.Second}}
	l := []Link{{From: "n1", To: "n2", Loss: 0.5}, {From: "n1", To: "n3", Loss: 0.5}}
	got := MergeLinks(d, l)
	want := []Link{{From: "n1", To: "n2", Delay: time.Second, Loss: 0.5}, {From: "n2", To: "n1", Delay: time.Second}, {From: "n1", To: "n3", Loss: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
