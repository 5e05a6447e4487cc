package workloads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"default", DefaultConfig(), ""},
		{"set crdt", mod(func(c *Config) { c.Workload, c.CRDT = Set, true }), ""},
		{"counter hot", mod(func(c *Config) { c.Workload, c.KeyDist = Counter, Hot }), ""},
		{"unlimited rate", mod(func(c *Config) { c.Rate = 0 }), ""},
		{"bad workload", mod(func(c *Config) { c.Workload = "bank" }), `Workload "bank"`},
		{"crdt register", mod(func(c *Config) { c.CRDT = true }), "CRDT applies"},
		{"no keys", mod(func(c *Config) { c.Keys = 0 }), "Keys (0)"},
		{"bad dist", mod(func(c *Config) { c.KeyDist = "zipf" }), `KeyDist "zipf"`},
		{"no workers", mod(func(c *Config) { c.Concurrency = 0 }), "Concurrency (0)"},
		{"negative rate", mod(func(c *Config) { c.Rate = -1 }), "Rate (-1)"},
		{"no timeout", mod(func(c *Config) { c.OpTimeout = 0 }), "OpTimeout (0s)"},
		{"no tries", mod(func(c *Config) { c.FinalTries = 0 }), "FinalTries (0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.cfg
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if before != tt.cfg {
				t.Fatalf("Validate changed the config")
			}
		})
	}
}

func TestKeyNames(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys = 3
	if got, want := strings.Join(KeyNames(cfg), ","), "k0,k1,k2"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

type genOp struct {
	read  bool
	key   int
	value int64
}

func genOps(cfg Config, worker, n int) []genOp {
	g := newGen(cfg, worker)
	out := make([]genOp, n)
	for i := range out {
		out[i].read, out[i].key, out[i].value, _ = g.op()
	}
	return out
}

func TestGenDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	a, b := genOps(cfg, 3, 500), genOps(cfg, 3, 500)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("op %d: got %+v and %+v for the same seed and worker", i, a[i], b[i])
		}
	}
	other := cfg
	other.Seed = 2
	c := genOps(other, 3, 500)
	d := genOps(cfg, 4, 500)
	same := func(x, y []genOp) bool {
		for i := range x {
			if x[i].read != y[i].read || x[i].key != y[i].key {
				return false
			}
		}
		return true
	}
	if same(a, c) {
		t.Fatalf("seeds 1 and 2 gave the same op sequence")
	}
	if same(a, d) {
		t.Fatalf("workers 3 and 4 gave the same op sequence")
	}
}

func TestGenKeysAndValues(t *testing.T) {
	tests := []struct {
		name             string
		dist             string
		minHot, maxHot   float64 // share of ops on k0
		workload         string
		minRead, maxRead float64
	}{
		{"uniform register", Uniform, 0.07, 0.13, Register, 0.45, 0.55},
		{"hot set", Hot, 0.75, 0.85, Set, 0.07, 0.13},
		{"hot counter", Hot, 0.75, 0.85, Counter, 0.16, 0.24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.KeyDist, cfg.Workload = tt.dist, tt.workload
			seen := map[int64]bool{}
			var hot, reads, n float64
			for w := range cfg.Concurrency {
				for _, op := range genOps(cfg, w, 2000) {
					n++
					if op.key < 0 || op.key >= cfg.Keys {
						t.Fatalf("got key index %d, want 0..%d", op.key, cfg.Keys-1)
					}
					if op.key == 0 {
						hot++
					}
					if op.read {
						reads++
						continue
					}
					if op.value <= 0 || seen[op.value] {
						t.Fatalf("worker %d: got value %d, want a positive value unique across workers", w, op.value)
					}
					seen[op.value] = true
				}
			}
			if s := hot / n; s < tt.minHot || s > tt.maxHot {
				t.Errorf("got k0 share %.3f, want %.2f..%.2f", s, tt.minHot, tt.maxHot)
			}
			if s := reads / n; s < tt.minRead || s > tt.maxRead {
				t.Errorf("got read share %.3f, want %.2f..%.2f", s, tt.minRead, tt.maxRead)
			}
		})
	}
}

func TestLimiterGaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate, cfg.Concurrency = 100, 10 // 10 ops/s per worker: 100ms gaps on average
	start := time.Unix(1000, 0)
	l := newLimiter(cfg, 0, start)
	if d := l.next.Sub(start); d < 0 || d >= 100*time.Millisecond {
		t.Fatalf("got first op at +%s, want within one interval (100ms)", d)
	}
	now := l.next
	var total time.Duration
	for i := range 1000 {
		next := l.advance(now)
		gap := next.Sub(now)
		if gap < 50*time.Millisecond || gap >= 150*time.Millisecond {
			t.Fatalf("gap %d: got %s, want 50ms..150ms", i, gap)
		}
		total += gap
		now = next
	}
	if avg := total / 1000; avg < 95*time.Millisecond || avg > 105*time.Millisecond {
		t.Errorf("got average gap %s, want about 100ms", avg)
	}
	// A worker that fell far behind restarts its schedule from now instead of bursting.
	late := now.Add(10 * time.Second)
	if next := l.advance(late); next.Sub(late) < 50*time.Millisecond {
		t.Errorf("after falling behind: next op %s after now, want at least half a gap", next.Sub(late))
	}
}

// checkHistory checks the process discipline of a client history: each process alternates
// invoke and completion, a completion matches its invoke, and a process retired by an info op
// is never used again. It returns the completed (invoke, completion) pairs.
func checkHistory(t *testing.T, ops []history.Op) [][2]history.Op {
	t.Helper()
	open := map[history.Process]history.Op{}
	retired := map[history.Process]bool{}
	var pairs [][2]history.Op
	for _, op := range ops {
		if retired[op.Process] {
			t.Fatalf("op %d: process %d used after it was retired by an info op", op.Index, op.Process)
		}
		inv, busy := open[op.Process]
		if op.Type == history.Invoke {
			if busy {
				t.Fatalf("op %d: process %d invoked while op %d is outstanding", op.Index, op.Process, inv.Index)
			}
			open[op.Process] = op
			continue
		}
		if !busy {
			t.Fatalf("op %d: %s completion of process %d without an invoke", op.Index, op.Type, op.Process)
		}
		delete(open, op.Process)
		if op.F != inv.F || op.Key != inv.Key || op.Node != inv.Node {
			t.Fatalf("op %d: completion %s %s@%s does not match invoke %s %s@%s", op.Index, op.F, op.Key, op.Node, inv.F, inv.Key, inv.Node)
		}
		if op.Type != history.OK && !op.Value.Equal(inv.Value) {
			t.Fatalf("op %d: %s completion has value %s, want the invoke's %s", op.Index, op.Type, op.Value, inv.Value)
		}
		if op.Type != history.OK && op.Error == "" {
			t.Fatalf("op %d: %s completion without an error", op.Index, op.Type)
		}
		if op.Type == history.Info {
			retired[op.Process] = true
		}
		pairs = append(pairs, [2]history.Op{inv, op})
	}
	if len(open) > 0 {
		t.Fatalf("got %d invocations without completion after Run returned, want 0", len(open))
	}
	return pairs
}

func runFor(t *testing.T, cfg Config, newClient func(int) (Client, string), limit int) (*recorder, *Counters) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newRecorder(limit, cancel)
	ctrs := new(Counters)
	if err := Run(ctx, cfg, newClient, rec, ctrs, zerolog.New(zerolog.NewTestWriter(t))); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec, ctrs
}

func TestRunOpShapes(t *testing.T) {
	tests := []struct {
		workload string
		crdt     bool
		update   string
	}{
		{Register, false, history.FWrite},
		{Set, false, history.FAdd},
		{Set, true, history.FAdd},
		{Counter, false, history.FIncr},
		{Counter, true, history.FIncr},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s crdt=%v", tt.workload, tt.crdt), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload, cfg.CRDT, cfg.Rate, cfg.Concurrency, cfg.Keys = tt.workload, tt.crdt, 0, 4, 3
			store := newMemStore()
			newClient := func(p int) (Client, string) { return &memClient{s: store}, fmt.Sprintf("n%d", p%3+1) }
			rec, ctrs := runFor(t, cfg, newClient, 800)
			ops := rec.all()
			pairs := checkHistory(t, ops)
			if got := ctrs.Invoked.Load(); got != int64(len(pairs)) {
				t.Errorf("got Invoked %d, want %d (one per completed op)", got, len(pairs))
			}
			if ctrs.OK.Load() != int64(len(pairs)) {
				t.Errorf("got %d ok of %d ops against a correct store, want all ok", ctrs.OK.Load(), len(pairs))
			}
			var reads, updates int
			for _, p := range pairs {
				inv, ok := p[0], p[1]
				switch inv.F {
				case history.FRead:
					reads++
					if !inv.Value.IsNil() {
						t.Fatalf("read invoke has value %s, want null", inv.Value)
					}
					want := map[string]history.Kind{Register: history.KindInt, Set: history.KindList, Counter: history.KindInt}[tt.workload]
					if tt.workload == Register && ok.Value.IsNil() {
						continue // absent before the first write
					}
					if ok.Value.Kind != want {
						t.Fatalf("%s read returned %s, want kind %d", tt.workload, ok.Value, want)
					}
				case tt.update:
					updates++
					if inv.Value.Kind != history.KindInt || !ok.Value.Equal(inv.Value) {
						t.Fatalf("%s: invoke %s, ok %s: want the same integer", inv.F, inv.Value, ok.Value)
					}
					if tt.workload == Counter && inv.Value.Int != 1 {
						t.Fatalf("incr by %d, want 1", inv.Value.Int)
					}
				default:
					t.Fatalf("got f %q, want read or %s", inv.F, tt.update)
				}
				if inv.Node == "" {
					t.Fatalf("op without node")
				}
			}
			if reads == 0 || updates == 0 {
				t.Fatalf("got %d reads and %d updates, want both", reads, updates)
			}
		})
	}
}

func TestRunRetiresProcessOnInfo(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate, cfg.Concurrency = 0, 3
	store := newMemStore()
	hookInfo := everyNth(7, errIndeterminate)
	hookFail := everyNth(5, fmt.Errorf("unavailable: %w", ErrFailed))
	var mu sync.Mutex
	asked := map[int]bool{}
	newClient := func(p int) (Client, string) {
		mu.Lock()
		defer mu.Unlock()
		if asked[p] {
			t.Errorf("newClient(%d) called twice", p)
		}
		asked[p] = true
		return &memClient{s: store, fault: func(call, key string) error {
			if err := hookInfo(call, key); err != nil {
				return err
			}
			return hookFail(call, key)
		}}, "n1"
	}
	rec, ctrs := runFor(t, cfg, newClient, 600)
	ops := rec.all()
	checkHistory(t, ops)
	if ctrs.Info.Load() == 0 || ctrs.Fail.Load() == 0 {
		t.Fatalf("got %d info and %d fail, want some of each", ctrs.Info.Load(), ctrs.Fail.Load())
	}
	// Each info retires a process; its worker continues as process+Concurrency. So worker w
	// used processes w, w+C, w+2C, ... in turn, each but the last retired by an info op.
	retired := map[int]bool{}
	for _, op := range ops {
		if op.Type == history.Info {
			retired[int(op.Process)] = true
		}
	}
	mu.Lock()
	for w := range cfg.Concurrency {
		last := w
		for asked[last+cfg.Concurrency] {
			if !retired[last] {
				t.Errorf("worker %d moved on from process %d, which no info op retired", w, last)
			}
			last += cfg.Concurrency
		}
		for p := range asked {
			if p%cfg.Concurrency == w && p > last {
				t.Errorf("newClient(%d) called, but process %d never was: processes must follow each other by %d", p, last+cfg.Concurrency, cfg.Concurrency)
			}
		}
	}
	for p := range retired {
		if !asked[p] {
			t.Errorf("info op by process %d, which newClient never created", p)
		}
	}
	mu.Unlock()
	var maxP history.Process
	for _, op := range ops {
		maxP = max(maxP, op.Process)
	}
	if got := ctrs.NextProcess.Load(); got != int64(maxP)+1 {
		t.Errorf("got NextProcess %d, want %d (highest process used + 1)", got, maxP+1)
	}
}

func TestRMW(t *testing.T) {
	failed := fmt.Errorf("no quorum: %w", ErrFailed)
	tests := []struct {
		name     string
		workload string
		vals     []string
		getErr   error
		putErr   error
		wantType history.Type
		wantPut  string // "" = no put
	}{
		{"counter absent", Counter, nil, nil, nil, history.OK, "k0=1@cc"},
		{"counter value", Counter, []string{"41"}, nil, nil, history.OK, "k0=42@cc"},
		{"counter siblings take max", Counter, []string{"7", "3"}, nil, nil, history.OK, "k0=8@cc"},
		{"counter read failed", Counter, nil, failed, nil, history.Fail, ""},
		{"counter read indeterminate", Counter, nil, errIndeterminate, nil, history.Fail, ""},
		{"counter read garbage", Counter, []string{"x"}, nil, nil, history.Fail, ""},
		{"counter write failed", Counter, []string{"1"}, nil, failed, history.Fail, "k0=2@cc"},
		{"counter write indeterminate", Counter, []string{"1"}, nil, errIndeterminate, history.Info, "k0=2@cc"},
		{"set absent", Set, nil, nil, nil, history.OK, "k0=9@cc"},
		{"set append", Set, []string{"1,12"}, nil, nil, history.OK, "k0=1,9,12@cc"},
		{"set siblings union", Set, []string{"1,2", "2,3"}, nil, nil, history.OK, "k0=1,2,3,9@cc"},
		{"set read indeterminate", Set, nil, errIndeterminate, nil, history.Fail, ""},
		{"set read garbage", Set, []string{"1,,2"}, nil, nil, history.Fail, ""},
		{"set write indeterminate", Set, nil, nil, errIndeterminate, history.Info, "k0=9@cc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload = tt.workload
			c := &scriptClient{vals: tt.vals, getErr: tt.getErr, putErr: tt.putErr}
			w := &worker{cfg: &cfg, keys: KeyNames(cfg), client: c, causal: make([]string, cfg.Keys)}
			_, arg := w.updateOp(9)
			res := w.update(context.Background(), 0, arg)
			if res.typ != tt.wantType {
				t.Errorf("got %s (%v), want %s", res.typ, res.err, tt.wantType)
			}
			if got := strings.Join(c.puts, " "); got != tt.wantPut {
				t.Errorf("got puts %q, want %q", got, tt.wantPut)
			}
			if tt.wantType != history.OK && res.err == nil {
				t.Errorf("got no error for a %s op", res.typ)
			}
		})
	}
}

func TestReadValues(t *testing.T) {
	tests := []struct {
		name     string
		workload string
		vals     []string
		want     string
	}{
		{"register absent", Register, nil, "null"},
		{"register value", Register, []string{"5"}, "5"},
		{"register siblings sorted", Register, []string{"9", "5"}, "[5,9]"},
		{"set absent", Set, nil, "[]"},
		{"set siblings union", Set, []string{"3,1", "2,3"}, "[1,2,3]"},
		{"counter absent", Counter, nil, "0"},
		{"counter siblings max", Counter, []string{"2", "6"}, "6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload = tt.workload
			c := &scriptClient{vals: tt.vals}
			var causal string
			res := readKey(context.Background(), &cfg, c, "k0", &causal)
			if res.typ != history.OK || res.value.String() != tt.want {
				t.Fatalf("got %s %s (%v), want ok %s", res.typ, res.value, res.err, tt.want)
			}
		})
	}
}

// TestRMWCounterLosesIncrements runs counters against a store whose reads lag one write behind:
// read-modify-write increments are lost, CRDT increments are not.
func TestRMWCounterLosesIncrements(t *testing.T) {
	for _, crdt := range []bool{false, true} {
		t.Run(fmt.Sprintf("crdt=%v", crdt), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload, cfg.CRDT, cfg.Keys, cfg.Rate, cfg.Concurrency = Counter, crdt, 1, 0, 4
			store := newMemStore()
			store.stale = true
			newClient := func(int) (Client, string) { return &memClient{s: store}, "n1" }
			rec, ctrs := runFor(t, cfg, newClient, 400)
			checkHistory(t, rec.all())
			freshCfg := cfg
			freshCfg.FinalProcess = int(ctrs.NextProcess.Load())
			store.stale = false // healed: reads are current again
			if err := FinalReads(context.Background(), freshCfg, newClient, rec, zerolog.New(zerolog.NewTestWriter(t))); err != nil {
				t.Fatalf("FinalReads: %v", err)
			}
			ops := rec.all()
			var incrs int64
			for _, op := range ops {
				if op.F == history.FIncr && op.Type == history.OK {
					incrs++
				}
			}
			final := ops[len(ops)-1]
			if final.F != history.FRead || final.Type != history.OK {
				t.Fatalf("last op %s %s, want an ok final read", final.F, final.Type)
			}
			lost := incrs - final.Value.Int
			if crdt && lost != 0 {
				t.Errorf("CRDT: got final %d after %d ok increments, want equal", final.Value.Int, incrs)
			}
			if !crdt && lost <= 0 {
				t.Errorf("read-modify-write: got final %d after %d ok increments, want increments lost", final.Value.Int, incrs)
			}
		})
	}
}

func TestFinalReads(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys, cfg.FinalProcess, cfg.FinalTries = 3, 40, 3
	store := newMemStore()
	tries := map[string]int{}
	newClient := func(p int) (Client, string) {
		return &memClient{s: store, fault: func(_, key string) error {
			tries[key]++
			switch {
			case key == "k1" && tries[key] == 1:
				return errIndeterminate
			case key == "k1" && tries[key] == 2:
				return fmt.Errorf("down: %w", ErrFailed)
			case key == "k2":
				return errIndeterminate
			}
			return nil
		}}, "n2"
	}
	rec := newRecorder(0, nil)
	err := FinalReads(context.Background(), cfg, newClient, rec, zerolog.New(zerolog.NewTestWriter(t)))
	if err == nil || !strings.Contains(err.Error(), "k2") || strings.Contains(err.Error(), "k1") {
		t.Fatalf("got error %v, want one naming k2 only", err)
	}
	ops := rec.all()
	checkHistory(t, ops)
	var got []string
	seen := map[history.Process]bool{}
	for _, op := range ops {
		if op.Type == history.Invoke {
			if op.Process < 40 || seen[op.Process] {
				t.Fatalf("final read by process %d, want a fresh process >= 40", op.Process)
			}
			seen[op.Process] = true
			continue
		}
		got = append(got, op.Key+":"+string(op.Type))
	}
	want := "k0:ok k1:info k1:fail k1:ok k2:info k2:info k2:info"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestFinalReadsCancelled(t *testing.T) {
	cfg := DefaultConfig()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store := newMemStore()
	err := FinalReads(ctx, cfg, func(int) (Client, string) { return &memClient{s: store}, "n1" }, newRecorder(0, nil), zerolog.Nop())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys = 0
	err := Run(context.Background(), cfg, func(int) (Client, string) { return nil, "" }, newRecorder(0, nil), nil, zerolog.Nop())
	if err == nil {
		t.Fatalf("got nil, want an error for Keys 0")
	}
}

type nopRecorder struct{}

func (nopRecorder) Record(op history.Op) history.Op { return op }

// BenchmarkWorkerOp measures one op of the worker's hot path (choose, record invoke, call,
// record completion) against an in-memory store with a recorder that drops ops. The store is
// emptied every 1000 ops so that the set's growing value does not dominate.
func BenchmarkWorkerOp(b *testing.B) {
	for _, wl := range []string{Register, Set, Counter} {
		b.Run(wl, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Workload = wl
			c := &memClient{s: newMemStore()}
			w := &worker{cfg: &cfg, keys: KeyNames(cfg), gen: newGen(cfg, 0), rec: nopRecorder{},
				ctrs: new(Counters), client: c, node: "n1", causal: make([]string, cfg.Keys), log: zerolog.Nop()}
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n++; n%1000 == 0 {
					c.s = newMemStore()
				}
				read, k, v, _ := w.gen.op()
				w.do(ctx, read, k, v, false)
			}
		})
	}
}
