package checker

import (
	"math/rand/v2"
	"testing"

	"github.com/anishathalye/porcupine"
)

// randomKeyOps draws a small history of one key for model: a few processes, each running ops
// one after another with random call and return times, some indeterminate (returning at
// infinity). Reads return a value written somewhere in the history, nil, or a value nobody
// wrote, so both verdicts come out.
func randomKeyOps(r *rand.Rand, model string) []porcupine.Operation {
	const procs, perProc = 3, 3
	var ops []porcupine.Operation
	next := int64(1)
	for p := 0; p < procs; p++ {
		t := int64(r.IntN(3))
		for i := 0; i < perProc; i++ {
			call := t + int64(r.IntN(3))
			ret := call + 1 + int64(r.IntN(6))
			in, out := &linIn{}, &linOut{kind: outOK}
			switch k := r.IntN(10); {
			case k < 4:
				in.f = linRead
				v := int64(r.IntN(int(next) + 1))
				switch {
				case model == ModelSet && v == 0:
					out = &linOut{kind: outSet, set: encodeSet(nil)}
				case model == ModelSet:
					xs := []int64{v}
					if r.IntN(2) == 0 {
						xs = append(xs, int64(1+r.IntN(int(next))))
					}
					out = &linOut{kind: outSet, set: encodeSet(xs)}
				case v == 0:
					out = &linOut{kind: outNil}
				default:
					out = &linOut{kind: outInt, v: v}
				}
			case model == ModelSet:
				in.f, in.a = linAdd, next
				next++
			case k < 8:
				in.f, in.a = linWrite, next
				next++
			default:
				in.f, in.a, in.b = linCAS, int64(1+r.IntN(int(next))), next
				next++
			}
			if in.f != linRead && r.IntN(2) == 0 {
				out = &linOut{kind: outAny}
				ops = append(ops, porcupine.Operation{ClientId: p*perProc + i, Input: in, Call: call, Output: out, Return: 1 << 40})
				t = call + 1
				continue // an indeterminate op's process is replaced
			}
			ops = append(ops, porcupine.Operation{ClientId: p*perProc + i, Input: in, Call: call, Output: out, Return: ret})
			t = ret + 1
		}
	}
	return ops
}

// TestPruneUnobservedKeepsTheVerdict checks pruneUnobserved's claim on thousands of random
// small histories: porcupine's verdict with the unobserved indeterminate updates left out is
// the verdict with them in. Both verdicts must come out, and updates must be left out, so the
// comparison is not empty.
func TestPruneUnobservedKeepsTheVerdict(t *testing.T) {
	for _, model := range []string{ModelRegister, ModelSet} {
		t.Run(model, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(model))))
			pm := linModel(model)
			var legal, illegal, pruned int
			for i := 0; i < 3000; i++ {
				ops := randomKeyOps(r, model)
				want := porcupine.CheckOperations(pm, ops)
				kept, n := pruneUnobserved(model, append([]porcupine.Operation(nil), ops...))
				got := porcupine.CheckOperations(pm, kept)
				if got != want {
					t.Fatalf("history %d: %d of %d ops left out changed the verdict from %v to %v:\n%s", i, n, len(ops), want, got, describeOps(pm, ops))
				}
				pruned += n
				if want {
					legal++
				} else {
					illegal++
				}
			}
			if legal < 100 || illegal < 100 || pruned < 100 {
				t.Fatalf("the random histories do not test much: %d linearizable, %d not, %d updates left out", legal, illegal, pruned)
			}
			t.Logf("%d linearizable, %d not, %d indeterminate updates left out", legal, illegal, pruned)
		})
	}
}

func describeOps(pm porcupine.Model, ops []porcupine.Operation) string {
	var s string
	for _, op := range ops {
		s += pm.DescribeOperation(op.Input, op.Output) + "\n"
	}
	return s
}

// TestPruneUnobservedCounterKeepsAll: every counter read observes the sum of increments, so
// none is left out.
func TestPruneUnobservedCounterKeepsAll(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: &linIn{f: linIncr, a: 1}, Call: 0, Output: &linOut{kind: outAny}, Return: 1 << 40},
		{ClientId: 1, Input: &linIn{f: linRead}, Call: 5, Output: &linOut{kind: outInt, v: 1}, Return: 6},
	}
	if kept, n := pruneUnobserved(ModelCounter, ops); n != 0 || len(kept) != 2 {
		t.Fatalf("counter: left out %d of 2 ops, want none", n)
	}
}
