package simrt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/workloads"
)

// ErrNothingToShrink: the scenario does not fail (the target checkers are not all invalid).
var ErrNothingToShrink = errors.New("the scenario does not fail: nothing to shrink")

// ShrinkOptions say what to shrink and how far.
type ShrinkOptions struct {
	Store Store
	Log   zerolog.Logger
	// Schedule is the run's executed fault schedule (nil: generated from the seed).
	Schedule *nemesis.Schedule
	// Script is the run's client script (nil: generated from the seed).
	Script workloads.Script
	// Target are the checkers that must stay invalid (nil: the deciding checkers the scenario
	// is invalid on as given).
	Target []string
	// MaxRuns bounds the simulations (the first one, which establishes the failure, included).
	MaxRuns int
	// KeepTime: do not shorten the run's time.
	KeepTime bool
	// Out is the folder the shrunk scenario's run is saved to (Options.Dir); "" saves nothing.
	Out string
}

// ShrinkResult is the shrunk scenario and how it was found.
type ShrinkResult struct {
	Target                     []string // the checkers that stay invalid
	EventsBefore, EventsAfter  int      // fault events
	OpsBefore, OpsAfter        int      // client ops (script steps)
	TimeBefore, TimeAfter      time.Duration
	Runs                       int  // simulations done
	Incomplete                 bool // stopped by MaxRuns or the context: a smaller scenario may exist
	Steps                      []string
	Config                     harness.Config   // the shrunk scenario's config (Time may be shorter)
	Schedule                   nemesis.Schedule // its fault schedule
	Script                     workloads.Script // its client ops
	Outcome                    *Outcome         // its saved run (with Out), else its last simulation
	Wall                       time.Duration    // the search's wall time
	SimWall, CheckWall         time.Duration    // of which simulating and checking the candidates
	FirstHistory, FinalHistory int              // history lengths (records)
}

// shrinker is one search in progress.
type shrinker struct {
	ctx    context.Context
	opt    ShrinkOptions
	target []string
	res    *ShrinkResult
}

// errBudget stops the search: MaxRuns reached or the context ended.
var errBudget = errors.New("simrt: shrink: budget")

// evaluate simulates one candidate and checks it, without saving anything.
func (s *shrinker) evaluate(cfg harness.Config, sched nemesis.Schedule, script workloads.Script) (*Outcome, *checker.Results, error) {
	if s.ctx.Err() != nil || s.opt.MaxRuns > 0 && s.res.Runs >= s.opt.MaxRuns {
		return nil, nil, errBudget
	}
	s.res.Runs++
	r := newRun(cfg, Options{Store: s.opt.Store, Log: zerolog.Nop(), Schedule: &sched, Script: script, NoSave: true})
	wall := time.Now()
	if err := r.simulate(s.ctx, sched); err != nil {
		return nil, nil, err
	}
	if r.out.Interrupted {
		return nil, nil, errBudget
	}
	r.out.Wall = time.Since(wall)
	s.res.SimWall += r.out.Wall
	defer func(t time.Time) { s.res.CheckWall += time.Since(t) }(time.Now())
	res, err := checker.Check(s.ctx, r.out.History, checker.Config{
		Workload:     cfg.Workload,
		Checks:       cfg.Checks,
		Timeout:      cfg.CheckTimeout,
		Dumps:        r.dumpsFinal,
		Log:          zerolog.Nop(),
		FinalProcess: r.finalProcess,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("simrt: check: %w", err)
	}
	return r.out, res, nil
}

// fails says whether every target checker is invalid in res.
func fails(res *checker.Results, target []string) bool {
	if res == nil || len(target) == 0 {
		return false
	}
	for _, name := range target {
		r := res.Checkers[name]
		if r == nil || r.Valid != checker.Invalid {
			return false
		}
	}
	return true
}

// InvalidCheckers lists the deciding checkers that found an anomaly, sorted.
func InvalidCheckers(res *checker.Results) []string {
	var out []string
	if res == nil {
		return nil
	}
	for name, r := range res.Checkers {
		if r != nil && r.Decides && r.Valid == checker.Invalid {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Shrink removes fault events and client ops from a failing simulated scenario (cfg with
// opt.Schedule and opt.Script) while it keeps failing with the same checkers: ddmin over the
// fault events, then over the keys the clients use (all of a key's ops at once), then over the
// single ops (chunks first, halving down to one); again over the events and the ops while that
// removes something (up to maxRounds); then it moves what is left to the run's start and ends
// the run after the last op or fault left.
//
// Candidates are deterministic, and only failing ones are kept, so the result always fails.
// But a removed op changes more than its own messages: the simulated network draws latencies
// from one random stream per directed link (sim), and the store's cores draw from theirs, so the
// ops left may see other latencies than in the scenario they came from. The search then keeps
// ops it could do without in a luckier draw; it does not make a wrong step. Every candidate is a whole deterministic simulation, checked. The smallest
// failing scenario is saved to opt.Out (a run folder `faultline replay` reproduces byte for
// byte). ErrNothingToShrink: the scenario as given does not fail.
func Shrink(ctx context.Context, cfg harness.Config, opt ShrinkOptions) (*ShrinkResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simrt: shrink: config: %w", err)
	}
	if err := Check(cfg); err != nil {
		return nil, fmt.Errorf("simrt: shrink: config: %w", err)
	}
	if opt.Store == nil {
		return nil, errors.New("simrt: shrink: no store")
	}
	start := time.Now()
	s := &shrinker{ctx: ctx, opt: opt, res: &ShrinkResult{}}
	sched, err := harness.Schedule(cfg, cfg.NodeIDs(), opt.Schedule)
	if err != nil {
		return nil, err
	}
	// Only the events within the run are played: the others are not part of the scenario.
	var played []nemesis.Event
	for _, e := range sched.Events {
		if e.At < cfg.Time {
			played = append(played, e)
		}
	}
	sched.Events = played

	// The scenario as given, then as a script: the same run, now with every op named.
	out, res, err := s.evaluate(cfg, sched, opt.Script)
	if err != nil {
		return nil, fmt.Errorf("simrt: shrink: the first run: %w", err)
	}
	s.target = opt.Target
	if len(s.target) == 0 {
		s.target = InvalidCheckers(res)
	}
	if !fails(res, s.target) {
		return nil, fmt.Errorf("%w (the run is %s; invalid: %v)", ErrNothingToShrink, res.Valid, InvalidCheckers(res))
	}
	r := s.res
	r.Target = s.target
	r.EventsBefore, r.TimeBefore, r.FirstHistory = len(sched.Events), cfg.Time, len(out.History)
	script := out.Script
	r.OpsBefore = script.Ops()
	if opt.Script == nil {
		if out2, res2, err := s.evaluate(cfg, sched, script); err != nil {
			return nil, fmt.Errorf("simrt: shrink: the scripted run: %w", err)
		} else if out2.HistorySHA256 != out.HistorySHA256 || !fails(res2, s.target) {
			return nil, fmt.Errorf("simrt: shrink: the run's own ops as a script do not reproduce it (history %s, scripted %s)", out.HistorySHA256, out2.HistorySHA256)
		}
	}
	r.Steps = append(r.Steps, fmt.Sprintf("scenario: %d fault events, %d client ops, %s; fails %v", r.EventsBefore, r.OpsBefore, cfg.Time, s.target))

	// The search; errBudget ends it where it is.
	err = s.search(&cfg, &sched, &script)
	if errors.Is(err, errBudget) {
		r.Incomplete = true
		r.Steps = append(r.Steps, fmt.Sprintf("stopped after %d runs (--max-runs or interrupted)", r.Runs))
	} else if err != nil {
		return nil, err
	}
	r.Config, r.Schedule, r.Script = cfg, sched, script
	r.EventsAfter, r.OpsAfter, r.TimeAfter = len(sched.Events), script.Ops(), cfg.Time

	if opt.Out != "" {
		o, err := Run(ctx, cfg, Options{Store: opt.Store, Log: opt.Log, Schedule: &sched, Script: script, Dir: opt.Out})
		if err != nil {
			return nil, fmt.Errorf("simrt: shrink: saving the shrunk scenario: %w", err)
		}
		r.Runs++
		if !fails(o.Results, s.target) {
			return nil, fmt.Errorf("simrt: shrink: the shrunk scenario did not fail when saved (history %s): the simulation is not deterministic", o.HistorySHA256)
		}
		r.Outcome = o
		r.FinalHistory = len(o.History)
	}
	r.Wall = time.Since(start)
	return r, nil
}

// search shrinks the events, the keys, the ops and the time, in that order.
func (s *shrinker) search(cfg *harness.Config, sched *nemesis.Schedule, script *workloads.Script) error {
	try := func(c harness.Config, sc nemesis.Schedule, sp workloads.Script) (bool, error) {
		_, res, err := s.evaluate(c, sc, sp)
		if err != nil {
			return false, err
		}
		return fails(res, s.target), nil
	}

	// Fault events, the keys (round 1), the single ops; again while a round removed an event or
	// an op (fewer ops may need fewer faults), up to maxRounds.
	for round := 1; round <= maxRounds; round++ {
		changed, err := s.round(round, cfg, sched, script, try)
		if err != nil {
			return err
		}
		if !changed {
			if round > 1 {
				s.res.Steps = append(s.res.Steps, fmt.Sprintf("round %d: no fault event or op can go any more (%d runs so far)", round, s.res.Runs))
			}
			break
		}
	}

	// The run's time: start it at the first op or fault left, end it just after the last.
	if s.opt.KeepTime {
		return nil
	}
	return s.shortenTime(cfg, sched, script, try)
}

// maxRounds bounds the rounds of the search (fault events, then client ops).
const maxRounds = 3

// round is one round of the search: ddmin over the fault events, then (round 1) over the keys,
// then over the single ops. changed: it removed a fault event or an op (the keys' pass aside).
func (s *shrinker) round(round int, cfg *harness.Config, sched *nemesis.Schedule, script *workloads.Script, try func(harness.Config, nemesis.Schedule, workloads.Script) (bool, error)) (bool, error) {
	r := s.res
	step := func(format string, args ...any) {
		if round > 1 {
			format = fmt.Sprintf("round %d: ", round) + format
		}
		r.Steps = append(r.Steps, fmt.Sprintf(format, args...))
	}

	// Fault events.
	events := sched.Events
	keep, err := s.ddmin(len(events), func(keep []int) (bool, error) {
		sc := *sched
		sc.Events = pick(events, keep)
		return try(*cfg, sc, *script)
	})
	sched.Events = pick(events, keep)
	changed := len(keep) < len(events)
	if round == 1 || changed {
		step("fault events: %d -> %d (%d runs so far)", len(events), len(sched.Events), r.Runs)
	}
	if err != nil {
		return changed, err
	}

	ops := flatten(*script)
	if round == 1 {
		// Client ops, a key's at once.
		var keys []int
		for _, o := range ops {
			if !slices.Contains(keys, o.Key) {
				keys = append(keys, o.Key)
			}
		}
		slices.Sort(keys)
		keep, err = s.ddmin(len(keys), func(keep []int) (bool, error) {
			return try(*cfg, *sched, unflatten(len(*script), onKeys(ops, pick(keys, keep))))
		})
		before := len(ops)
		ops = onKeys(ops, pick(keys, keep))
		*script = unflatten(len(*script), ops)
		step("keys: %d -> %d, client ops %d -> %d (%d runs so far)", len(keys), len(keep), before, len(ops), r.Runs)
		if err != nil {
			return changed, err
		}
	}

	// Client ops, chunks down to single ones.
	keep, err = s.ddmin(len(ops), func(keep []int) (bool, error) {
		return try(*cfg, *sched, unflatten(len(*script), pick(ops, keep)))
	})
	before := len(ops)
	ops = pick(ops, keep)
	*script = unflatten(len(*script), ops)
	changed = changed || len(ops) < before
	if round == 1 || len(ops) < before {
		step("client ops: %d -> %d (%d runs so far)", before, len(ops), r.Runs)
	}
	return changed, err
}

// shortenTime moves the scenario's ops and faults earlier so that the first of them is at the
// run's start, if it still fails so, then ends the run just after the last of them, if it still
// fails so.
func (s *shrinker) shortenTime(cfg *harness.Config, sched *nemesis.Schedule, script *workloads.Script, try func(harness.Config, nemesis.Schedule, workloads.Script) (bool, error)) error {
	r := s.res
	bounds := func(sc nemesis.Schedule, sp workloads.Script) (first, last time.Duration) {
		first = -1
		for _, e := range sc.Events {
			first, last = earliest(first, e.At), max(last, e.At)
		}
		for _, steps := range sp {
			for _, st := range steps {
				first, last = earliest(first, st.At), max(last, st.At)
			}
		}
		return max(first, 0).Truncate(time.Millisecond), last // whole milliseconds: a readable time
	}
	if first, _ := bounds(*sched, *script); first > 0 {
		sc := *sched
		sc.Events = make([]nemesis.Event, len(sched.Events))
		for i, e := range sched.Events {
			e.At -= first
			sc.Events[i] = e
		}
		sp := make(workloads.Script, len(*script))
		for w, steps := range *script {
			sp[w] = make([]workloads.Step, len(steps))
			for i, st := range steps {
				st.At -= first
				sp[w][i] = st
			}
		}
		c := *cfg
		c.Time -= first
		ok, err := try(c, sc, sp)
		if err != nil {
			return err
		}
		if ok {
			r.Steps = append(r.Steps, fmt.Sprintf("time: everything %s earlier, %s -> %s (%d runs so far)", first, cfg.Time, c.Time, r.Runs))
			*cfg, *sched, *script = c, sc, sp
		} else {
			r.Steps = append(r.Steps, fmt.Sprintf("time: not moved earlier (%s earlier no longer fails)", first))
		}
	}
	_, last := bounds(*sched, *script)
	t := (last/time.Millisecond + 1) * time.Millisecond
	if len(cfg.Nemesis) > 0 && cfg.NemesisInterval > 0 {
		// the config's rule (harness.Config.Validate): at least 0.8 of the nemesis interval
		t = max(t, (cfg.NemesisInterval*8/10 + time.Millisecond - 1).Truncate(time.Millisecond))
	}
	if t >= cfg.Time {
		return nil
	}
	c := *cfg
	c.Time = t
	if c.Validate() != nil {
		return nil
	}
	ok, err := try(c, *sched, *script)
	if err != nil {
		return err
	}
	if ok {
		r.Steps = append(r.Steps, fmt.Sprintf("time: ends soon after the last op or fault, %s -> %s (%d runs so far)", cfg.Time, t, r.Runs))
		*cfg = c
	} else {
		r.Steps = append(r.Steps, fmt.Sprintf("time: %s kept (ending at %s no longer fails)", cfg.Time, t))
	}
	return nil
}

// earliest is the smaller of a and b, a < 0 meaning none yet.
func earliest(a, b time.Duration) time.Duration {
	if a < 0 {
		return b
	}
	return min(a, b)
}

// ddmin finds a small subset of 0..n-1 for which test holds, test(all) being known to hold:
// Zeller's delta debugging by complements. It removes chunks of the current set (halves, then
// quarters, down to single items) while test still holds, and returns the set left: removing any
// one item of it makes test fail (unless stopped by errBudget, returned with the set so far).
func (s *shrinker) ddmin(n int, test func(keep []int) (bool, error)) ([]int, error) {
	keep := make([]int, n)
	for i := range keep {
		keep[i] = i
	}
	if n == 0 {
		return keep, nil
	}
	// Nothing at all first: a failure that needs none of these is common (and one run).
	if ok, err := test(nil); err != nil {
		return keep, err
	} else if ok {
		return nil, nil
	}
	gran := 2
	for len(keep) > 1 {
		gran = min(gran, len(keep))
		reduced := false
		for i := range gran {
			lo, hi := i*len(keep)/gran, (i+1)*len(keep)/gran
			cand := slices.Concat(keep[:lo], keep[hi:])
			ok, err := test(cand)
			if err != nil {
				return keep, err
			}
			if ok {
				keep = cand
				gran = max(gran-1, 2)
				reduced = true
				break
			}
		}
		if !reduced {
			if gran >= len(keep) {
				break
			}
			gran = min(2*gran, len(keep))
		}
	}
	return keep, nil
}

// pick is the items of xs at the indices keep (in order).
func pick[T any](xs []T, keep []int) []T {
	out := make([]T, 0, len(keep))
	for _, i := range keep {
		out = append(out, xs[i])
	}
	return out
}

// op is a script step with its worker.
type op struct {
	workloads.Step
	worker int
}

func flatten(s workloads.Script) []op {
	var out []op
	for w, steps := range s {
		for _, st := range steps {
			out = append(out, op{Step: st, worker: w})
		}
	}
	return out
}

func unflatten(workers int, ops []op) workloads.Script {
	s := make(workloads.Script, workers)
	for i := range s {
		s[i] = []workloads.Step{}
	}
	for _, o := range ops {
		s[o.worker] = append(s[o.worker], o.Step)
	}
	return s
}

// onKeys is the ops on the given keys.
func onKeys(ops []op, keys []int) []op {
	var out []op
	for _, o := range ops {
		if slices.Contains(keys, o.Key) {
			out = append(out, o)
		}
	}
	return out
}
