package checker

import (
	"context"
	"errors"
	"testing"

	"github.com/faultline/faultline/history"
)

// hb builds histories: each call appends an invocation and its completion.
type hb struct {
	ops []history.Op
	t   int64
}

func (h *hb) op(proc int, f, key string, in history.Value, typ history.Type, out history.Value) {
	h.t += 10
	h.ops = append(h.ops, history.Op{Index: int64(len(h.ops)), Time: h.t, Process: history.Process(proc), Type: history.Invoke, F: f, Key: key, Value: in})
	h.t += 10
	h.ops = append(h.ops, history.Op{Index: int64(len(h.ops)), Time: h.t, Process: history.Process(proc), Type: typ, F: f, Key: key, Value: out})
}

func (h *hb) nemesis(f string) {
	h.t += 5
	h.ops = append(h.ops, history.Op{Index: int64(len(h.ops)), Time: h.t, Process: history.NemesisProcess, Type: history.Info, F: f})
}

func TestShrink(t *testing.T) {
	// register: lots of fine traffic on two keys, one stale read on k2 in the middle
	reg := &hb{}
	v := int64(0)
	for i := 0; i < 40; i++ {
		for _, k := range []string{"k1", "k2"} {
			v++
			reg.op(i%3, "write", k, history.Int(v), history.OK, history.Int(v))
			reg.op(3, "read", k, history.Nil(), history.OK, history.Int(v))
		}
		if i == 20 {
			reg.nemesis("start-partition")
			reg.op(4, "write", "k2", history.Int(1000), history.OK, history.Int(1000))
			reg.op(5, "write", "k2", history.Int(1001), history.OK, history.Int(1001))
			reg.op(6, "read", "k2", history.Nil(), history.OK, history.Int(1000)) // stale
			reg.nemesis("stop-partition")
		}
	}
	// counter: increments, one lost
	ctr := &hb{}
	for i := 0; i < 30; i++ {
		ctr.op(i%4, "incr", "c", history.Int(1), history.OK, history.Int(1))
		ctr.op(4, "read", "c", history.Nil(), history.OK, history.Int(int64(i+1)))
	}
	ctr.op(5, "read", "c", history.Nil(), history.OK, history.Int(29))
	// set: adds, one lost
	set := &hb{}
	for i := int64(1); i <= 20; i++ {
		set.op(int(i%3), "add", "s", history.Int(i), history.OK, history.Int(i))
	}
	all := make([]int64, 0, 20)
	for i := int64(1); i <= 20; i++ {
		if i != 7 {
			all = append(all, i)
		}
	}
	set.op(4, "read", "s", history.Nil(), history.OK, history.List(all...))

	cases := []struct {
		name     string
		ops      []history.Op
		workload string
		target   string
		maxOps   int // client operations left, at most
		key      string
	}{
		{"register stale read", reg.ops, WorkloadRegister, Linearizable, 3, "k2"},
		{"counter lost increment", ctr.ops, WorkloadCounter, LostIncrements, 31, "c"},
		{"set lost add", set.ops, WorkloadSet, LostUpdates, 2, "s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload = tc.workload
			res, err := Shrink(context.Background(), tc.ops, ShrinkConfig{Check: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Target) != 1 || res.Target[0] != tc.target {
				t.Errorf("target: got %v, want [%s]", res.Target, tc.target)
			}
			if res.Results.Checkers[tc.target].Valid != Invalid {
				t.Errorf("shrunk history: %s got %v, want invalid", tc.target, res.Results.Checkers[tc.target].Valid)
			}
			if res.AfterOps > tc.maxOps || res.AfterOps >= res.BeforeOps {
				t.Errorf("operations: got %d -> %d, want at most %d", res.BeforeOps, res.AfterOps, tc.maxOps)
			}
			if res.Key != tc.key {
				t.Errorf("key: got %q, want %q", res.Key, tc.key)
			}
			if err := history.Validate(res.Ops); err != nil {
				t.Errorf("shrunk history is malformed: %v", err)
			}
			for i, op := range res.Ops {
				if op.Index != int64(i) {
					t.Fatalf("op %d has index %d, want renumbered", i, op.Index)
				}
			}
		})
	}

	// the register case keeps the partition that was active around the stale read
	cfg := DefaultConfig()
	cfg.Workload = WorkloadRegister
	res, _ := Shrink(context.Background(), reg.ops, ShrinkConfig{Check: cfg})
	nem := 0
	for _, op := range res.Ops {
		if op.Process.IsNemesis() {
			nem++
		}
	}
	if nem == 0 {
		t.Errorf("register: got no nemesis records, want the partition around the anomaly")
	}
	// the set case keeps the final read and exactly the lost element's add
	cfg.Workload = WorkloadSet
	res, _ = Shrink(context.Background(), set.ops, ShrinkConfig{Check: cfg})
	if len(res.Ops) != 4 || res.Ops[0].Value.Int != 7 {
		t.Errorf("set: got %v, want the add of 7 and the read", res.Ops)
	}
}

func TestShrinkNothingToDo(t *testing.T) {
	h := &hb{}
	h.op(0, "write", "k", history.Int(1), history.OK, history.Int(1))
	h.op(1, "read", "k", history.Nil(), history.OK, history.Int(1))
	cfg := DefaultConfig()
	cfg.Workload = WorkloadRegister
	if _, err := Shrink(context.Background(), h.ops, ShrinkConfig{Check: cfg}); !errors.Is(err, ErrNotFailing) {
		t.Errorf("valid history: got %v, want ErrNotFailing", err)
	}
	bad := []history.Op{{Process: 1, Type: history.OK, F: "read"}}
	if _, err := Shrink(context.Background(), bad, ShrinkConfig{Check: cfg}); !errors.Is(err, ErrInvalidHistory) {
		t.Errorf("malformed history: got %v, want ErrInvalidHistory", err)
	}
}
