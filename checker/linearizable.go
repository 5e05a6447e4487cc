package checker

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

// LinearizableDetails are the linearizability checker's figures.
type LinearizableDetails struct {
	Model       string   `json:"model"`
	Keys        int      `json:"keys"`
	ValidKeys   int      `json:"valid_keys"`
	InvalidKeys []string `json:"invalid_keys,omitempty"` // sorted, at most 20
	Invalid     int      `json:"invalid"`                // how many keys are invalid
	UnknownKeys []string `json:"unknown_keys,omitempty"` // timed out or unsupported, at most 20
	Unknown     int      `json:"unknown"`
	Checked     int      `json:"checked_ops"` // operations given to porcupine
	Dropped     int      `json:"dropped_ops"` // failed ops and indeterminate reads: no effect
	// Unobserved counts indeterminate updates left out because no read or cas observed the
	// value they wrote (see pruneUnobserved): the verdict is the same with or without them.
	Unobserved   int  `json:"unobserved_ops,omitempty"`
	SiblingReads int  `json:"sibling_reads"` // register reads that returned several values
	TimedOut     bool `json:"timed_out,omitempty"`
	// Failures explains the first invalid keys: the operation no order allows.
	Failures      []LinearizableFailure `json:"failures,omitempty"`
	Visualization string                `json:"visualization,omitempty"`
}

// LinearizableFailure explains why one key is not linearizable.
type LinearizableFailure struct {
	Key string `json:"key"`
	// Op is the operation that no linearization can include: of the operations left out of
	// the longest valid ordering, the one that completed first.
	Op OpRef `json:"op"`
	// Linearized is how many of the key's operations the longest valid ordering holds, and
	// State the model's state after them.
	Linearized  int    `json:"linearized"`
	Total       int    `json:"total"`
	State       string `json:"state"`
	Explanation string `json:"explanation"`
}

// Kinds of operations and outputs in the porcupine models.
const (
	linRead uint8 = iota
	linWrite
	linCAS
	linAdd
	linIncr
)

const (
	outAny      uint8 = iota // indeterminate: the op may or may not have happened, output unknown
	outOK                    // acknowledged write, cas, add or incr
	outNil                   // read of an empty register
	outInt                   // read of one value
	outSet                   // set read: set holds the encoded elements
	outSiblings              // register read that returned several values: never legal
)

// linIn is a porcupine input: the op and its argument(s).
type linIn struct {
	f    uint8
	a, b int64
}

// linOut is a porcupine output.
type linOut struct {
	kind uint8
	v    int64
	set  string
}

// linMeta is a porcupine operation's metadata: where it came from.
type linMeta struct {
	key  string
	pair int
}

// nilReg is the register state of an empty register (a write of this value is unsupported).
const nilReg = int64(math.MinInt64)

// encodeSet encodes a sorted, de-duplicated set of elements as a string: comparable and
// hashable, so it can be a porcupine state.
func encodeSet(xs []int64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	s = slices.Compact(s)
	b := make([]byte, 8*len(s))
	for i, x := range s {
		binary.BigEndian.PutUint64(b[8*i:], uint64(x)^(1<<63)) // order-preserving
	}
	return string(b)
}

func decodeSet(s string) []int64 {
	xs := make([]int64, len(s)/8)
	for i := range xs {
		xs[i] = int64(binary.BigEndian.Uint64([]byte(s[8*i:8*i+8])) ^ (1 << 63))
	}
	return xs
}

func setAdd(s string, x int64) string {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(x)^(1<<63))
	n := len(s) / 8
	i := sort.Search(n, func(i int) bool { return s[8*i:8*i+8] >= string(e[:]) })
	if i < n && s[8*i:8*i+8] == string(e[:]) {
		return s
	}
	return s[:8*i] + string(e[:]) + s[8*i:]
}

// linModel returns the porcupine model for a model name: one register, set or counter per
// partition (Check partitions by key itself).
func linModel(model string) porcupine.Model {
	m := porcupine.Model{
		DescribeOperation: func(input, output any) string {
			in, out := input.(*linIn), output.(*linOut)
			var s string
			switch in.f {
			case linRead:
				s = "read()"
			case linWrite:
				s = fmt.Sprintf("write(%d)", in.a)
			case linCAS:
				s = fmt.Sprintf("cas(%d, %d)", in.a, in.b)
			case linAdd:
				s = fmt.Sprintf("add(%d)", in.a)
			case linIncr:
				s = fmt.Sprintf("incr(%d)", in.a)
			}
			switch out.kind {
			case outAny:
				return s + " ?"
			case outNil:
				return s + " -> nil"
			case outInt:
				return s + " -> " + strconv.FormatInt(out.v, 10)
			case outSet:
				return s + " -> " + fmtSet(decodeSet(out.set))
			case outSiblings:
				return s + fmt.Sprintf(" -> %d siblings", out.v)
			}
			return s
		},
		DescribeOperationMetadata: func(info any) string {
			if info == nil {
				return ""
			}
			return info.(*linMeta).key
		},
	}
	switch model {
	case ModelSet:
		m.Init = func() any { return "" }
		m.Step = func(state, input, output any) (bool, any) {
			s, in, out := state.(string), input.(*linIn), output.(*linOut)
			switch in.f {
			case linAdd:
				return true, setAdd(s, in.a)
			case linRead:
				return out.kind == outAny || (out.kind == outSet && out.set == s), s
			}
			return false, s
		}
		m.DescribeState = func(state any) string { return fmtSet(decodeSet(state.(string))) }
	case ModelCounter:
		m.Init = func() any { return int64(0) }
		m.Step = func(state, input, output any) (bool, any) {
			v, in, out := state.(int64), input.(*linIn), output.(*linOut)
			switch in.f {
			case linIncr:
				return true, v + in.a
			case linRead:
				return out.kind == outAny || (out.kind == outInt && out.v == v), v
			}
			return false, v
		}
		m.DescribeState = func(state any) string { return strconv.FormatInt(state.(int64), 10) }
	default: // register, kv
		m.Init = func() any { return nilReg }
		m.Step = func(state, input, output any) (bool, any) {
			v, in, out := state.(int64), input.(*linIn), output.(*linOut)
			switch in.f {
			case linRead:
				switch out.kind {
				case outAny:
					return true, v
				case outNil:
					return v == nilReg, v
				case outInt:
					return v == out.v, v
				}
				return false, v // siblings: a register read returns one value
			case linWrite:
				return true, in.a
			case linCAS:
				if v == in.a {
					return true, in.b
				}
				// a cas whose compare fails has no effect; only an indeterminate one may be
				// linearized that way (an acknowledged cas claims it succeeded)
				return out.kind == outAny, v
			}
			return false, v
		}
		m.Hash = func(state any) uint64 { return uint64(state.(int64)) * 0x9E3779B97F4A7C15 }
		m.DescribeState = func(state any) string {
			if v := state.(int64); v != nilReg {
				return strconv.FormatInt(v, 10)
			}
			return "nil"
		}
	}
	return m
}

func fmtSet(xs []int64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i == 20 {
			fmt.Fprintf(&b, " ... %d more", len(xs)-20)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(x, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// keyOps is one key's porcupine history.
type keyOps struct {
	key         string
	ops         []porcupine.Operation
	unsupported string // why this key cannot be checked, if it cannot
	siblings    []int  // pair indexes of sibling reads
}

// buildKeyOps converts a key's operations for porcupine: failed ops and indeterminate reads
// are dropped (they had no effect); indeterminate updates return at infinity with any output.
func buildKeyOps(h *prepared, model, key string, ins []linIn, outs []linOut, metas []linMeta) (keyOps, int) {
	idx := h.byKey[key]
	ko := keyOps{key: key, ops: make([]porcupine.Operation, 0, len(idx))}
	dropped := 0
	for _, i := range idx {
		p := &h.pairs[i]
		if p.Type == history.Fail || (p.F == history.FRead && p.Type != history.OK) {
			dropped++
			continue
		}
		in, out, meta := &ins[i], &outs[i], &metas[i]
		*meta = linMeta{key: keyName(key), pair: i}
		if err := linInput(model, p, in); err != "" {
			if ko.unsupported == "" {
				ko.unsupported = fmt.Sprintf("%s: %s", h.ref(i).describe(), err)
			}
			continue
		}
		ret := p.Return
		if p.Type == history.OK {
			if err := linOutput(model, p, out); err != "" {
				if ko.unsupported == "" {
					ko.unsupported = fmt.Sprintf("%s: %s", h.ref(i).describe(), err)
				}
				continue
			}
			if out.kind == outSiblings {
				ko.siblings = append(ko.siblings, i)
			}
		} else {
			out.kind = outAny
			ret = history.Never
		}
		ko.ops = append(ko.ops, porcupine.Operation{
			ClientId: int(p.Process), Input: in, Call: p.Call, Output: out, Return: ret, Metadata: meta,
		})
	}
	return ko, dropped
}

// pruneUnobserved leaves out the indeterminate updates whose value nothing observed: a write or
// cas whose new value no acknowledged read returned and no cas expected, or a set add whose
// element no acknowledged read holds. Porcupine must place every indeterminate op, and each one
// is concurrent with everything after its call, so a run with many timeouts (crashes,
// partitions) makes its search explode; most such ops wrote a value nobody saw.
//
// Leaving them out does not change the verdict. If the history without such an op u is
// linearizable, so is the history with it: u never returned, so it may be linearized last,
// where it affects nothing (the model accepts an indeterminate cas whose compare fails). If
// the history with u is linearizable, take such an order. While the state is u's value, no op
// applied can depend on it: no acknowledged read returns it, no cas expects it, a set read
// after u would hold u's element; so the ops applied then are writes (which do not depend on
// the state) and indeterminate cases whose compare failed (no effect). Remove u and move those
// cases to the end (they never returned either): the rest is unchanged and valid. Counter
// increments are never left out: every read observes their sum.
func pruneUnobserved(model string, ops []porcupine.Operation) ([]porcupine.Operation, int) {
	if model == ModelCounter {
		return ops, 0
	}
	indeterminate := 0
	for i := range ops {
		if ops[i].Output.(*linOut).kind == outAny {
			indeterminate++
		}
	}
	if indeterminate == 0 {
		return ops, 0
	}
	seen := make(map[int64]bool)
	for i := range ops {
		in, out := ops[i].Input.(*linIn), ops[i].Output.(*linOut)
		switch {
		case in.f == linCAS:
			seen[in.a] = true
		case in.f == linRead && out.kind == outInt:
			seen[out.v] = true
		case in.f == linRead && out.kind == outSet:
			for _, x := range decodeSet(out.set) {
				seen[x] = true
			}
		}
	}
	kept := ops[:0]
	pruned := 0
	for _, op := range ops {
		in, out := op.Input.(*linIn), op.Output.(*linOut)
		if out.kind == outAny {
			v, update := in.a, in.f == linWrite || in.f == linAdd
			if in.f == linCAS {
				v, update = in.b, true
			}
			if update && !seen[v] {
				pruned++
				continue
			}
		}
		kept = append(kept, op)
	}
	return kept, pruned
}

// linInput fills in the porcupine input of an operation, or says why it is unsupported.
func linInput(model string, p *history.Operation, in *linIn) string {
	v := p.Input
	switch {
	case p.F == history.FRead:
		*in = linIn{f: linRead}
	case p.F == history.FWrite && (model == ModelRegister || model == ModelKV):
		if v.Kind != history.KindInt || v.Int == nilReg {
			return fmt.Sprintf("write value %s: want an integer", v.Short())
		}
		*in = linIn{f: linWrite, a: v.Int}
	case p.F == history.FCAS && (model == ModelRegister || model == ModelKV):
		if v.Kind != history.KindList || len(v.List) != 2 || v.List[0] == nilReg || v.List[1] == nilReg {
			return fmt.Sprintf("cas value %s: want [old new]", v.Short())
		}
		*in = linIn{f: linCAS, a: v.List[0], b: v.List[1]}
	case p.F == history.FAdd && model == ModelSet:
		if v.Kind != history.KindInt {
			return fmt.Sprintf("add value %s: want an integer", v.Short())
		}
		*in = linIn{f: linAdd, a: v.Int}
	case p.F == history.FIncr && model == ModelCounter:
		if v.Kind != history.KindInt {
			return fmt.Sprintf("incr value %s: want an integer", v.Short())
		}
		*in = linIn{f: linIncr, a: v.Int}
	default:
		return fmt.Sprintf("f %s is not part of the %s model", history.Clip(strconv.Quote(p.F)), model)
	}
	return ""
}

// linOutput fills in the porcupine output of an acknowledged operation.
func linOutput(model string, p *history.Operation, out *linOut) string {
	if p.F != history.FRead {
		*out = linOut{kind: outOK}
		return ""
	}
	v := p.Output
	switch model {
	case ModelSet:
		if v.Kind == history.KindInt {
			*out = linOut{kind: outSet, set: encodeSet([]int64{v.Int})}
			return ""
		}
		*out = linOut{kind: outSet, set: encodeSet(v.List)} // nil reads as empty
	case ModelCounter:
		switch v.Kind {
		case history.KindInt:
			*out = linOut{kind: outInt, v: v.Int}
		case history.KindNil:
			*out = linOut{kind: outInt, v: 0} // a counter nobody incremented
		default:
			return fmt.Sprintf("counter read %s: want an integer", v.Short())
		}
	default:
		switch {
		case v.Kind == history.KindNil || (v.Kind == history.KindList && len(v.List) == 0):
			*out = linOut{kind: outNil}
		case v.Kind == history.KindInt:
			*out = linOut{kind: outInt, v: v.Int}
		case len(v.List) == 1:
			*out = linOut{kind: outInt, v: v.List[0]}
		default:
			*out = linOut{kind: outSiblings, v: int64(len(v.List))}
		}
	}
	return ""
}

// checkLinearizable checks each key with porcupine within the time budget, explains the first
// failing keys and writes their visualization.
func checkLinearizable(ctx context.Context, h *prepared, model string, cfg Config) (*Result, string) {
	d := &LinearizableDetails{Model: model, Keys: len(h.keys)}
	res := &Result{Details: d}
	switch {
	case len(h.pairs) == 0 && len(h.ops) > 0:
		// nemesis ops only: the empty set of operations is linearizable (Knossos and
		// Porcupine both judge so)
		res.Valid = Valid
		res.Explanation = []string{fmt.Sprintf("the history held no client operation (%d nemesis ops only): linearizable, with nothing to order", h.counts.Nemesis)}
		return res, ""
	case len(h.pairs) == 0:
		res.Valid = Unknown
		res.Explanation = []string{"no operations at all: nothing to check"}
		return res, ""
	}
	pm := linModel(model)
	ins := make([]linIn, len(h.pairs))
	outs := make([]linOut, len(h.pairs))
	metas := make([]linMeta, len(h.pairs))

	var deadline time.Time
	if cfg.Timeout > 0 {
		deadline = time.Now().Add(cfg.Timeout)
	}
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		deadline = dl
	}

	verdicts := make([]porcupine.CheckResult, len(h.keys))
	reasons := make([]string, len(h.keys))
	all := make([]keyOps, len(h.keys))
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	if cfg.KeyWorkers > 0 {
		workers = cfg.KeyWorkers
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				ko, dropped := buildKeyOps(h, model, h.keys[k], ins, outs, metas)
				var unobserved int
				if ko.unsupported == "" {
					ko.ops, unobserved = pruneUnobserved(model, ko.ops)
				}
				mu.Lock()
				d.Dropped += dropped
				d.Unobserved += unobserved
				d.Checked += len(ko.ops)
				d.SiblingReads += len(ko.siblings)
				mu.Unlock()
				all[k] = ko
				switch {
				case ko.unsupported != "":
					verdicts[k], reasons[k] = porcupine.Unknown, "cannot check "+ko.unsupported
				case ctx.Err() != nil:
					verdicts[k], reasons[k] = porcupine.Unknown, "check cancelled"
				default:
					budget := time.Duration(0)
					if !deadline.IsZero() {
						budget = time.Until(deadline)
						if budget <= 0 {
							verdicts[k], reasons[k] = porcupine.Unknown, "time budget spent before this key"
							continue
						}
					}
					verdicts[k] = porcupine.CheckOperationsTimeout(pm, ko.ops, budget)
					if verdicts[k] == porcupine.Unknown {
						reasons[k] = "porcupine ran out of time"
					}
				}
			}
		}()
	}
	for k := range h.keys {
		work <- k
	}
	close(work)
	wg.Wait()

	var invalid []int
	for k, v := range verdicts {
		switch v {
		case porcupine.Ok:
			d.ValidKeys++
		case porcupine.Illegal:
			d.Invalid++
			invalid = append(invalid, k)
			if len(d.InvalidKeys) < capN {
				d.InvalidKeys = append(d.InvalidKeys, history.Clip(h.keys[k]))
			}
		default:
			d.Unknown++
			if reasons[k] == "porcupine ran out of time" || strings.HasPrefix(reasons[k], "time budget") {
				d.TimedOut = true
			}
			if len(d.UnknownKeys) < capN {
				d.UnknownKeys = append(d.UnknownKeys, history.Clip(h.keys[k]))
				res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: unknown: %s", keyName(h.keys[k]), reasons[k]))
			}
		}
	}
	switch {
	case d.Invalid > 0:
		res.Valid = Invalid
	case d.Unknown > 0:
		res.Valid = Unknown
		if d.TimedOut {
			res.Explanation = append([]string{fmt.Sprintf("%d of %d keys could not be decided within the time budget (%s): the verdict is unknown, not valid", d.Unknown, d.Keys, cfg.Timeout)}, res.Explanation...)
		}
	default:
		res.Valid = Valid
		unobserved := ""
		if d.Unobserved > 0 {
			unobserved = fmt.Sprintf(", %d indeterminate updates whose value nothing observed left out", d.Unobserved)
		}
		res.Explanation = []string{fmt.Sprintf("all %d keys linearizable (%s model; %d operations checked, %d failed ops or indeterminate reads dropped%s)", d.Keys, model, d.Checked, d.Dropped, unobserved)}
		return res, ""
	}
	if d.Invalid == 0 {
		return res, ""
	}
	res.Explanation = append([]string{fmt.Sprintf("%d of %d keys are not linearizable (%s model)", d.Invalid, d.Keys, model)}, res.Explanation...)
	if cfg.NoExplain {
		res.Explanation = append(res.Explanation, NoExplainNote)
		return res, ""
	}
	vis := explainLinearizable(ctx, h, pm, model, all, invalid, deadline, cfg, d, res)
	return res, vis
}

// NoExplainNote is the explanation's last line when Config.NoExplain skipped it.
const NoExplainNote = "explanation skipped (a sweep checks verdicts only): `faultline check RUN` explains the failing keys and draws linearizability.html"

// maxExplained bounds how many failing keys are explained and visualized.
const maxExplained = 5

// explainLinearizable reruns porcupine with linearization info on the first failing keys,
// explains each and writes one visualization of them.
func explainLinearizable(ctx context.Context, h *prepared, pm porcupine.Model, model string, all []keyOps, invalid []int, deadline time.Time, cfg Config, d *LinearizableDetails, res *Result) string {
	if len(invalid) > maxExplained {
		invalid = invalid[:maxExplained]
	}
	var ops []porcupine.Operation
	for _, k := range invalid {
		ops = append(ops, all[k].ops...)
	}
	vm := pm
	vm.Partition = func(hist []porcupine.Operation) [][]porcupine.Operation {
		var parts [][]porcupine.Operation
		at := make(map[string]int)
		for _, op := range hist {
			key := op.Metadata.(*linMeta).key
			i, ok := at[key]
			if !ok {
				i = len(parts)
				at[key] = i
				parts = append(parts, nil)
			}
			parts[i] = append(parts[i], op)
		}
		return parts
	}
	// Illegal keys are usually found fast; give the explanation its own small budget.
	budget := 10 * time.Second
	if !deadline.IsZero() {
		if rem := time.Until(deadline); rem > budget {
			budget = rem
		}
	}
	verdict, info := porcupine.CheckOperationsVerbose(vm, ops, budget)
	if verdict != porcupine.Illegal {
		res.Explanation = append(res.Explanation, "(porcupine could not rebuild the failing orderings for an explanation in time)")
		return ""
	}
	partials := info.PartialLinearizationsOperations()
	for pi, k := range invalid {
		ko := all[k]
		f := explainKey(h, pm, ko, partials[pi])
		for _, s := range ko.siblings {
			f.Explanation += fmt.Sprintf("; %s returned %d siblings: a register read must return one value", h.ref(s).describe(), len(h.pairs[s].Output.List))
			break
		}
		d.Failures = append(d.Failures, f)
		res.Explanation = append(res.Explanation, f.Explanation)
	}
	if cfg.OutDir == "" {
		return ""
	}
	info.AddAnnotations(nemesisAnnotations(h))
	path := filepath.Join(cfg.OutDir, "linearizability.html")
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		cfg.Log.Warn().Err(err).Msg("checker: linearizability visualization")
		return ""
	}
	if err := porcupine.VisualizePath(vm, info, path); err != nil {
		cfg.Log.Warn().Err(err).Str("path", path).Msg("checker: linearizability visualization")
		return ""
	}
	d.Visualization = path
	return path
}

// explainKey names the operation no order allows: of the operations left out of the longest
// valid ordering, the one that completed first.
func explainKey(h *prepared, pm porcupine.Model, ko keyOps, partials [][]porcupine.Operation) LinearizableFailure {
	f := LinearizableFailure{Key: history.Clip(ko.key), Total: len(ko.ops)}
	var longest []porcupine.Operation
	for _, p := range partials {
		if len(p) > len(longest) {
			longest = p
		}
	}
	in := make(map[int]bool, len(longest))
	state := pm.Init()
	for _, op := range longest {
		in[op.Metadata.(*linMeta).pair] = true
		_, state = pm.Step(state, op.Input, op.Output)
	}
	f.Linearized = len(longest)
	f.State = pm.DescribeState(state)
	bad := -1
	var badOp porcupine.Operation
	for _, op := range ko.ops {
		m := op.Metadata.(*linMeta)
		if in[m.pair] {
			continue
		}
		if bad < 0 || op.Return < badOp.Return || (op.Return == badOp.Return && op.Call < badOp.Call) {
			bad, badOp = m.pair, op
		}
	}
	if bad < 0 {
		f.Explanation = fmt.Sprintf("key %s: not linearizable", keyName(ko.key))
		return f
	}
	f.Op = h.ref(bad)
	p := &h.pairs[bad]
	var why string
	switch {
	case p.F == history.FRead && p.Output.Kind == history.KindInt && !writtenOn(h, ko.key, p.Output.Int):
		why = fmt.Sprintf("no operation ever wrote %d to it", p.Output.Int)
	case p.F == history.FRead:
		why = fmt.Sprintf("no order of the concurrent operations lets it read %s", shortValue(p.Output))
		if o := overwrite(h, ko.key, bad); o >= 0 {
			if p.Output.IsNil() || p.Output.Kind == history.KindList && len(p.Output.List) == 0 {
				why += fmt.Sprintf(": the register was no longer empty, %s completed before this read began", h.ref(o).describe())
			} else {
				why += fmt.Sprintf(": every write of %s was followed by %s, which completed before this read began", shortValue(p.Output), h.ref(o).describe())
			}
		}
	case p.F == history.FCAS:
		why = fmt.Sprintf("no order gives the register the value %d it compared against", p.Input.List[0])
	default:
		why = "no order of the operations allows it"
	}
	f.Explanation = fmt.Sprintf("key %s: %s: %s (the longest valid ordering holds %d of %d operations and leaves the state %s)",
		keyName(ko.key), f.Op.describe(), why, f.Linearized, f.Total, f.State)
	return f
}

// writtenOn reports whether any write, cas or add on key (not failed) could have produced v.
func writtenOn(h *prepared, key string, v int64) bool {
	for _, i := range h.byKey[key] {
		p := &h.pairs[i]
		if p.Type == history.Fail {
			continue
		}
		switch p.F {
		case history.FWrite, history.FAdd:
			if p.Input.Kind == history.KindInt && p.Input.Int == v {
				return true
			}
		case history.FCAS:
			if len(p.Input.List) == 2 && p.Input.List[1] == v {
				return true
			}
		case history.FRead:
		default:
			return true // something we cannot reason about
		}
	}
	return false
}

// overwrite finds, for a stale read, an acknowledged write that began after every write of the
// read's value completed and completed before the read began: the read should have seen it
// (or something later). -1 when there is none (or the value was never written).
func overwrite(h *prepared, key string, read int) int {
	r := &h.pairs[read]
	var v int64
	switch {
	case r.Output.Kind == history.KindInt:
		v = r.Output.Int
	case r.Output.Kind == history.KindList && len(r.Output.List) == 1:
		v = r.Output.List[0]
	case r.Output.IsNil() || (r.Output.Kind == history.KindList && len(r.Output.List) == 0):
		v = nilReg // the initial state: "written" at time -inf
	default:
		return -1
	}
	lastOfV := int64(math.MinInt64)
	found := v == nilReg
	for _, i := range h.byKey[key] {
		p := &h.pairs[i]
		if p.Type == history.Fail {
			continue
		}
		if (p.F == history.FWrite && p.Input.Kind == history.KindInt && p.Input.Int == v) ||
			(p.F == history.FCAS && len(p.Input.List) == 2 && p.Input.List[1] == v) {
			found = true
			if p.Type != history.OK {
				lastOfV = history.Never // indeterminate: may take effect any time later
			} else {
				lastOfV = max(lastOfV, p.Return)
			}
		}
	}
	if !found {
		return -1
	}
	best := -1
	for _, i := range h.byKey[key] {
		p := &h.pairs[i]
		if p.Type != history.OK || (p.F != history.FWrite && p.F != history.FCAS) {
			continue
		}
		if p.Call > lastOfV && p.Return < r.Call && (best < 0 || p.Return > h.pairs[best].Return) {
			best = i
		}
	}
	return best
}

// keyName renders a key for a message: "" for the empty key, clipped (history.Clip).
func keyName(k string) string {
	if k == "" {
		return `""`
	}
	return history.Clip(k)
}

// nemesisAnnotations turns nemesis ops into visualization annotations: a fault's start and its
// end (start-X ... stop-X; kill ... restart, pause ... resume, clock-bump ... clock-reset of one
// node) become an interval, anything else a point in time.
func nemesisAnnotations(h *prepared) []porcupine.Annotation {
	var out []porcupine.Annotation
	open := make(map[string]int) // fault (and node) -> index in out
	for i := range h.ops {
		op := &h.ops[i]
		if !op.Process.IsNemesis() {
			continue
		}
		desc := history.Clip(op.F)
		if op.Detail != "" {
			desc += " " + history.Clip(op.Detail)
		}
		opens, closes := faultInterval(op.F, op.Node)
		if closes != "" {
			if j, ok := open[closes]; ok {
				out[j].End = op.Time
				out[j].Details += "; " + desc
				delete(open, closes)
				continue
			}
		}
		label := history.Clip(strings.TrimLeft(strings.TrimPrefix(op.F, "start"), "-"))
		if label == "" {
			label = history.Clip(op.F)
		}
		if op.Detail != "" {
			label += " " + history.Clip(op.Detail)
		}
		a := porcupine.Annotation{Tag: "nemesis", Start: op.Time, Description: label, Details: desc, BackgroundColor: "#fde2e2"}
		if opens != "" {
			if _, dup := open[opens]; !dup {
				open[opens] = len(out)
			}
		}
		out = append(out, a)
	}
	return out
}

// faultInterval names the interval a nemesis op opens or closes ("" for neither): start-X and
// stop-X share X; kill/restart, pause/resume and clock-bump/clock-reset share the fault and node.
func faultInterval(f, node string) (opens, closes string) {
	if x, ok := strings.CutPrefix(f, "start"); ok {
		return x, ""
	}
	if x, ok := strings.CutPrefix(f, "stop"); ok {
		return "", x
	}
	switch f {
	case "kill", "pause", "clock-bump":
		return f + "/" + node, ""
	case "restart":
		return "", "kill/" + node
	case "resume":
		return "", "pause/" + node
	case "clock-reset":
		return "", "clock-bump/" + node
	}
	return "", ""
}
