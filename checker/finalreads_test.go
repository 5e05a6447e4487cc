package checker

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// fhist builds a history: each step is one operation, invoked and completed in turn (so they are
// sequential), 10 ns apart.
type fhist struct{ ops []history.Op }

func (b *fhist) op(proc int, f, key string, in history.Value, typ history.Type, out history.Value) *fhist {
	t := int64(len(b.ops)) * 10
	b.ops = append(b.ops,
		history.Op{Index: int64(len(b.ops)), Time: t, Process: history.Process(proc), Type: history.Invoke, F: f, Key: key, Value: in},
		history.Op{Index: int64(len(b.ops) + 1), Time: t + 5, Process: history.Process(proc), Type: typ, F: f, Key: key, Value: out})
	return b
}

func (b *fhist) add(proc int, x int64) *fhist {
	return b.op(proc, history.FAdd, "k", history.Int(x), history.OK, history.Int(x))
}

func (b *fhist) incr(proc int, x int64) *fhist {
	return b.op(proc, history.FIncr, "k", history.Int(x), history.OK, history.Int(x))
}

func (b *fhist) read(proc int, v history.Value) *fhist {
	return b.op(proc, history.FRead, "k", history.Nil(), history.OK, v)
}

func (b *fhist) failedRead(proc int) *fhist {
	return b.op(proc, history.FRead, "k", history.Nil(), history.Fail, history.Nil())
}

// checkOne checks ops with one checker deciding and returns its result.
func checkOne(t *testing.T, ops []history.Op, workload, checker string, finalProcess int) *Result {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Workload, cfg.Checks, cfg.FinalProcess = workload, []string{checker}, finalProcess
	res, err := Check(context.Background(), ops, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Checkers[checker]
	if r.Valid != res.Valid {
		t.Fatalf("overall %s, %s %s: want the same", res.Valid, checker, r.Valid)
	}
	return r
}

func wantResult(t *testing.T, r *Result, want Verdict, say ...string) {
	t.Helper()
	text := strings.Join(r.Explanation, "\n")
	if r.Valid != want {
		t.Errorf("got %s, want %s: %s", r.Valid, want, text)
	}
	for _, s := range say {
		if !strings.Contains(text, s) {
			t.Errorf("explanation %q: want it to say %q", text, s)
		}
	}
}

// TestUnobservedAcksAreUnknown: acknowledged updates after the last ok read (the real final
// read failed) were never observed by any read: the verdict is unknown, never valid, unless
// something is definitely lost.
func TestUnobservedAcksAreUnknown(t *testing.T) {
	t.Run("set", func(t *testing.T) {
		ops := new(fhist).read(0, history.List()).add(1, 1).add(2, 2).failedRead(3).ops
		wantResult(t, checkOne(t, ops, "", LostUpdates, 0), Unknown, "2 acknowledged adds", "after the final read")
	})
	t.Run("set lost too", func(t *testing.T) {
		ops := new(fhist).add(1, 1).read(0, history.List()).add(2, 2).failedRead(3).ops
		wantResult(t, checkOne(t, ops, "", LostUpdates, 0), Invalid, "1 lost")
	})
	t.Run("counter", func(t *testing.T) {
		ops := new(fhist).read(0, history.Int(0)).incr(1, 1).incr(2, 1).failedRead(3).ops
		wantResult(t, checkOne(t, ops, "", LostIncrements, 0), Unknown, "2 acknowledged increments", "after the final read")
	})
	t.Run("counter lost too", func(t *testing.T) {
		ops := new(fhist).incr(1, 1).read(0, history.Int(0)).incr(2, 1).failedRead(3).ops
		wantResult(t, checkOne(t, ops, "", LostIncrements, 0), Invalid, "1 lost below")
	})
	t.Run("counter concurrent with the final read", func(t *testing.T) {
		ops := []history.Op{
			{Index: 0, Time: 0, Process: 0, Type: history.Invoke, F: history.FRead, Key: "k"},
			{Index: 1, Time: 1, Process: 1, Type: history.Invoke, F: history.FIncr, Key: "k", Value: history.Int(1)},
			{Index: 2, Time: 2, Process: 1, Type: history.OK, F: history.FIncr, Key: "k", Value: history.Int(1)},
			{Index: 3, Time: 3, Process: 0, Type: history.OK, F: history.FRead, Key: "k", Value: history.Int(0)},
		}
		wantResult(t, checkOne(t, ops, "", LostIncrements, 0), Unknown, "1 acknowledged increments")
	})
}

// TestFinalProcess: with Config.FinalProcess the final reads are the reads by processes from
// it on. A stale mid-run read is not a final read; with no final read at all (an interrupted
// run, failed final reads) lost-updates and lost-increments are unknown.
func TestFinalProcess(t *testing.T) {
	const fp = 10
	set := func(xs ...int64) history.Value { return history.List(xs...) }
	// a stale mid-run read (legitimate under W=1 R=1) after every add
	setRun := func() *fhist { return new(fhist).add(0, 1).add(1, 2).read(2, set(1, 2)).read(3, set(1)) }
	ctrRun := func() *fhist { return new(fhist).incr(0, 1).incr(1, 1).read(2, history.Int(2)).read(3, history.Int(1)) }
	tests := []struct {
		name              string
		ops               []history.Op
		workload, checker string
		fp                int
		want              Verdict
		say               []string
	}{
		{"set interrupted, no marker: the stale read is final", setRun().ops, WorkloadSet, LostUpdates, 0, Invalid, []string{"1 lost"}},
		{"set interrupted", setRun().ops, WorkloadSet, LostUpdates, fp, Unknown, []string{"no final reads", "interrupted", "1 keys with acknowledged adds"}},
		{"set final reads failed", setRun().failedRead(fp).failedRead(fp + 1).ops, WorkloadSet, LostUpdates, fp, Unknown, []string{"every final read of them failed", "[k]"}},
		{"set final read", setRun().read(fp, set(1, 2)).ops, WorkloadSet, LostUpdates, fp, Valid, []string{"all 2 acknowledged adds present"}},
		{"set final read after a failed try", setRun().failedRead(fp).read(fp+1, set(1, 2)).ops, WorkloadSet, LostUpdates, fp, Valid, nil},
		{"set final read, then a stale mid-run read", setRun().read(fp, set(1, 2)).read(4, set()).ops, WorkloadSet, LostUpdates, fp, Valid, nil},
		{"set final read lost", setRun().read(fp, set(2)).ops, WorkloadSet, LostUpdates, fp, Invalid, []string{"1 lost", "process 10 read"}},
		{"set interrupted, unexpected", new(fhist).add(0, 1).read(1, set(1, 7)).ops, WorkloadSet, LostUpdates, fp, Invalid, []string{"1 unexpected", "7"}},
		{"set interrupted, no acked adds", new(fhist).read(0, set()).ops, WorkloadSet, LostUpdates, fp, Unknown, []string{"interrupted"}},
		{"counter interrupted, no marker", ctrRun().ops, WorkloadCounter, LostIncrements, 0, Invalid, []string{"1 lost below"}},
		{"counter interrupted", ctrRun().ops, WorkloadCounter, LostIncrements, fp, Unknown, []string{"no final reads", "interrupted", "acknowledged increments"}},
		{"counter final reads failed", ctrRun().failedRead(fp).ops, WorkloadCounter, LostIncrements, fp, Unknown, []string{"every final read of them failed"}},
		{"counter final read", ctrRun().read(fp, history.Int(2)).read(4, history.Int(0)).ops, WorkloadCounter, LostIncrements, fp, Valid, nil},
		{"counter final read lost", ctrRun().read(fp, history.Int(1)).ops, WorkloadCounter, LostIncrements, fp, Invalid, []string{"1 lost below"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := checkOne(t, tt.ops, tt.workload, tt.checker, tt.fp)
			wantResult(t, r, tt.want, tt.say...)
		})
	}
	t.Run("negative", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.FinalProcess = -1
		if _, err := Check(context.Background(), setRun().ops, cfg); err == nil || !strings.Contains(err.Error(), "final process (-1)") {
			t.Errorf("got %v, want a final process error", err)
		}
	})
}

// TestSimulatedStoresFinalProcess: a correct store's histories stay valid when the final reads
// are named; cut before the final reads (an interrupted run) they are unknown, not invalid.
func TestSimulatedStoresFinalProcess(t *testing.T) {
	for _, workload := range []string{WorkloadSet, WorkloadCounter} {
		check := DefaultChecks(workload)[0]
		for seed := int64(1); seed <= 10; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", workload, seed), func(t *testing.T) {
				ops := simulate(rand.New(rand.NewSource(seed)), workload, 150, 3, 4)
				wantResult(t, checkOne(t, ops, workload, check, 1_000_000), Valid)
				cut := slices.IndexFunc(ops, func(o history.Op) bool { return o.Process >= 1_000_000 })
				wantResult(t, checkOne(t, ops[:cut], workload, check, 1_000_000), Unknown, "interrupted")
			})
		}
	}
}

// TestJepsenCounterAdd: Jepsen's counter workload adds integers (:f :add) and reads integers:
// a counter, whether inferred or named by --workload or --model.
func TestJepsenCounterAdd(t *testing.T) {
	add := func(b *fhist, proc int, x int64) *fhist {
		return b.op(proc, history.FAdd, "", history.Int(x), history.OK, history.Int(x))
	}
	read := func(b *fhist, proc int, v int64) *fhist {
		return b.op(proc, history.FRead, "", history.Nil(), history.OK, history.Int(v))
	}
	good := read(add(add(new(fhist), 0, 1), 1, 1), 2, 2).ops
	bad := read(add(add(new(fhist), 0, 1), 1, 1), 2, 1).ops
	for _, tt := range []struct {
		name            string
		workload, model string
	}{{"inferred", "", ""}, {"workload counter", WorkloadCounter, ""}, {"model counter", "", ModelCounter}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				ops  []history.Op
				want Verdict
			}{{good, Valid}, {bad, Invalid}} {
				cfg := DefaultConfig()
				cfg.Workload, cfg.Model = tt.workload, tt.model
				res, err := Check(context.Background(), c.ops, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if res.Workload != WorkloadCounter || res.Valid != c.want {
					t.Errorf("got workload %s, verdict %s, want counter, %s: %v", res.Workload, res.Valid, c.want, res.Checkers[LostIncrements])
				}
				if b := res.Checkers[CounterBounds]; b == nil || b.Valid != c.want {
					t.Errorf("counter-bounds: got %v, want %s", b, c.want)
				}
			}
		})
	}
	t.Run("linearizable", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Checks = []string{Linearizable}
		res, err := Check(context.Background(), good, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid != Valid {
			t.Errorf("got %s, want valid: %v", res.Valid, res.Checkers[Linearizable].Explanation)
		}
	})
	t.Run("ops are described as recorded", func(t *testing.T) {
		h := newPrepared(bad, mustPair(t, bad))
		h.pairs[0].F = history.FIncr // as Check renames it
		if ref := h.ref(0); ref.F != history.FAdd {
			t.Errorf("ref: got f %q, want add", ref.F)
		}
	})
	// sets still are sets: integer adds, list reads
	t.Run("set", func(t *testing.T) {
		ops := new(fhist).add(0, 1).read(1, history.List(1)).ops
		res, err := Check(context.Background(), ops, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if res.Workload != WorkloadSet || res.Valid != Valid {
			t.Errorf("got workload %s, verdict %s, want set, valid", res.Workload, res.Valid)
		}
	})
}

func mustPair(t *testing.T, ops []history.Op) []history.Operation {
	t.Helper()
	p, err := history.Pair(ops)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
