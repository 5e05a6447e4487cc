package workloads

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// Run drives the workload until ctx is done, then waits for the ops in flight (each bounded by
// OpTimeout) so every invocation has its completion, and returns nil. It returns an error only
// if it cannot start (an invalid cfg).
//
// newClient gives the client for a process and the id of the node it talks to (for Op.Node);
// it is called from the workers' goroutines, concurrently. Worker w starts as process w; an op
// ending indeterminate retires its process and the worker continues as process+Concurrency with
// a fresh client. ctrs may be nil.
func Run(ctx context.Context, cfg Config, newClient func(process int) (Client, string), rec Recorder, ctrs *Counters, log zerolog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if newClient == nil || rec == nil {
		return errors.New("workloads: run: newClient and rec must not be nil")
	}
	if ctrs == nil {
		ctrs = new(Counters)
	}
	keys := KeyNames(cfg)
	// In-flight ops finish on their own deadline after ctx is done, so the history does not end
	// in a burst of artificial info ops.
	opBase := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Concurrency {
		w := &worker{
			cfg:       &cfg,
			keys:      keys,
			gen:       newGen(cfg, i),
			lim:       newLimiter(cfg, i, start),
			rec:       rec,
			ctrs:      ctrs,
			newClient: newClient,
			log:       log,
			process:   i,
			causal:    make([]string, len(keys)),
			lastRead:  map[int]int64{},
		}
		wg.Go(func() { w.run(ctx, opBase) })
	}
	log.Debug().Str("workload", cfg.Workload).Bool("crdt", cfg.CRDT).Int("workers", cfg.Concurrency).
		Float64("rate", cfg.Rate).Msg("workload started")
	wg.Wait()
	log.Debug().Int64("invoked", ctrs.Invoked.Load()).Int64("ok", ctrs.OK.Load()).
		Int64("fail", ctrs.Fail.Load()).Int64("info", ctrs.Info.Load()).Msg("workload stopped")
	return nil
}

// worker runs one process at a time.
type worker struct {
	cfg       *Config
	keys      []string
	gen       *gen
	lim       *limiter
	rec       Recorder
	ctrs      *Counters
	newClient func(int) (Client, string)
	log       zerolog.Logger

	process int
	client  Client
	node    string
	// causal holds, per key, the causal context of this worker's latest read of it: register
	// writes pass it, as a client writing after a read would, so siblings do not pile up.
	causal []string
	// lastRead holds, per key, the value this worker last read (a compare-and-set's old value).
	lastRead map[int]int64
}

func (w *worker) run(ctx, opBase context.Context) {
	done := ctx.Done()
	for w.lim.wait(done) {
		if w.client == nil {
			w.client, w.node = w.newClient(w.process)
			w.ctrs.noteProcess(w.process)
		}
		read, k, v, cas := w.gen.op()
		opCtx, cancel := context.WithTimeout(opBase, w.cfg.OpTimeout)
		w.do(opCtx, read, k, v, cas)
		cancel()
	}
}

// do runs one op: records the invocation, calls the store, records the completion, and retires
// the process if the op ended indeterminate.
func (w *worker) do(ctx context.Context, read bool, k int, v int64, cas bool) {
	inv, old, cas := w.begin(read, k, v, cas)
	var res opResult
	switch {
	case read:
		res = w.read(ctx, k)
	case cas:
		res = w.cas(ctx, k, old, v)
	default:
		res = w.update(ctx, k, inv.Value)
	}
	w.finish(inv, k, v, res)
}

// begin records an op's invocation and returns it, with the compare-and-set's old value and
// whether the op is a compare-and-set after all (only once the process has read the key).
func (w *worker) begin(read bool, k int, v int64, cas bool) (history.Op, int64, bool) {
	inv := history.Op{Process: history.Process(w.process), Type: history.Invoke, Key: w.keys[k], Node: w.node}
	old, known := w.lastRead[k]
	cas = cas && known
	switch {
	case read:
		inv.F = history.FRead
	case cas:
		inv.F, inv.Value = history.FCAS, history.List(old, v)
	default:
		inv.F, inv.Value = w.updateOp(v)
	}
	w.rec.Record(inv)
	w.ctrs.Invoked.Add(1)
	return inv, old, cas
}

// finish records the completion of inv with res and retires the process if the op ended
// indeterminate (the next op gets a new process id and a fresh client).
// completion is the history record that ends inv with res: its type, and its value when ok,
// or the error.
func (res opResult) completion(inv history.Op) history.Op {
	comp := inv
	comp.Type = res.typ
	if res.typ == history.OK {
		comp.Value = res.value
	}
	if res.err != nil {
		comp.Error = res.err.Error()
	}
	return comp
}

func (w *worker) finish(inv history.Op, k int, v int64, res opResult) {
	read := inv.F == history.FRead
	if read && res.typ == history.OK && res.value.Kind == history.KindInt && w.cfg.CASShare > 0 {
		w.lastRead[k] = res.value.Int
	}
	if !read && res.typ == history.OK && w.cfg.Workload == Register && w.cfg.CASShare > 0 {
		w.lastRead[k] = v // the value this process knows the key holds
	}
	w.rec.Record(res.completion(inv))
	switch res.typ {
	case history.OK:
		w.ctrs.OK.Add(1)
	case history.Fail:
		w.ctrs.Fail.Add(1)
	default:
		w.ctrs.Info.Add(1)
		w.log.Debug().Int("process", w.process).Int("next", w.process+w.cfg.Concurrency).
			Str("f", inv.F).Str("key", inv.Key).Err(res.err).Msg("process retired after an indeterminate op")
		w.process += w.cfg.Concurrency
		w.client = nil
		for i := range w.causal {
			w.causal[i] = ""
		}
	}
}

// updateOp names the workload's update and its history argument.
func (w *worker) updateOp(v int64) (string, history.Value) {
	switch w.cfg.Workload {
	case Register:
		return history.FWrite, history.Int(v)
	case Set:
		return history.FAdd, history.Int(v)
	}
	return history.FIncr, history.Int(1)
}

// opResult is how an op ended: its completion type, its result value (for ok) and the error.
type opResult struct {
	typ   history.Type
	value history.Value
	err   error
}

func result(v history.Value, err error) opResult {
	return opResult{typ: typeOf(err), value: v, err: err}
}

// fail is an op that definitely did not take effect.
func fail(format string, args ...any) opResult {
	return opResult{typ: history.Fail, err: fmt.Errorf(format, args...)}
}
