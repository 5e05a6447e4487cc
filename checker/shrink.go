package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// ErrNotFailing is returned by Shrink when the history does not fail the checkers it was asked
// to keep failing: there is nothing to shrink.
var ErrNotFailing = errors.New("checker: the history shows no anomaly to shrink")

// ShrinkConfig says how to shrink.
type ShrinkConfig struct {
	Check Config // how each candidate is checked (workload, model, timeout); Checks and OutDir are set by Shrink
	// Target are the checkers that must keep failing; nil = the deciding checkers the whole
	// history fails, except convergence (it needs the replicas' dumps, not the history).
	Target    []string
	MaxChecks int // bound on re-checks; 0 = 5000
	_         struct{}
}

// ShrinkResult is a smaller history that fails the same way.
type ShrinkResult struct {
	Ops        []history.Op // the shrunk history, renumbered from 0, original times kept
	Target     []string     // the checkers it still fails
	Key        string       // the one key it keeps ("" when the history has no keys)
	Before     int          // records before
	After      int          // records after (nemesis records included)
	BeforeOps  int          // client operations before
	AfterOps   int          // client operations after
	Checks     int          // re-checks made
	Steps      []string     // what each phase did, in words
	Results    *Results     // the verdict on the shrunk history
	Incomplete bool         // stopped at MaxChecks or ctx: smaller may exist
}

// unit is one client operation: its invocation and completion records (-1 when it never
// completed), which always go or stay together.
type unit struct {
	invoke, complete int
	key              string
}

// Shrink cuts a failing history down to a small one that fails the same checkers the same
// way: first the failing key only, then the shortest window of operations that still fails,
// then delta debugging (ddmin) over the operations left, re-checking every candidate. An
// invocation and its completion are kept or dropped together. A candidate only counts when
// the anomaly keeps its kind: a read must still have a write of the value it returned (else
// "read of a value nobody wrote" would stand in for the real anomaly), lost set adds stay lost
// with nothing unexpected, lost increments stay lost with no excess. Nemesis records inside the
// window (and faults active when it opens) are kept for context.
func Shrink(ctx context.Context, ops []history.Op, cfg ShrinkConfig) (*ShrinkResult, error) {
	if err := cfg.Check.Validate(); err != nil {
		return nil, err
	}
	pairs, err := history.Pair(ops)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHistory, err)
	}
	s := &shrinker{ctx: ctx, ops: ops, cfg: cfg, max: cfg.MaxChecks}
	if s.max <= 0 {
		s.max = 5000
	}
	s.cfg.Check.OutDir = ""
	s.cfg.Check.Log = zerolog.Nop()
	if s.cfg.Check.Workload == "" {
		s.cfg.Check.Workload = inferWorkload(s.cfg.Check.Model, pairs)
	}

	all := make([]unit, len(pairs))
	for i, p := range pairs {
		all[i] = unit{invoke: p.Invoke, complete: p.Complete, key: p.Key}
	}
	full, err := Check(ctx, ops, s.checkConfig(nil))
	if err != nil {
		return nil, err
	}
	s.checks++
	target := cfg.Target
	if target == nil {
		for _, name := range full.Selected {
			if r := full.Checkers[name]; r != nil && r.Decides && r.Valid == Invalid && name != Convergence {
				target = append(target, name)
			}
		}
	}
	if len(target) == 0 || !s.sameAnomaly(full, target) {
		return nil, fmt.Errorf("%w (target %s, verdict %s)", ErrNotFailing, strings.Join(target, ", "), full.Valid)
	}
	s.target = target
	res := &ShrinkResult{Target: target, Before: len(ops), BeforeOps: len(all)}

	// 1. One key: the failing key with the fewest operations.
	cur := all
	byKey := map[string][]unit{}
	for _, u := range all {
		byKey[u.key] = append(byKey[u.key], u)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(byKey[keys[i]]) != len(byKey[keys[j]]) {
			return len(byKey[keys[i]]) < len(byKey[keys[j]])
		}
		return keys[i] < keys[j]
	})
	if len(keys) > 1 {
		for _, k := range keys {
			if s.fails(byKey[k]) {
				cur = byKey[k]
				res.Key = k
				res.Steps = append(res.Steps, fmt.Sprintf("key %s alone still fails: %d of %d operations", k, len(cur), len(all)))
				break
			}
		}
		if res.Key == "" {
			res.Steps = append(res.Steps, "no single key fails alone: kept every key")
		}
	} else if len(keys) == 1 {
		res.Key = keys[0]
	}

	// 1b. Sets: keep only some elements. Set elements are independent, so the history projected
	// onto a subset of them (their adds; reads showing only them) is one the store could have
	// produced with just those adds.
	if s.cfg.Check.Workload == WorkloadSet {
		if elems := setElements(s.ops, cur); len(elems) > 1 {
			keep := s.ddminElems(cur, elems)
			if len(keep) < len(elems) {
				s.ops = projectSet(s.build(cur, true), keep)
				cur = unitsOf(s.ops)
				res.Steps = append(res.Steps, fmt.Sprintf("elements: %d of %d kept (the history projected onto them): %d operations", len(keep), len(elems), len(cur)))
			}
		}
	}

	// 2. The shortest window: the shortest prefix that fails, then the shortest suffix of it.
	n := len(cur)
	end := sort.Search(n, func(j int) bool { return s.fails(cur[:j+1]) }) + 1
	if end > n || !s.fails(cur[:end]) {
		end = n
	}
	start := sort.Search(end, func(i int) bool { return !s.fails(cur[i+1 : end]) })
	if start >= end || !s.fails(cur[start:end]) {
		start = 0
	}
	if start > 0 || end < n {
		res.Steps = append(res.Steps, fmt.Sprintf("window of operations %d..%d still fails: %d operations", start, end-1, end-start))
	}
	cur = cur[start:end]

	// 3. ddmin over what is left.
	before := len(cur)
	cur = s.ddmin(cur)
	if len(cur) < before {
		res.Steps = append(res.Steps, fmt.Sprintf("delta debugging removed %d more operations: %d left", before-len(cur), len(cur)))
	}

	res.Ops = s.build(cur, true)
	res.After = len(res.Ops)
	res.AfterOps = len(cur)
	res.Checks = s.checks
	res.Incomplete = s.exhausted || ctx.Err() != nil
	final, err := Check(context.WithoutCancel(ctx), res.Ops, s.checkConfig(nil))
	if err != nil {
		return nil, err
	}
	res.Results = final
	return res, nil
}

type shrinker struct {
	ctx       context.Context
	ops       []history.Op
	cfg       ShrinkConfig
	target    []string
	max       int
	checks    int
	exhausted bool
}

func (s *shrinker) checkConfig(checks []string) Config {
	c := s.cfg.Check
	c.Checks = checks
	if checks == nil {
		c.Checks = s.cfg.Check.Checks
	}
	return c
}

// build turns units into a history: their records in original order, renumbered; with
// withNemesis, the nemesis records of their time window (and faults active when it opens).
func (s *shrinker) build(units []unit, withNemesis bool) []history.Op {
	idx := make([]int, 0, 2*len(units))
	for _, u := range units {
		idx = append(idx, u.invoke)
		if u.complete >= 0 {
			idx = append(idx, u.complete)
		}
	}
	if withNemesis && len(idx) > 0 {
		lo, hi := s.ops[idx[0]].Time, s.ops[idx[0]].Time
		for _, i := range idx {
			lo, hi = min(lo, s.ops[i].Time), max(hi, s.ops[i].Time)
		}
		active := map[string]int{} // fault family and node -> its latest record before the window
		for i := range s.ops {
			op := &s.ops[i]
			if !op.Process.IsNemesis() {
				continue
			}
			if op.Time < lo {
				active[faultFamily(op.F)+"|"+op.Node] = i
				continue
			}
			if op.Time <= hi {
				idx = append(idx, i)
			}
		}
		for k, i := range active {
			if undoesFault(s.ops[i].F) {
				delete(active, k)
			}
		}
		for _, i := range active {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	out := make([]history.Op, len(idx))
	for j, i := range idx {
		out[j] = s.ops[i]
		out[j].Index = int64(j)
		out[j].Line = 0
	}
	return out
}

// fails reports whether the history of units shows the target anomaly, of the same kind.
func (s *shrinker) fails(units []unit) bool {
	if len(units) == 0 || s.ctx.Err() != nil {
		return false
	}
	if s.checks >= s.max {
		s.exhausted = true
		return false
	}
	ops := s.build(units, false)
	if !s.readsExplained(ops) {
		return false
	}
	s.checks++
	res, err := Check(s.ctx, ops, s.checkConfig(s.target))
	if err != nil {
		return false
	}
	return s.sameAnomaly(res, s.target)
}

// sameAnomaly reports whether every target checker is invalid, for the same kind of reason.
func (s *shrinker) sameAnomaly(res *Results, target []string) bool {
	for _, name := range target {
		r := res.Checkers[name]
		if r == nil || r.Valid != Invalid {
			return false
		}
		switch d := r.Details.(type) {
		case *SetDetails:
			if d.Lost == 0 || d.Unexpected > 0 {
				return false
			}
		case *LostIncrementsDetails:
			if d.Lost == 0 || d.Excess > 0 {
				return false
			}
		}
	}
	return true
}

// readsExplained reports whether every ok register read (and every ok cas's expected value)
// has a write of its value in ops, so a shrunk history cannot fail on a value nobody wrote.
func (s *shrinker) readsExplained(ops []history.Op) bool {
	if s.cfg.Check.Workload != WorkloadRegister {
		return true
	}
	pairs, err := history.Pair(ops)
	if err != nil {
		return false
	}
	type kv struct {
		key string
		v   int64
	}
	written := map[kv]bool{}
	for _, p := range pairs {
		switch {
		case p.F == history.FWrite && p.Input.Kind == history.KindInt:
			written[kv{p.Key, p.Input.Int}] = true
		case p.F == history.FCAS && len(p.Input.List) == 2:
			written[kv{p.Key, p.Input.List[1]}] = true
		}
	}
	for _, p := range pairs {
		if p.Type != history.OK {
			continue
		}
		var need []int64
		switch {
		case p.F == history.FRead && p.Output.Kind == history.KindInt:
			need = []int64{p.Output.Int}
		case p.F == history.FRead && p.Output.Kind == history.KindList:
			need = p.Output.List
		case p.F == history.FCAS && len(p.Input.List) == 2:
			need = p.Input.List[:1]
		}
		for _, v := range need {
			if !written[kv{p.Key, v}] {
				return false
			}
		}
	}
	return true
}

// ddmin is Zeller's delta debugging: the result still fails and removing any one of its
// chunks at the final granularity makes it pass (1-minimal when it ran to the end).
func (s *shrinker) ddmin(units []unit) []unit {
	n := 2
	for len(units) >= 2 {
		chunk := (len(units) + n - 1) / n
		reduced := false
		// try each complement (remove one chunk)
		for i := 0; i < len(units); i += chunk {
			j := min(i+chunk, len(units))
			cand := append(slices.Clone(units[:i]), units[j:]...)
			if s.fails(cand) {
				units = cand
				n = max(n-1, 2)
				reduced = true
				break
			}
		}
		if s.exhausted || s.ctx.Err() != nil {
			break
		}
		if !reduced {
			if n >= len(units) {
				break
			}
			n = min(2*n, len(units))
		}
	}
	return units
}

// unitsOf pairs ops into units (ops must be well formed).
func unitsOf(ops []history.Op) []unit {
	pairs, _ := history.Pair(ops)
	out := make([]unit, len(pairs))
	for i, p := range pairs {
		out[i] = unit{invoke: p.Invoke, complete: p.Complete, key: p.Key}
	}
	return out
}

// setElements lists the elements added by the units, sorted.
func setElements(ops []history.Op, units []unit) []int64 {
	var out []int64
	for _, u := range units {
		if op := ops[u.invoke]; op.F == history.FAdd && op.Value.Kind == history.KindInt {
			out = append(out, op.Value.Int)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// projectSet keeps the adds of the kept elements and every other op, with reads showing only
// the kept elements; ops must be renumbered-free of gaps (build's output).
func projectSet(ops []history.Op, keep []int64) []history.Op {
	out := make([]history.Op, 0, len(ops))
	drop := map[history.Process]bool{} // processes whose pending add was dropped
	for _, op := range ops {
		if op.F == history.FAdd && !op.Process.IsNemesis() {
			if op.Type == history.Invoke {
				drop[op.Process] = op.Value.Kind == history.KindInt && !slices.Contains(keep, op.Value.Int)
			}
			if drop[op.Process] {
				continue
			}
		}
		if op.F == history.FRead && op.Value.Kind == history.KindList {
			var xs []int64
			for _, x := range op.Value.List {
				if slices.Contains(keep, x) {
					xs = append(xs, x)
				}
			}
			op.Value = history.List(xs...)
		}
		op.Index = int64(len(out))
		out = append(out, op)
	}
	return out
}

// ddminElems is ddmin over set elements: the smallest subset whose projection still fails.
func (s *shrinker) ddminElems(units []unit, elems []int64) []int64 {
	base := s.build(units, false)
	failsWith := func(keep []int64) bool {
		if len(keep) == 0 || s.ctx.Err() != nil {
			return false
		}
		if s.checks >= s.max {
			s.exhausted = true
			return false
		}
		s.checks++
		res, err := Check(s.ctx, projectSet(base, keep), s.checkConfig(s.target))
		return err == nil && s.sameAnomaly(res, s.target)
	}
	n := 2
	for len(elems) >= 2 {
		chunk := (len(elems) + n - 1) / n
		reduced := false
		for i := 0; i < len(elems); i += chunk {
			j := min(i+chunk, len(elems))
			cand := append(slices.Clone(elems[:i]), elems[j:]...)
			if failsWith(cand) {
				elems, n, reduced = cand, max(n-1, 2), true
				break
			}
		}
		if s.exhausted || s.ctx.Err() != nil || (!reduced && n >= len(elems)) {
			break
		}
		if !reduced {
			n = min(2*n, len(elems))
		}
	}
	return elems
}

// faultFamily groups a nemesis record with the one that undoes it: start-x and stop-x are "x",
// clock-bump and clock-reset "clock", kill and restart "kill", pause and resume "pause".
func faultFamily(f string) string {
	if x, ok := strings.CutPrefix(f, "start-"); ok {
		return x
	}
	if x, ok := strings.CutPrefix(f, "stop-"); ok {
		return x
	}
	switch f {
	case "restart":
		return "kill"
	case "resume":
		return "pause"
	}
	if i := strings.IndexByte(f, '-'); i > 0 {
		return f[:i]
	}
	return f
}

// undoesFault reports whether a nemesis record ends a fault (nothing left active after it).
func undoesFault(f string) bool {
	return strings.HasPrefix(f, "stop-") || strings.HasSuffix(f, "-reset") || f == "restart" || f == "resume" || f == "heal"
}
