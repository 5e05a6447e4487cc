package checker

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/faultline/faultline/history"
)

// simulate returns a history of a correct (linearizable) store: every operation takes effect
// at one instant inside its interval; info operations take effect or not at random; failed
// ones never do. Final reads of every key come last, as the harness records them.
func simulate(rng *rand.Rand, workload string, nOps, nKeys, procs int) []history.Op {
	type pending struct {
		op            history.Op
		effect, done  int64
		info, applied bool
		result        history.Value
		typ           history.Type
	}
	reg := map[string]int64{} // 0 = nil
	sets := map[string][]int64{}
	ctr := map[string]int64{}
	var ops []history.Op
	var evs []*pending
	next := int64(1)
	t := int64(0)
	proc := make([]int, procs)
	for i := range proc {
		proc[i] = i
	}
	for n := 0; n < nOps; n++ {
		p := rng.Intn(procs)
		t += int64(rng.Intn(5))
		key := fmt.Sprintf("k%d", rng.Intn(nKeys))
		op := history.Op{Process: history.Process(proc[p]), Type: history.Invoke, Key: key, Time: t}
		switch r := rng.Intn(10); {
		case r < 4:
			op.F = history.FRead
		case workload == WorkloadSet:
			op.F, op.Value = history.FAdd, history.Int(next)
		case workload == WorkloadCounter:
			op.F, op.Value = history.FIncr, history.Int(int64(1+rng.Intn(3)))
		case r < 8:
			op.F, op.Value = history.FWrite, history.Int(next)
		default:
			op.F, op.Value = history.FCAS, history.List(reg[key], next)
		}
		next++
		ev := &pending{op: op, effect: t + 1 + int64(rng.Intn(20))}
		ev.done = ev.effect + 1 + int64(rng.Intn(20))
		ev.info = rng.Intn(20) == 0
		evs = append(evs, ev)
		proc[p] += procs // one op per process id: a fresh id every time keeps it simple
	}
	// apply effects in effect order
	order := slices.Clone(evs)
	sort.Slice(order, func(a, b int) bool { return order[a].effect < order[b].effect })
	for _, ev := range order {
		op := ev.op
		apply := !ev.info || rng.Intn(2) == 0
		ev.typ = history.OK
		switch op.F {
		case history.FRead:
			switch workload {
			case WorkloadSet:
				ev.result = history.List(slices.Clone(sets[op.Key])...)
			case WorkloadCounter:
				ev.result = history.Int(ctr[op.Key])
			default:
				if v := reg[op.Key]; v != 0 {
					ev.result = history.Int(v)
				}
			}
		case history.FWrite:
			if apply {
				reg[op.Key] = op.Value.Int
			}
		case history.FCAS:
			if reg[op.Key] == op.Value.List[0] && op.Value.List[0] != 0 && apply {
				reg[op.Key] = op.Value.List[1]
			} else if !ev.info {
				ev.typ = history.Fail
			}
		case history.FAdd:
			if apply {
				sets[op.Key] = append(sets[op.Key], op.Value.Int)
				slices.Sort(sets[op.Key])
			}
		case history.FIncr:
			if apply {
				ctr[op.Key] += op.Value.Int
			}
		}
		if ev.info {
			ev.typ = history.Info
		}
	}
	type rec struct {
		t  int64
		op history.Op
	}
	var recs []rec
	for _, ev := range evs {
		recs = append(recs, rec{ev.op.Time, ev.op})
		done := ev.op
		done.Type, done.Time, done.Value = ev.typ, ev.done, ev.result
		if ev.typ != history.OK || done.F != history.FRead {
			done.Value = ev.op.Value
		}
		recs = append(recs, rec{ev.done, done})
	}
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].t < recs[b].t })
	for _, r := range recs {
		ops = append(ops, r.op)
	}
	// final reads, after everything
	end := recs[len(recs)-1].t + 10
	for k := 0; k < nKeys; k++ {
		key := fmt.Sprintf("k%d", k)
		p := history.Process(1_000_000 + k)
		var v history.Value
		switch workload {
		case WorkloadSet:
			v = history.List(slices.Clone(sets[key])...)
		case WorkloadCounter:
			v = history.Int(ctr[key])
		default:
			if x := reg[key]; x != 0 {
				v = history.Int(x)
			}
		}
		ops = append(ops,
			history.Op{Process: p, Type: history.Invoke, F: history.FRead, Key: key, Time: end},
			history.Op{Process: p, Type: history.OK, F: history.FRead, Key: key, Time: end + 1, Value: v})
		end += 2
	}
	for i := range ops {
		ops[i].Index = int64(i)
	}
	return ops
}

// TestSimulatedStores: histories of a correct store are valid for every workload; breaking
// one final read (losing an element, an increment, or reading an unwritten value) is invalid.
func TestSimulatedStores(t *testing.T) {
	for _, workload := range []string{WorkloadRegister, WorkloadSet, WorkloadCounter} {
		for seed := int64(1); seed <= 15; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", workload, seed), func(t *testing.T) {
				rng := rand.New(rand.NewSource(seed))
				ops := simulate(rng, workload, 150, 3, 4)
				checks := DefaultChecks(workload)
				if workload != WorkloadRegister {
					checks = []string{Linearizable, checks[0]}
				}
				cfg := DefaultConfig()
				cfg.Workload, cfg.Checks = workload, checks
				res, err := Check(context.Background(), ops, cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range checks {
					if got := res.Checkers[c].Valid; got != Valid {
						t.Fatalf("correct store: %s got %s, want valid: %v", c, got, res.Checkers[c].Explanation)
					}
				}
				// break the last final read
				bad := slices.Clone(ops)
				last := &bad[len(bad)-1]
				switch workload {
				case WorkloadSet:
					last.Value = history.List(append(slices.Clone(last.Value.List), 1_000_000)...) // never added
				case WorkloadCounter:
					last.Value = history.Int(last.Value.Int - 1_000) // far below the acked sum
				default:
					last.Value = history.Int(1_000_000) // never written
				}
				res, err = Check(context.Background(), bad, cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range checks {
					if got := res.Checkers[c].Valid; got != Invalid {
						t.Errorf("broken final read: %s got %s, want invalid", c, got)
					}
				}
			})
		}
	}
}
