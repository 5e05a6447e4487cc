package workloads

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// loop is a minimal event loop in virtual time for Procs: timers ordered by (time, order set).
type loop struct {
	now  time.Duration
	seq  int
	evs  []loopEv
	dead map[int]bool
}

type loopEv struct {
	at  time.Duration
	seq int
	f   func()
}

func (l *loop) Now() time.Duration { return l.now }

func (l *loop) After(d time.Duration, f func()) func() {
	l.seq++
	id := l.seq
	l.evs = append(l.evs, loopEv{at: l.now + d, seq: id, f: f})
	return func() { l.dead[id] = true }
}

// run fires events until none is left or the time passes until.
func (l *loop) run(until time.Duration) {
	for len(l.evs) > 0 {
		sort.Slice(l.evs, func(i, j int) bool {
			if l.evs[i].at != l.evs[j].at {
				return l.evs[i].at < l.evs[j].at
			}
			return l.evs[i].seq < l.evs[j].seq
		})
		e := l.evs[0]
		if e.at > until {
			return
		}
		l.evs = l.evs[1:]
		l.now = e.at
		if !l.dead[e.seq] {
			e.f()
		}
	}
}

// asyncMem is memClient answering after a millisecond of loop time; a call on key "k0" is
// never answered (the store hangs), so its op times out.
type asyncMem struct {
	l *loop
	c *memClient
}

func (a asyncMem) later(key string, f func()) {
	if key != "k0" {
		a.l.After(time.Millisecond, f)
	}
}

func (a asyncMem) Get(key string, done func([]string, string, error)) {
	v, cc, err := a.c.Get(context.Background(), key)
	a.later(key, func() { done(v, cc, err) })
}

func (a asyncMem) Put(key, value, causal string, done func(error)) {
	a.later(key, func() { done(a.c.Put(context.Background(), key, value, causal)) })
}

func (a asyncMem) Incr(key string, delta int64, done func(error)) {
	a.later(key, func() { done(a.c.Incr(context.Background(), key, delta)) })
}

func (a asyncMem) Counter(key string, done func(int64, error)) {
	n, err := a.c.Counter(context.Background(), key)
	a.later(key, func() { done(n, err) })
}

func (a asyncMem) SetAdd(key, elem string, done func(error)) {
	a.later(key, func() { done(a.c.SetAdd(context.Background(), key, elem)) })
}

func (a asyncMem) SetRead(key string, done func([]string, error)) {
	elems, err := a.c.SetRead(context.Background(), key)
	a.later(key, func() { done(elems, err) })
}

type sliceRec struct {
	l   *loop
	ops []history.Op
}

func (r *sliceRec) Record(op history.Op) history.Op {
	op.Index, op.Time = int64(len(r.ops)), int64(r.l.now)
	r.ops = append(r.ops, op)
	return op
}

// TestProcs: on an event loop, workers keep one op outstanding per process, an op the store
// never answers ends info at OpTimeout and retires its process (the worker goes on as
// process+Concurrency), the rate holds, and final reads read every key by fresh processes.
func TestProcs(t *testing.T) {
	for _, w := range []string{Register, Set, Counter} {
		t.Run(w, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Workload, cfg.Keys, cfg.Concurrency, cfg.Rate = w, 3, 4, 100
			cfg.OpTimeout = 500 * time.Millisecond
			l := &loop{dead: map[int]bool{}}
			st := newMemStore()
			rec := &sliceRec{l: l}
			var ctrs Counters
			newClient := func(p int) (AsyncClient, string) { return asyncMem{l: l, c: &memClient{s: st}}, "n1" }
			p, err := NewProcs(cfg, l, newClient, rec, &ctrs, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			p.Start(10 * time.Second)
			l.run(10 * time.Second)
			l.run(11 * time.Second) // ops in flight end
			if n := p.InFlight(); n != 0 {
				t.Fatalf("%d ops in flight after their deadline: want 0", n)
			}
			open := map[history.Process]history.Op{}
			retired := map[history.Process]bool{}
			invoked := 0
			for _, op := range rec.ops {
				if op.Type == history.Invoke {
					invoked++
					if prev, ok := open[op.Process]; ok {
						t.Fatalf("process %d invoked %v with %v still open", op.Process, op, prev)
					}
					if retired[op.Process] {
						t.Fatalf("process %d used after it was retired: %v", op.Process, op)
					}
					open[op.Process] = op
					continue
				}
				inv := open[op.Process]
				delete(open, op.Process)
				hung := op.Key == "k0"
				switch {
				case hung && op.Type != history.Info && !(op.Type == history.Fail && cfg.Workload != Register && !cfg.CRDT):
					t.Fatalf("op on the hung key ended %s: want info (or fail in a read-modify-write's read step): %v", op.Type, op)
				case hung && op.Time-inv.Time != int64(cfg.OpTimeout):
					t.Fatalf("op on the hung key took %s: want the op timeout %s", time.Duration(op.Time-inv.Time), cfg.OpTimeout)
				case !hung && op.Type != history.OK:
					t.Fatalf("op ended %s: want ok: %v", op.Type, op)
				}
				if op.Type == history.Info {
					retired[op.Process] = true
				}
			}
			if ctrs.Info.Load() == 0 || len(retired) == 0 || ctrs.NextProcess.Load() <= int64(cfg.Concurrency) {
				t.Fatalf("info %d, retired %d, next process %d: want timeouts that retire processes", ctrs.Info.Load(), len(retired), ctrs.NextProcess.Load())
			}
			// A worker's ops are 40 ms apart (4 workers at 100/s), but a third of them (on k0)
			// hold it for the 500 ms timeout, after which it does not burst: about
			// 10 s / (2/3*40 ms + 1/3*500 ms) = 52 ops a worker, 207 in all.
			if invoked < 150 || invoked > 300 {
				t.Fatalf("%d ops invoked in 10s: want about 207 (between 150 and 300)", invoked)
			}

			cfg.FinalProcess = int(ctrs.NextProcess.Load())
			n := len(rec.ops)
			var ferr error
			finished := false
			if err := FinalReadsAsync(cfg, l, newClient, rec, zerolog.Nop(), func(err error) { finished, ferr = true, err }); err != nil {
				t.Fatal(err)
			}
			l.run(time.Hour)
			if !finished || ferr == nil {
				t.Fatalf("final reads: finished %v, %v: want an error naming k0, which never answers", finished, ferr)
			}
			reads := rec.ops[n:]
			// k0: FinalTries tries, each info; k1, k2: one ok read each.
			if want := 2*cfg.FinalTries + 4; len(reads) != want {
				t.Fatalf("final reads recorded %d ops, want %d", len(reads), want)
			}
			for _, op := range reads {
				if int(op.Process) < cfg.FinalProcess || op.F != history.FRead {
					t.Fatalf("final read %v: want a read by a process from %d", op, cfg.FinalProcess)
				}
			}
		})
	}
}
