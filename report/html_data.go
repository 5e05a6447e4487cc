package report

import (
	"sort"
	"strings"

	"github.com/faultline/faultline/history"
)

// span is one client operation: an invocation and its completion. It is kept small (a
// million-op history has a million of them); the details are in the ops it points at.
type span struct {
	proc      history.Process
	call, ret int64
	inv, comp int32 // positions of the invocation and the completion in ops; comp -1 if none
	sev       uint8 // 1 ok, 2 fail, 3 info (indeterminate or never completed)
	done      bool  // completed (else it lasts until the history's end)
}

// spans pairs client invocations with their completions, leniently: a completion without an
// invocation is skipped, an invocation never completed lasts until end.
func spans(ops []history.Op, end int64) (out []span, orphans int) {
	n := 0
	for i := range ops {
		if ops[i].Type == history.Invoke && !ops[i].Process.IsNemesis() {
			n++
		}
	}
	out = make([]span, 0, n)
	open := make(map[history.Process]int)
	for i := range ops {
		op := &ops[i]
		if op.Process.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			if j, ok := open[op.Process]; ok { // a second invoke: the first never completed
				out[j].ret = op.Time
			}
			open[op.Process] = len(out)
			out = append(out, span{proc: op.Process, call: op.Time, ret: end, inv: int32(i), comp: -1, sev: 3})
			continue
		}
		j, ok := open[op.Process]
		if !ok {
			orphans++
			continue
		}
		delete(open, op.Process)
		s := &out[j]
		s.ret, s.comp, s.done = op.Time, int32(i), true
		switch op.Type {
		case history.OK:
			s.sev = 1
		case history.Fail:
			s.sev = 2
		}
	}
	return out, orphans
}

// interval is a fault as it was active: from its start op to its stop op (or the history's
// end when it was never stopped), or an instant for ops that pair with nothing.
type interval struct {
	kind       string // partition, kill, pause, clock, delay, loss, or the op's f
	start, end int64
	open       bool // never stopped in the history
	instant    bool
	label      string // "start-partition halves n1,n2 | n3,n4,n5"
	detail     string // "halves n1,n2 | n3,n4,n5", or the node
	stopLabel  string
	err        string
}

// nemesisKinds orders the lanes; unknown kinds come after, sorted.
func nemesisKinds() []string { return []string{"partition", "kill", "pause", "clock", "delay", "loss"} }

// faultKey returns the kind of a nemesis op, the key its start and stop pair on, and whether
// it starts (true) or stops (false) a fault; ok is false for an op that pairs with nothing.
func faultKey(op *history.Op) (kind, key string, start, ok bool) {
	node := op.Node
	if node == "" {
		node = op.Detail
	}
	switch f := op.F; {
	case strings.HasPrefix(f, "start-"):
		kind = strings.TrimPrefix(f, "start-")
		return kind, kind, true, true
	case strings.HasPrefix(f, "stop-"):
		kind = strings.TrimPrefix(f, "stop-")
		return kind, kind, false, true
	case f == "kill" || f == "restart":
		return "kill", "kill " + node, f == "kill", true
	case f == "pause" || f == "resume":
		return "pause", "pause " + node, f == "pause", true
	case f == "clock-bump" || f == "clock-reset":
		return "clock", "clock " + node, f == "clock-bump", true
	}
	return op.F, "", false, false
}

func opDetail(op *history.Op) string {
	if op.Detail != "" {
		return history.Clip(op.Detail)
	}
	return history.Clip(op.Node)
}

func opLabel(op *history.Op) string {
	s := history.Clip(op.F)
	if op.Detail != "" {
		s += " " + history.Clip(op.Detail)
	} else if op.Node != "" {
		s += " " + history.Clip(op.Node)
	}
	return s
}

// intervals pairs the nemesis ops into fault intervals.
func intervals(ops []history.Op, end int64) []interval {
	var out []interval
	open := make(map[string]int)
	for i := range ops {
		op := &ops[i]
		if !op.Process.IsNemesis() {
			continue
		}
		kind, key, start, ok := faultKey(op)
		switch {
		case !ok:
			out = append(out, interval{kind: kind, start: op.Time, end: op.Time, instant: true, label: opLabel(op), detail: opDetail(op), err: history.Clip(op.Error)})
		case start:
			if _, dup := open[key]; dup { // started again before a stop: keep the first
				continue
			}
			open[key] = len(out)
			out = append(out, interval{kind: kind, start: op.Time, end: end, open: true, label: opLabel(op), detail: opDetail(op), err: history.Clip(op.Error)})
		default:
			j, found := open[key]
			if !found { // a stop with no start (a heal of nothing): show it as an instant
				out = append(out, interval{kind: kind, start: op.Time, end: op.Time, instant: true, label: opLabel(op), detail: opDetail(op), err: history.Clip(op.Error)})
				continue
			}
			delete(open, key)
			out[j].end, out[j].open, out[j].stopLabel = op.Time, false, opLabel(op)
			if op.Error != "" {
				out[j].err = strings.TrimSpace(out[j].err + "; " + history.Clip(op.Error))
			}
		}
	}
	return out
}

// kindsOf returns the fault kinds present, in lane order.
func kindsOf(ivs []interval) []string {
	seen := map[string]bool{}
	for _, iv := range ivs {
		seen[iv.kind] = true
	}
	var out []string
	for _, k := range nemesisKinds() {
		if seen[k] {
			out = append(out, k)
			delete(seen, k)
		}
	}
	var rest []string
	for k := range seen {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// opCounts are the history's figures as the report shows them.
type opCounts struct {
	Records, Operations, OK, Fail, Info, Unfinished, Nemesis, Processes, Keys int
	Orphans                                                                   int
}

func countOps(ops []history.Op, sp []span) opCounts {
	c := opCounts{Records: len(ops), Operations: len(sp)}
	procs := map[history.Process]bool{}
	keys := map[string]bool{}
	for i := range ops {
		if ops[i].Process.IsNemesis() {
			c.Nemesis++
		}
	}
	for i := range sp {
		procs[sp[i].proc] = true
		if k := ops[sp[i].inv].Key; k != "" {
			keys[k] = true
		}
		switch {
		case !sp[i].done:
			c.Unfinished++
		case sp[i].sev == 1:
			c.OK++
		case sp[i].sev == 2:
			c.Fail++
		default:
			c.Info++
		}
	}
	c.Processes, c.Keys = len(procs), len(keys)
	return c
}
