// Package checker decides whether a history shows an anomaly. Every checker is a pure function:
// a history (and, for convergence, the replicas' dumps) goes in, a verdict with an explanation
// comes out. Check runs the checkers that apply to a workload and combines the selected ones
// into one verdict.
//
// Checkers, by the names --checks and results.json use:
//
//	linearizable     porcupine, per key: register (read, write, cas), set or counter model
//	lost-updates     set workloads (Jepsen's set-full): acknowledged adds missing from final reads
//	lost-increments  counter workloads: the final value is acked + some subset of indeterminate
//	counter-bounds   counter workloads: every read within what the increments allow at that time
//	convergence      replica dumps after healing agree on every key
//	staleness        register workloads: how far behind reads are (reported, never decides)
//
// Verdicts are sound: a checker says valid only when it has shown the history is valid; when
// it cannot (time budget, no data, too many indeterminate ops) it says unknown.
package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/rs/zerolog"
)

// Checker names.
const (
	Linearizable   = "linearizable"
	LostUpdates    = "lost-updates"
	LostIncrements = "lost-increments"
	CounterBounds  = "counter-bounds"
	Convergence    = "convergence"
	Staleness      = "staleness"
)

// Names returns every checker name, in report order.
func Names() []string {
	return []string{Linearizable, LostUpdates, LostIncrements, CounterBounds, Convergence, Staleness}
}

// Workloads and models.
const (
	WorkloadRegister = "register"
	WorkloadSet      = "set"
	WorkloadCounter  = "counter"

	ModelAuto     = "auto"
	ModelRegister = "register" // one register: the history must have a single key
	ModelKV       = "kv"       // a register per key
	ModelSet      = "set"      // a set per key
	ModelCounter  = "counter"  // a counter per key
)

// DefaultChecks returns the checkers that decide the verdict for a workload by default.
func DefaultChecks(workload string) []string {
	switch workload {
	case WorkloadSet:
		return []string{LostUpdates, Convergence}
	case WorkloadCounter:
		return []string{LostIncrements, Convergence}
	}
	return []string{Linearizable}
}

// applicable lists the checkers computed for a workload even when not selected.
func applicable(workload string) []string {
	switch workload {
	case WorkloadSet:
		return []string{LostUpdates, Convergence}
	case WorkloadCounter:
		return []string{LostIncrements, CounterBounds, Convergence}
	}
	return []string{Linearizable, Convergence, Staleness}
}

// Config says what to check.
type Config struct {
	Workload string        // "register", "set", "counter" ("" = infer from the ops' f names)
	Checks   []string      // the checkers that decide the verdict; nil = DefaultChecks(workload)
	Model    string        // "register", "kv", "set", "counter", "auto" ("" = auto)
	Timeout  time.Duration // linearizability time budget (porcupine gives up -> unknown); 0 = none
	Dumps    history.Dumps // replica dumps after healing; nil = convergence cannot run
	OutDir   string        // where to write visualizations of linearizability failures; "" = none
	// FinalProcess names the final reads: the reads by processes numbered from FinalProcess on
	// (faultline's harness reads every key after healing with fresh processes from there, and
	// saves the number in stats.json). lost-updates and lost-increments judge against them
	// only; with none (an interrupted run, failed final reads) they say unknown. 0: not
	// named (Jepsen histories), the last ok read of each key is its final read.
	FinalProcess int
	// Partial says in words why the history is not the whole run (its last line cut off, the
	// run killed or interrupted before its end); the verdict covers what was read, and
	// Results.Partial and PartialNotes carry these words to the reader.
	Partial []string
	// NoFinalReads says the run never took its final reads (it was killed or interrupted
	// before them): lost-updates and lost-increments, which judge against them, say unknown.
	NoFinalReads bool
	// NoExplain skips the linearizability explanation (porcupine's second, verbose search
	// over the failing keys, and linearizability.html): the verdict is the same, the
	// explanation says it was skipped and how to get it (`faultline check RUN`). Sweeps set
	// it; run and check explain.
	NoExplain bool
	// KeyWorkers bounds how many keys porcupine checks at once (0: one per core). A sweep
	// running one history per core sets 1, so the pathological keys of parallel runs do not
	// all hold their search state at once.
	KeyWorkers int
	Log        zerolog.Logger
	_          struct{}
}

// DefaultConfig returns the defaults: everything inferred, one minute for linearizability.
func DefaultConfig() Config {
	return Config{
		Model:   ModelAuto,        // pick the model from the workload
		Timeout: 60 * time.Second, // porcupine's budget; past it the verdict is unknown
		Log:     zerolog.Nop(),
	}
}

// Validate reports the first problem with c; it does not change c.
func (c Config) Validate() error {
	switch c.Workload {
	case "", WorkloadRegister, WorkloadSet, WorkloadCounter:
	default:
		return fmt.Errorf("checker: workload %q: want register, set, counter or empty (infer)", c.Workload)
	}
	switch c.Model {
	case "", ModelAuto, ModelRegister, ModelKV, ModelSet, ModelCounter:
	default:
		return fmt.Errorf("checker: model %q: want register, kv, set, counter or auto", c.Model)
	}
	for _, n := range c.Checks {
		if !slices.Contains(Names(), n) {
			return fmt.Errorf("checker: check %q: want one of %s", n, strings.Join(Names(), ", "))
		}
	}
	if c.KeyWorkers < 0 {
		return fmt.Errorf("checker: key workers (%d) must be >= 0 (0: one per core)", c.KeyWorkers)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("checker: timeout (%s) must be >= 0", c.Timeout)
	}
	if c.FinalProcess < 0 {
		return fmt.Errorf("checker: final process (%d) must be >= 0", c.FinalProcess)
	}
	return nil
}

// Verdict is valid, invalid or unknown. Its JSON form is true, false or "unknown". The zero
// Verdict is Unknown, so nothing is valid by accident.
type Verdict int8

// The verdicts, from best to worst when combined: Valid, Unknown, Invalid.
const (
	Unknown Verdict = iota
	Valid
	Invalid
)

func (v Verdict) String() string {
	switch v {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

// MarshalJSON encodes true, false or "unknown".
func (v Verdict) MarshalJSON() ([]byte, error) {
	switch v {
	case Valid:
		return []byte("true"), nil
	case Invalid:
		return []byte("false"), nil
	}
	return []byte(`"unknown"`), nil
}

// UnmarshalJSON accepts true, false or "unknown".
func (v *Verdict) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*v = Valid
	case "false":
		*v = Invalid
	case `"unknown"`:
		*v = Unknown
	default:
		return fmt.Errorf("checker: verdict %s: want true, false or \"unknown\"", b)
	}
	return nil
}

// Worse returns the worse of two verdicts: invalid beats unknown beats valid.
func Worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case Valid:
			return 0
		case Unknown:
			return 1
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Result is one checker's outcome.
type Result struct {
	Valid   Verdict `json:"valid"`
	Decides bool    `json:"decides"`           // selected: its verdict counts in the overall one
	Skipped string  `json:"skipped,omitempty"` // why it did not run (verdict unknown)
	// Explanation says in plain words what was found (or why the verdict is unknown).
	Explanation []string `json:"explanation,omitempty"`
	Details     any      `json:"details,omitempty"` // the checker's figures (see the *Details types)
}

// Counts describes the history.
type Counts struct {
	Ops        int `json:"ops"`        // records, nemesis included
	Operations int `json:"operations"` // client invocations
	OK         int `json:"ok"`
	Fail       int `json:"fail"`
	Info       int `json:"info"`       // indeterminate completions
	Unfinished int `json:"unfinished"` // invocations never completed (counted as indeterminate)
	Nemesis    int `json:"nemesis"`
	Keys       int `json:"keys"`
}

// Results is the whole verdict: results.json.
type Results struct {
	Valid    Verdict            `json:"valid"`
	Workload string             `json:"workload"`
	Model    string             `json:"model,omitempty"`
	Selected []string           `json:"selected"`
	Checkers map[string]*Result `json:"checkers"`
	Counts   Counts             `json:"counts"`
	// Visualization is the HTML file showing linearizability failures, if one was written.
	Visualization string   `json:"visualization,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
	// Partial: the history is not the whole run (Config.Partial); the verdict covers only
	// what was read, and PartialNotes say what is missing.
	Partial      bool     `json:"partial,omitempty"`
	PartialNotes []string `json:"partial_notes,omitempty"`
}

// ExitCode maps the verdict to the CLI's exit code: 0 valid, 1 invalid, 2 unknown.
func (r *Results) ExitCode() int {
	switch r.Valid {
	case Valid:
		return 0
	case Invalid:
		return 1
	}
	return 2
}

// ErrInvalidHistory wraps the validation errors of a malformed history.
var ErrInvalidHistory = errors.New("checker: malformed history")

// Check runs the checkers on ops. The error is for when it could not check at all (a malformed
// history, a bad config); an anomaly is a verdict, not an error.
func Check(ctx context.Context, ops []history.Op, cfg Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pairs, err := history.Pair(ops)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHistory, err)
	}
	h := newPrepared(ops, pairs)
	h.finalProcess = cfg.FinalProcess
	h.noFinal = cfg.NoFinalReads
	workload := cfg.Workload
	if workload == "" {
		workload = inferWorkload(cfg.Model, pairs)
	}
	if workload == WorkloadCounter {
		// Jepsen's counter workload adds integers (:f :add): an increment by that much
		for i := range h.pairs {
			if p := &h.pairs[i]; p.F == history.FAdd && p.Input.Kind == history.KindInt {
				p.F = history.FIncr
			}
		}
	}
	model, err := chooseModel(cfg.Model, workload, h)
	if err != nil {
		return nil, err
	}
	selected := cfg.Checks
	if len(selected) == 0 {
		selected = DefaultChecks(workload)
	}
	res := &Results{
		Workload: workload,
		Model:    model,
		Selected: slices.Clone(selected),
		Checkers: make(map[string]*Result),
		Counts:   h.counts,
	}
	for _, n := range cfg.Partial {
		res.PartialNotes = append(res.PartialNotes, history.ClipN(n, maxMessage))
	}
	res.Partial = len(res.PartialNotes) > 0
	run := append(slices.Clone(selected), applicable(workload)...)
	for _, name := range Names() {
		if !slices.Contains(run, name) {
			continue
		}
		start := time.Now()
		var r *Result
		switch name {
		case Linearizable:
			var vis string
			r, vis = checkLinearizable(ctx, h, model, cfg)
			res.Visualization = vis
		case LostUpdates:
			r = checkSet(h, workload)
		case LostIncrements:
			r = checkLostIncrements(h, workload)
		case CounterBounds:
			r = checkCounterBounds(h, workload)
		case Convergence:
			r = checkConvergence(cfg.Dumps, slices.Contains(cfg.Checks, Convergence))
		case Staleness:
			r = checkStaleness(h, workload)
		}
		r.Decides = slices.Contains(selected, name) && name != Staleness
		res.Checkers[name] = r
		cfg.Log.Debug().Str("checker", name).Stringer("verdict", r.Valid).Dur("took", time.Since(start)).Msg("checked")
	}
	res.Valid = Valid
	decided := 0
	for _, name := range selected {
		r := res.Checkers[name]
		if !r.Decides {
			continue
		}
		if r.Skipped != "" && !slices.Contains(cfg.Checks, name) {
			// a default checker without its input (e.g. convergence without dumps) is
			// reported as skipped and does not decide
			r.Decides = false
			continue
		}
		decided++
		res.Valid = Worse(res.Valid, r.Valid)
	}
	if decided == 0 {
		res.Valid = Unknown
		res.Warnings = append(res.Warnings, "no selected checker could decide a verdict")
	}
	for _, r := range res.Checkers {
		clipAll(r.Explanation)
		r.Skipped = history.ClipN(r.Skipped, maxMessage)
	}
	clipAll(res.Warnings)
	return res, nil
}

// inferWorkload picks the workload from the model, else from the ops' f names: incr is a
// counter; add is a set, unless every add carries an integer and the ok reads return integers,
// none a list (Jepsen's counter workload adds integers to a counter).
func inferWorkload(model string, pairs []history.Operation) string {
	switch model {
	case ModelSet:
		return WorkloadSet
	case ModelCounter:
		return WorkloadCounter
	}
	adds, intAdds, intReads, listReads := false, true, false, false
	for _, p := range pairs {
		switch p.F {
		case history.FAdd:
			adds = true
			intAdds = intAdds && p.Input.Kind == history.KindInt
		case history.FIncr:
			if !adds {
				return WorkloadCounter
			}
		case history.FRead:
			if p.Type == history.OK {
				switch p.Output.Kind {
				case history.KindInt:
					intReads = true
				case history.KindList:
					listReads = true
				}
			}
		}
	}
	switch {
	case adds && intAdds && intReads && !listReads:
		return WorkloadCounter
	case adds:
		return WorkloadSet
	}
	return WorkloadRegister
}

// chooseModel picks the linearizability model.
func chooseModel(model, workload string, h *prepared) (string, error) {
	switch model {
	case "", ModelAuto:
		switch workload {
		case WorkloadSet:
			return ModelSet, nil
		case WorkloadCounter:
			return ModelCounter, nil
		}
		if len(h.keys) <= 1 {
			return ModelRegister, nil
		}
		return ModelKV, nil
	case ModelRegister:
		if len(h.keys) > 1 {
			return "", fmt.Errorf("checker: model register: the history has %d keys; use the kv model", len(h.keys))
		}
	}
	return model, nil
}

// prepared is a paired history indexed by key.
type prepared struct {
	ops    []history.Op
	pairs  []history.Operation
	byKey  map[string][]int // key -> indexes into pairs, in invocation order
	keys   []string         // sorted
	counts Counts
	// finalProcess is Config.FinalProcess: reads by processes from it on are the final reads;
	// 0 = the last ok read of a key is its final read.
	finalProcess int
	// noFinal is Config.NoFinalReads: the run took no final reads, no read is one.
	noFinal bool
}

func newPrepared(ops []history.Op, pairs []history.Operation) *prepared {
	h := &prepared{ops: ops, pairs: pairs, byKey: make(map[string][]int)}
	c := &h.counts
	c.Ops = len(ops)
	c.Operations = len(pairs)
	for i := range ops {
		if ops[i].Process.IsNemesis() {
			c.Nemesis++
		}
	}
	for i := range pairs {
		p := &pairs[i]
		switch {
		case !p.Completed():
			c.Unfinished++
		case p.Type == history.OK:
			c.OK++
		case p.Type == history.Fail:
			c.Fail++
		default:
			c.Info++
		}
		h.byKey[p.Key] = append(h.byKey[p.Key], i)
	}
	for k := range h.byKey {
		h.keys = append(h.keys, k)
	}
	sort.Strings(h.keys)
	c.Keys = len(h.keys)
	return h
}

// OpRef points at one operation of the history, for explanations.
type OpRef struct {
	Process string `json:"process"`
	F       string `json:"f"`
	Key     string `json:"key,omitempty"`
	Input   string `json:"input,omitempty"`
	Output  string `json:"output,omitempty"`
	Type    string `json:"type"`
	Line    int    `json:"line,omitempty"`   // line of the invocation in the history file
	Index   int64  `json:"index"`            // index of the invocation
	Call    int64  `json:"call"`             // invocation time, ns
	Return  int64  `json:"return,omitempty"` // completion time, ns (absent if it never completed)
}

func (h *prepared) ref(i int) OpRef {
	p := &h.pairs[i]
	inv := &h.ops[p.Invoke]
	r := OpRef{
		Process: p.Process.String(), F: history.Clip(inv.F), Key: history.Clip(p.Key), Type: string(p.Type), // as recorded (add, not incr)
		Line: inv.Line, Index: inv.Index, Call: p.Call,
	}
	if !p.Input.IsNil() || p.F != history.FRead {
		r.Input = p.Input.Short()
	}
	if p.Type == history.OK && p.F == history.FRead {
		r.Output = shortValue(p.Output)
	}
	if p.Completed() {
		r.Return = p.Return
	}
	return r
}

// shortValue renders a value, eliding the middle of long lists.
func shortValue(v history.Value) string {
	if v.Kind != history.KindList || len(v.List) <= capN {
		return v.Short()
	}
	head := history.List(v.List[:capN]...).String()
	return fmt.Sprintf("%s ... %d more]", head[:len(head)-1], len(v.List)-capN)
}

// clipKeys bounds a list of keys for a message: at most capN of them, each clipped.
func clipKeys(keys []string) []string {
	out := make([]string, 0, min(len(keys), capN+1))
	for i, k := range keys {
		if i == capN {
			out = append(out, fmt.Sprintf("... %d more", len(keys)-capN))
			break
		}
		out = append(out, history.Clip(k))
	}
	return out
}

// where renders an op's position: "line 12" or "index 12".
func (r OpRef) where() string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d", r.Line)
	}
	return fmt.Sprintf("index %d", r.Index)
}

// describe renders an op in words: "process 3 read k1 -> 5 (line 12)".
func (r OpRef) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "process %s %s", r.Process, r.F)
	if r.Key != "" {
		fmt.Fprintf(&b, " %s", r.Key)
	}
	if r.Input != "" {
		fmt.Fprintf(&b, " %s", r.Input)
	}
	if r.Output != "" {
		fmt.Fprintf(&b, " -> %s", r.Output)
	}
	if r.Type != string(history.OK) {
		fmt.Fprintf(&b, " (%s)", r.Type)
	}
	fmt.Fprintf(&b, " [%s, %s]", r.where(), fmtTime(r.Call))
	return b.String()
}

func fmtTime(ns int64) string {
	return "t=" + time.Duration(ns).String()
}

// clipAll bounds each message in place (see maxMessage).
func clipAll(msgs []string) {
	for i := range msgs {
		msgs[i] = history.ClipN(msgs[i], maxMessage)
	}
}

func skipped(reason string) *Result {
	return &Result{Valid: Unknown, Skipped: reason, Explanation: []string{reason}}
}

// capN limits list lengths in details.
const capN = 20

// maxMessage bounds one explanation, warning or note: each value in it is clipped to
// history.MaxShown already; this is the backstop for a line built of many.
const maxMessage = 4 << 10
