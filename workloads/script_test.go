package workloads

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// TestScriptRepeats: the ops a generated run started, run as a script on a fresh loop, start
// the same ops at the same times with the same history; a script runs only its steps, each at
// its time or as soon as its worker is free.
func TestScriptRepeats(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys, cfg.Concurrency, cfg.Rate = 3, 4, 100
	cfg.OpTimeout = 500 * time.Millisecond
	run := func(script Script) (*Procs, []history.Op) {
		l := &loop{dead: map[int]bool{}}
		st := newMemStore()
		rec := &sliceRec{l: l}
		newClient := func(p int) (AsyncClient, string) { return asyncMem{l: l, c: &memClient{s: st}}, "n1" }
		p, err := NewProcs(cfg, l, newClient, rec, nil, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if script != nil {
			if err := p.SetScript(script); err != nil {
				t.Fatal(err)
			}
		}
		p.Start(3 * time.Second)
		l.run(5 * time.Second)
		return p, rec.ops
	}
	gen, genOps := run(nil)
	if gen.Started().Ops() == 0 {
		t.Fatal("the generated run started no ops")
	}
	again, againOps := run(gen.Started())
	if len(againOps) != len(genOps) {
		t.Fatalf("scripted: %d records, generated %d: want equal", len(againOps), len(genOps))
	}
	for i := range genOps {
		if !reflect.DeepEqual(genOps[i], againOps[i]) {
			t.Fatalf("record %d: scripted %v, generated %v: want equal", i, againOps[i], genOps[i])
		}
	}
	if again.Started().Ops() != gen.Started().Ops() {
		t.Fatalf("scripted run started %d ops, want %d", again.Started().Ops(), gen.Started().Ops())
	}

	// Two steps only: worker 1 writes k1 at 100ms and reads it at 100ms too (so the read waits
	// for the write to end).
	script := Script{{}, {{At: 100 * time.Millisecond, Key: 1, Value: 2}, {At: 100 * time.Millisecond, Read: true, Key: 1}}, {}, {}}
	_, ops := run(script)
	if len(ops) != 4 || ops[0].F != history.FWrite || ops[0].Time != int64(100*time.Millisecond) || ops[2].F != history.FRead ||
		ops[2].Time != ops[1].Time || !reflect.DeepEqual(ops[3].Value, history.Int(2)) {
		t.Fatalf("two-step script: got %v, want a write of 2 at 100ms, then a read of 2 as soon as it ended", ops)
	}
}

// TestScriptInvalid: a script that does not fit the config is refused, naming the problem.
func TestScriptInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys, cfg.Concurrency = 3, 2
	for _, tc := range []struct {
		s    Script
		want string
	}{
		{Script{{}}, "1 workers, the config has concurrency 2"},
		{Script{{{Key: 3}}, {}}, "worker 0 step 0: key 3 out of range"},
		{Script{{}, {{At: time.Second}, {At: time.Millisecond}}}, "worker 1 step 1: time 1ms out of order"},
	} {
		if err := tc.s.Validate(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v): %v, want an error containing %q", tc.s, err, tc.want)
		}
	}
}
