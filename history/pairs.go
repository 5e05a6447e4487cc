package history

import (
	"errors"
	"fmt"
	"math"
)

// Operation is a client operation: an invocation paired with its completion, with Jepsen's
// semantics applied (an info or fail completion takes its input from its invocation; an
// invocation that never completed is indeterminate, like info).
type Operation struct {
	Process Process
	F       string
	Key     string
	Node    string // the node the invocation was sent to
	Type    Type   // OK, Fail or Info (Info also for an invocation that never completed)
	Input   Value  // the invocation's value: write/add/incr argument, cas [old new]
	Output  Value  // the ok completion's value (a read's result); Nil unless Type is OK
	Call    int64  // invocation time
	Return  int64  // completion time; Never when it never completed
	Error   string // the completion's error, if any
	Invoke  int    // position of the invocation in the ops slice
	// Complete is the position of the completion in the ops slice, -1 when it never completed.
	Complete int
}

// Never is the Return time of an operation that never completed.
const Never = int64(math.MaxInt64)

// Completed reports whether the operation has a completion record.
func (o Operation) Completed() bool { return o.Complete >= 0 }

// ValidationError is one problem Validate or Pair found; Line is 0 when ops were not read from
// a file (then Pos, the position in the slice, locates it).
type ValidationError struct {
	Line int
	Pos  int
	Msg  string
}

func (e *ValidationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("op %d: %s", e.Pos, e.Msg)
}

// maxValidationErrors bounds how many problems one error reports.
const maxValidationErrors = 20

// Validate checks that ops form a well-formed history: known types, every completion matches an
// outstanding invocation of the same process and f, at most one outstanding invocation per
// process, no op from a process after it crashed (completed with info), and no op of a process
// timestamped before that process's previous op (a completion before its invocation, an
// invocation before the previous completion). Nemesis ops are not paired. It returns nil or
// an error joining up to 20 *ValidationError.
func Validate(ops []Op) error {
	_, err := Pair(ops)
	return err
}

// Pair validates ops (see Validate) and pairs every client invocation with its completion, in
// invocation order. Invocations still outstanding at the end of the history (a killed run) are
// indeterminate (Type Info, Return Never).
func Pair(ops []Op) ([]Operation, error) {
	var errs []error
	bad := func(i int, format string, args ...any) {
		if len(errs) < maxValidationErrors {
			for j, a := range args { // f names and types are recorded strings: bound them
				switch v := a.(type) {
				case string:
					args[j] = Clip(v)
				case Type:
					args[j] = Type(Clip(string(v)))
				}
			}
			errs = append(errs, &ValidationError{Line: ops[i].Line, Pos: i, Msg: fmt.Sprintf(format, args...)})
		}
	}
	where := func(i int) string {
		if ops[i].Line > 0 {
			return fmt.Sprintf("line %d", ops[i].Line)
		}
		return fmt.Sprintf("op %d", i)
	}
	n := 0
	for i := range ops {
		if ops[i].Type == Invoke && !ops[i].Process.IsNemesis() {
			n++
		}
	}
	out := make([]Operation, 0, n)
	outstanding := newProcMap() // process -> index into out
	crashed := newProcMap()     // process -> position of its info completion
	lastDone := newProcMap()    // process -> position of its last completion
	for i := range ops {
		op := &ops[i]
		if !op.Type.Valid() {
			bad(i, "unknown type %q (want invoke, ok, fail or info)", op.Type)
			continue
		}
		if op.Process.IsNemesis() {
			continue
		}
		if c, ok := crashed.get(op.Process); ok {
			bad(i, "process %s has an op after it crashed (info at %s): a crashed process never completes again", op.Process, where(c))
			continue
		}
		if op.Type == Invoke {
			if j, ok := outstanding.get(op.Process); ok {
				bad(i, "process %s invokes %s while its %s from %s is outstanding", op.Process, op.F, out[j].F, where(out[j].Invoke))
				continue
			}
			if d, ok := lastDone.get(op.Process); ok && op.Time < ops[d].Time {
				bad(i, "process %s invokes %s at time %d, before its previous op completed (time %d at %s): a process's ops cannot overlap", op.Process, op.F, op.Time, ops[d].Time, where(d))
			}
			outstanding.set(op.Process, len(out))
			out = append(out, Operation{
				Process: op.Process, F: op.F, Key: op.Key, Node: op.Node, Type: Info,
				Input: op.Value, Call: op.Time, Return: Never, Invoke: i, Complete: -1,
			})
			continue
		}
		j, ok := outstanding.get(op.Process)
		if !ok {
			bad(i, "%s completion of %s by process %s without an invocation", op.Type, op.F, op.Process)
			continue
		}
		o := &out[j]
		if op.F != o.F {
			bad(i, "%s completion of %s by process %s, but its invocation at %s is %s", op.Type, op.F, op.Process, where(o.Invoke), o.F)
			continue
		}
		if op.Time < o.Call {
			bad(i, "%s completion of %s by process %s at time %d, before its invocation (time %d at %s)", op.Type, op.F, op.Process, op.Time, o.Call, where(o.Invoke))
		}
		outstanding.del(op.Process)
		lastDone.set(op.Process, i)
		o.Type, o.Return, o.Complete, o.Error = op.Type, op.Time, i, op.Error
		if op.Type == OK {
			o.Output = op.Value
		}
		if op.Type == Info {
			crashed.set(op.Process, i)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("history: invalid history: %w", errors.Join(errs...))
	}
	return out, nil
}

// procMap maps processes to ints: a slice for the small ids histories use, a map beyond.
type procMap struct {
	small []int32 // value+1; 0 = absent
	big   map[Process]int
}

const procSmall = 1 << 16

func newProcMap() *procMap { return &procMap{big: make(map[Process]int)} }

func (m *procMap) get(p Process) (int, bool) {
	if p >= 0 && p < procSmall {
		if int(p) < len(m.small) && m.small[p] != 0 {
			return int(m.small[p]) - 1, true
		}
		return 0, false
	}
	v, ok := m.big[p]
	return v, ok
}

func (m *procMap) set(p Process, v int) {
	if p >= 0 && p < procSmall && v < 1<<31-1 {
		if int(p) >= len(m.small) {
			m.small = append(m.small, make([]int32, int(p)+1-len(m.small))...)
		}
		m.small[p] = int32(v + 1)
		return
	}
	m.big[p] = v
}

func (m *procMap) del(p Process) {
	if p >= 0 && p < procSmall && int(p) < len(m.small) {
		m.small[p] = 0
	}
	delete(m.big, p)
}
