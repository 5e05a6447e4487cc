// Command checkbench generates the checker benchmark's history and runs the baseline it is
// measured against (see bench/check.sh and BENCHMARKS.md):
//
//	checkbench gen -o FILE [-ops 1000000] [-keys 1000] [-procs 10] [-seed 1]
//	checkbench baseline FILE
//
// gen simulates a linearizable register store (each operation takes effect at one instant
// between its invocation and completion), so the history is valid and porcupine has to search
// it all. baseline is the straightforward pipeline: encoding/json line by line, then
// porcupine called directly with a key-value model partitioned by key.
package main

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: checkbench gen -o FILE [flags] | checkbench baseline FILE")
		os.Exit(3)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "baseline":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: checkbench baseline FILE")
			break
		}
		var code int
		code, err = baseline(os.Args[2])
		if err == nil {
			os.Exit(code)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkbench:", err)
		os.Exit(3)
	}
}

// event is a simulation step of one process.
type event struct {
	t    int64
	proc int
	kind int // 0 invoke, 1 take effect, 2 complete
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].t < e[j].t || (e[i].t == e[j].t && e[i].kind > e[j].kind)
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any     { old := *e; x := old[len(old)-1]; *e = old[:len(old)-1]; return x }

type inflight struct {
	id       history.Process
	f        string
	key      string
	arg      history.Value
	result   history.Value
	typ      history.Type
	effectAt int64
	doneAt   int64
	info     bool
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("o", "", "output file")
	nOps := fs.Int("ops", 1_000_000, "records to write (invocations + completions)")
	nKeys := fs.Int("keys", 1000, "keys")
	procs := fs.Int("procs", 10, "concurrent client processes")
	seed := fs.Int64("seed", 1, "random seed")
	infoRate := fs.Float64("info", 0.001, "share of operations that end indeterminate (info)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("gen: -o FILE is required")
	}
	rng := rand.New(rand.NewSource(*seed))
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := history.NewWriter(f)
	state := make([]int64, *nKeys) // 0 = nil; values written are >= 1
	keys := make([]string, *nKeys)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	ops := make([]*inflight, *procs)
	ids := make([]history.Process, *procs)
	for p := range ids {
		ids[p] = history.Process(p)
	}
	var q events
	for p := 0; p < *procs; p++ {
		heap.Push(&q, event{t: int64(rng.Intn(100_000)), proc: p, kind: 0})
	}
	next := int64(1)
	var index int64
	emit := func(op history.Op) error {
		op.Index = index
		index++
		return w.Write(op)
	}
	for index < int64(*nOps) {
		e := heap.Pop(&q).(event)
		p := e.proc
		switch e.kind {
		case 0:
			k := rng.Intn(*nKeys)
			o := &inflight{id: ids[p], key: keys[k]}
			switch r := rng.Float64(); {
			case r < 0.5:
				o.f, o.arg = history.FRead, history.Nil()
			case r < 0.9:
				o.f, o.arg = history.FWrite, history.Int(next)
				next++
			default:
				old := state[k]
				if old == 0 {
					old = 1
				}
				o.f, o.arg = history.FCAS, history.List(old, next)
				next++
			}
			o.effectAt = e.t + 50_000 + int64(rng.Intn(500_000))
			o.doneAt = o.effectAt + 50_000 + int64(rng.Intn(500_000))
			o.info = rng.Float64() < *infoRate
			ops[p] = o
			if err := emit(history.Op{Time: e.t, Process: o.id, Type: history.Invoke, F: o.f, Key: o.key, Value: o.arg, Node: nodes[p%len(nodes)]}); err != nil {
				return err
			}
			heap.Push(&q, event{t: o.effectAt, proc: p, kind: 1})
		case 1:
			o := ops[p]
			k, _ := strconv.Atoi(o.key[1:])
			o.typ = history.OK
			switch o.f {
			case history.FRead:
				if state[k] == 0 {
					o.result = history.Nil()
				} else {
					o.result = history.Int(state[k])
				}
			case history.FWrite:
				if !o.info || rng.Intn(2) == 0 { // an indeterminate write may or may not happen
					state[k] = o.arg.Int
				}
				o.result = o.arg
			case history.FCAS:
				if state[k] == o.arg.List[0] && (!o.info || rng.Intn(2) == 0) {
					state[k] = o.arg.List[1]
				} else if !o.info {
					o.typ = history.Fail
				}
				o.result = o.arg
			}
			heap.Push(&q, event{t: o.doneAt, proc: p, kind: 2})
		case 2:
			o := ops[p]
			done := history.Op{Time: e.t, Process: o.id, F: o.f, Key: o.key, Node: nodes[p%len(nodes)], Type: o.typ, Value: o.result}
			if o.info {
				done.Type, done.Value, done.Error = history.Info, history.Nil(), "timeout"
				ids[p] += history.Process(*procs) // a crashed process gets a new id
			} else if o.typ == history.Fail {
				done.Value, done.Error = history.Nil(), "cas mismatch"
			}
			if err := emit(done); err != nil {
				return err
			}
			heap.Push(&q, event{t: e.t + int64(rng.Intn(100_000)), proc: p, kind: 0})
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// The baseline's model: a register per key, inputs and outputs as plain structs.
type kvInput struct {
	op       string // read, write, cas
	key      string
	arg, new int64
}

type kvOutput struct {
	unknown bool // indeterminate
	isNil   bool
	value   int64
}

type regState struct {
	isNil bool
	value int64
}

func baselineModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			m := make(map[string][]porcupine.Operation)
			var order []string
			for _, op := range h {
				k := op.Input.(kvInput).key
				if _, ok := m[k]; !ok {
					order = append(order, k)
				}
				m[k] = append(m[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(order))
			for _, k := range order {
				out = append(out, m[k])
			}
			return out
		},
		Init: func() any { return regState{isNil: true} },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(regState), input.(kvInput), output.(kvOutput)
			switch in.op {
			case history.FRead:
				return out.unknown || (out.isNil == s.isNil && (s.isNil || out.value == s.value)), s
			case history.FWrite:
				return true, regState{value: in.arg}
			default:
				if !s.isNil && s.value == in.arg {
					return true, regState{value: in.new}
				}
				return out.unknown, s
			}
		},
	}
}

func baseline(path string) (int, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 3, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var ops []history.Op
	for sc.Scan() {
		var op history.Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return 3, fmt.Errorf("line %d: %w", len(ops)+1, err)
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		return 3, err
	}
	parsed := time.Since(start)

	checkStart := time.Now()
	type pending struct {
		op   history.Op
		done bool
	}
	open := make(map[history.Process]history.Op)
	var hist []porcupine.Operation
	add := func(inv history.Op, ret int64, out kvOutput) {
		in := kvInput{op: inv.F, key: inv.Key}
		switch inv.F {
		case history.FWrite:
			in.arg = inv.Value.Int
		case history.FCAS:
			in.arg, in.new = inv.Value.List[0], inv.Value.List[1]
		}
		hist = append(hist, porcupine.Operation{ClientId: int(inv.Process), Input: in, Call: inv.Time, Output: out, Return: ret})
	}
	for _, op := range ops {
		if op.Process.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = op
			continue
		}
		inv := open[op.Process]
		delete(open, op.Process)
		switch op.Type {
		case history.OK:
			add(inv, op.Time, kvOutput{isNil: op.Value.IsNil(), value: op.Value.Int})
		case history.Info:
			if inv.F != history.FRead {
				add(inv, math.MaxInt64, kvOutput{unknown: true})
			}
		}
	}
	for _, inv := range open {
		if inv.F != history.FRead {
			add(inv, math.MaxInt64, kvOutput{unknown: true})
		}
	}
	ok := porcupine.CheckOperations(baselineModel(), hist)
	checked := time.Since(checkStart)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("baseline: %d records, %d porcupine ops; parse %s, check %s, total %s; linearizable %v\n",
		len(ops), len(hist), parsed.Round(time.Millisecond), checked.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), ok)
	if !ok {
		return 1, nil
	}
	return 0, nil
}
