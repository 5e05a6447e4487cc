package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// This file drives the same workers without goroutines, blocking calls or clocks, for a run in
// virtual time (the simulator, --runtime sim): the caller owns time and says when a worker may
// start its next op; the store is reached through an AsyncClient whose calls return at once and
// answer through a callback. The op sequence, the rate limiter's schedule, the history values
// and the process semantics are the worker's own (gen, limiter, begin, finish), so a worker
// makes the same choices under either driver.

// AsyncClient is Client for a single-threaded event loop: every call returns at once and calls
// done exactly once later, from the loop (never from inside the call), with the same results and
// error classification as Client (ErrFailed: definitely not applied; any other error:
// indeterminate). Late answers are the caller's to ignore: an op's deadline is the Proc's.
type AsyncClient interface {
	Get(key string, done func(values []string, causal string, err error))
	Put(key, value, causal string, done func(error))
	Incr(key string, delta int64, done func(error))
	Counter(key string, done func(int64, error))
	SetAdd(key, elem string, done func(error))
	SetRead(key string, done func([]string, error))
}

// Clock is what a Proc needs of the loop's time: the current instant and a timer whose callback
// runs on the loop, unless cancelled first.
type Clock interface {
	Now() time.Duration
	After(d time.Duration, f func()) (cancel func())
}

// ErrOpTimeout is the error of an op whose deadline (Config.OpTimeout) passed before the store
// answered: indeterminate, like a context deadline in Run.
var ErrOpTimeout = errors.New("workloads: op timed out")

// Procs are the workers of one run driven by an event loop: Concurrency workers, each one
// process at a time, as Run drives them with goroutines.
type Procs struct {
	cfg       Config
	workers   []*worker
	clock     Clock
	newClient func(process int) (AsyncClient, string)
	clients   []AsyncClient
	seq       []uint64 // per worker: the current op's number, so late answers are ignored
	end       time.Duration
	ctrs      *Counters
	base      time.Time     // the limiter's times are base + the loop's time
	t0        time.Duration // the loop's time when the workers were made (Step.At is since then)
	script    Script        // SetScript: the ops to run instead of the generators'
	pos       []int         // per worker: the next step of script
	started   Script        // per worker: the ops started
}

// NewProcs prepares cfg.Concurrency workers. newClient gives the client and node id for a
// process (called again after a process is retired); rec records the history; ctrs may be nil.
func NewProcs(cfg Config, clock Clock, newClient func(process int) (AsyncClient, string), rec Recorder, ctrs *Counters, log zerolog.Logger) (*Procs, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil || newClient == nil || rec == nil {
		return nil, errors.New("workloads: procs: clock, newClient and rec must not be nil")
	}
	if cfg.CASShare > 0 {
		return nil, errors.New("workloads: procs: compare-and-set is not supported by the asynchronous driver")
	}
	if ctrs == nil {
		ctrs = new(Counters)
	}
	p := &Procs{cfg: cfg, clock: clock, newClient: newClient, ctrs: ctrs, base: time.Unix(0, 0).UTC()}
	keys := KeyNames(cfg)
	start := p.base.Add(clock.Now())
	for i := range cfg.Concurrency {
		p.workers = append(p.workers, &worker{
			cfg:      &p.cfg,
			keys:     keys,
			gen:      newGen(cfg, i),
			lim:      newLimiter(cfg, i, start),
			rec:      rec,
			ctrs:     ctrs,
			log:      log,
			process:  i,
			causal:   make([]string, len(keys)),
			lastRead: map[int]int64{},
		})
	}
	p.clients = make([]AsyncClient, cfg.Concurrency)
	p.seq = make([]uint64, cfg.Concurrency)
	p.t0 = clock.Now()
	p.started = make(Script, cfg.Concurrency)
	return p, nil
}

// Start schedules every worker's first op; no op starts at or after end (ops in flight then
// finish on their own deadline, as in Run).
func (p *Procs) Start(end time.Duration) {
	p.end = end
	for i := range p.workers {
		p.next(i)
	}
}

// next schedules worker i's next op as the limiter allows (Run's limiter.wait in loop time).
func (p *Procs) next(i int) {
	w := p.workers[i]
	now := p.clock.Now()
	if p.script != nil {
		if p.pos[i] >= len(p.script[i]) {
			return
		}
		at := max(p.t0+p.script[i][p.pos[i]].At, now)
		if at >= p.end {
			return
		}
		p.clock.After(at-now, func() {
			if p.clock.Now() >= p.end {
				return
			}
			p.op(i)
		})
		return
	}
	if w.lim.interval == 0 {
		if now < p.end {
			p.clock.After(0, func() { p.op(i) })
		}
		return
	}
	due := w.lim.next.Sub(p.base)
	at := max(due, now)
	if at >= p.end {
		return
	}
	p.clock.After(at-now, func() {
		if p.clock.Now() >= p.end {
			return
		}
		w.lim.advance(p.base.Add(at))
		p.op(i)
	})
}

// op runs one op of worker i.
func (p *Procs) op(i int) {
	w := p.workers[i]
	if p.clients[i] == nil {
		p.clients[i], w.node = p.newClient(w.process)
		w.ctrs.noteProcess(w.process)
	}
	c := p.clients[i]
	var read, cas bool
	var k int
	var v int64
	if p.script != nil {
		st := p.script[i][p.pos[i]]
		p.pos[i]++
		read, k, v = st.Read, st.Key, st.Value
	} else {
		read, k, v, cas = w.gen.op()
	}
	p.started[i] = append(p.started[i], Step{At: p.clock.Now() - p.t0, Read: read, Key: k, Value: v})
	inv, _, _ := w.begin(read, k, v, cas)
	p.seq[i]++
	seq := p.seq[i]
	rmwReading := false // a read-modify-write op still in its read step fails on timeout
	var cancel func()
	end := func(res opResult) {
		if p.seq[i] != seq {
			return // late: the op already ended
		}
		p.seq[i]++
		if cancel != nil {
			cancel()
		}
		w.finish(inv, k, v, res)
		if res.typ == history.Info {
			p.clients[i] = nil
		}
		p.next(i)
	}
	cancel = p.clock.After(p.cfg.OpTimeout, func() {
		err := fmt.Errorf("%w after %s", ErrOpTimeout, p.cfg.OpTimeout)
		if rmwReading {
			end(fail("read step: %w", err))
			return
		}
		end(result(history.Nil(), err))
	})
	switch {
	case read:
		readKeyAsync(&p.cfg, c, w.keys[k], func(res opResult, causal string) {
			if p.seq[i] == seq && res.typ == history.OK && p.cfg.Workload == Register {
				w.causal[k] = causal
			}
			end(res)
		})
	default:
		rmwReading = updateAsync(&p.cfg, c, w.keys[k], inv.Value, w.causal[k], func() bool { return p.seq[i] == seq }, func(r bool) { rmwReading = r }, end)
	}
}

// readKeyAsync is readKey through an AsyncClient; done gets the result and, for a register,
// the causal context read.
func readKeyAsync(cfg *Config, c AsyncClient, key string, done func(opResult, string)) {
	switch {
	case cfg.Workload == Register:
		c.Get(key, func(vals []string, cc string, err error) {
			if err != nil {
				done(result(history.Nil(), err), "")
				return
			}
			done(parsed(registerValue(vals)), cc)
		})
	case cfg.Workload == Set && cfg.CRDT:
		c.SetRead(key, func(elems []string, err error) {
			if err != nil {
				done(result(history.Nil(), err), "")
				return
			}
			done(parsed(setValue(elems)), "")
		})
	case cfg.Workload == Set:
		c.Get(key, func(vals []string, _ string, err error) {
			if err != nil {
				done(result(history.Nil(), err), "")
				return
			}
			done(parsed(rmwSet(vals)), "")
		})
	case cfg.CRDT:
		c.Counter(key, func(n int64, err error) { done(result(history.Int(n), err), "") })
	default:
		c.Get(key, func(vals []string, _ string, err error) {
			if err != nil {
				done(result(history.Nil(), err), "")
				return
			}
			n, perr := rmwCounter(vals)
			done(parsed(history.Int(n), perr), "")
		})
	}
}

// updateAsync is worker.update through an AsyncClient. It returns whether the op starts with
// a read step (read-modify-write), tells setReading when that step ends, and asks live before
// the write step whether the op is still running (its deadline may have passed).
func updateAsync(cfg *Config, c AsyncClient, key string, arg history.Value, causal string, live func() bool, setReading func(bool), done func(opResult)) bool {
	switch {
	case cfg.Workload == Register:
		c.Put(key, strconv.FormatInt(arg.Int, 10), causal, func(err error) { done(result(arg, err)) })
		return false
	case cfg.Workload == Set && cfg.CRDT:
		c.SetAdd(key, strconv.FormatInt(arg.Int, 10), func(err error) { done(result(arg, err)) })
		return false
	case cfg.CRDT:
		c.Incr(key, arg.Int, func(err error) { done(result(arg, err)) })
		return false
	}
	// Read-modify-write, as worker.update: a failure of the read step fails the op.
	c.Get(key, func(vals []string, cc string, err error) {
		if !live() {
			return
		}
		setReading(false)
		if err != nil {
			done(fail("read step: %w", err))
			return
		}
		var next string
		if cfg.Workload == Set {
			cur, err := rmwSet(vals)
			if err != nil {
				done(fail("read step: %w", err))
				return
			}
			elems := append(cur.List, arg.Int)
			slices.Sort(elems)
			next = joinInts(elems)
		} else {
			n, err := rmwCounter(vals)
			if err != nil {
				done(fail("read step: %w", err))
				return
			}
			next = strconv.FormatInt(n+arg.Int, 10)
		}
		c.Put(key, next, cc, func(err error) {
			if err != nil {
				done(result(arg, fmt.Errorf("write step: %w", err)))
				return
			}
			done(result(arg, nil))
		})
	})
	return true
}

// FinalReadsAsync is FinalReads on an event loop: every key read once by fresh processes from
// cfg.FinalProcess, each try bounded by OpTimeout, a failed try retried after try*100ms, up to
// FinalTries. done gets FinalReads's error (the keys that got no ok read), once all keys are
// done.
func FinalReadsAsync(cfg Config, clock Clock, newClient func(process int) (AsyncClient, string), rec Recorder, log zerolog.Logger, done func(error)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if clock == nil || newClient == nil || rec == nil || done == nil {
		return errors.New("workloads: final reads: clock, newClient, rec and done must not be nil")
	}
	f := &finalReads{cfg: cfg, clock: clock, newClient: newClient, rec: rec, log: log, done: done, keys: KeyNames(cfg), process: cfg.FinalProcess}
	if f.process == 0 {
		f.process = DefaultFinalProcess
	}
	clock.After(0, func() { f.try(0, 0) })
	return nil
}

type finalReads struct {
	cfg       Config
	clock     Clock
	newClient func(int) (AsyncClient, string)
	rec       Recorder
	log       zerolog.Logger
	done      func(error)
	keys      []string
	process   int
	missing   []string
}

// try reads key ki for the try-th time.
func (f *finalReads) try(ki, try int) {
	if ki == len(f.keys) {
		if len(f.missing) > 0 {
			f.done(fmt.Errorf("workloads: final reads: no ok read of %d key(s) after %d tries each: %s",
				len(f.missing), f.cfg.FinalTries, strings.Join(f.missing, ",")))
			return
		}
		f.done(nil)
		return
	}
	key := f.keys[ki]
	c, node := f.newClient(f.process)
	inv := history.Op{Process: history.Process(f.process), Type: history.Invoke, F: history.FRead, Key: key, Node: node}
	f.process++
	f.rec.Record(inv)
	ended := false
	var cancel func()
	end := func(res opResult) {
		if ended {
			return
		}
		ended = true
		if cancel != nil {
			cancel()
		}
		f.rec.Record(res.completion(inv))
		switch {
		case res.typ == history.OK:
			f.try(ki+1, 0)
		case try+1 < f.cfg.FinalTries:
			f.log.Debug().Str("key", key).Int("try", try+1).Str("type", string(res.typ)).Err(res.err).Msg("final read did not succeed")
			f.clock.After(time.Duration(try+1)*100*time.Millisecond, func() { f.try(ki, try+1) })
		default:
			f.missing = append(f.missing, key)
			f.try(ki+1, 0)
		}
	}
	cancel = f.clock.After(f.cfg.OpTimeout, func() {
		end(result(history.Nil(), fmt.Errorf("%w after %s", ErrOpTimeout, f.cfg.OpTimeout)))
	})
	readKeyAsync(&f.cfg, c, key, func(res opResult, _ string) { end(res) })
}

// InFlight is the number of workers with an op running.
func (p *Procs) InFlight() int {
	n := 0
	for i := range p.workers {
		if p.seq[i]%2 == 1 {
			n++
		}
	}
	return n
}

// Stop starts no more ops (those in flight finish on their own deadline).
func (p *Procs) Stop() { p.end = p.clock.Now() }
