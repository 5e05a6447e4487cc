package checker

import (
	"fmt"
	"sort"

	"github.com/faultline/faultline/history"
)

// LostIncrementsDetails are the lost-increments checker's figures.
type LostIncrementsDetails struct {
	Keys      int   `json:"keys"`
	Acked     int   `json:"acked"`         // ok increments before the final read
	Indet     int   `json:"indeterminate"` // info, unfinished, or concurrent with the final read
	Failed    int   `json:"failed"`
	KeysLost  int   `json:"keys_lost"`
	Lost      int64 `json:"lost"`   // total shortfall below what the acked increments require
	Excess    int64 `json:"excess"` // total surplus above what all increments allow
	Undecided int   `json:"undecided"`
	// Unsettled are acknowledged increments that completed during or after the final read of
	// their key: no later read shows whether they took effect.
	Unsettled int `json:"unsettled,omitempty"`
	// FinalProcess is Config.FinalProcess: the final reads are the reads by processes from it
	// on; 0 (absent) when the last ok read of each key is its final read.
	FinalProcess int `json:"final_process,omitempty"`
	// NeverRead are keys with acknowledged increments but no ok (final) read.
	NeverRead []string `json:"never_read,omitempty"`
	// PerKey lists the keys whose final value is wrong or undecided (at most 20).
	PerKey []CounterKey `json:"per_key,omitempty"`
}

// CounterKey is one key's lost-increments figures.
type CounterKey struct {
	Key       string `json:"key"`
	Final     int64  `json:"final"` // the final read's value
	FinalRead OpRef  `json:"final_read"`
	Acked     int64  `json:"acked"` // sum of acknowledged deltas
	IndetN    int    `json:"indeterminate"`
	Min       int64  `json:"min"` // the least the final value may be
	Max       int64  `json:"max"` // the most it may be
	Lost      int64  `json:"lost,omitempty"`
	Excess    int64  `json:"excess,omitempty"`
	Method    string `json:"method"` // range, multiple, subset-sum, or undecided
}

// counterValue reads a counter read's value (nil is an untouched counter: 0).
func counterValue(v history.Value) (int64, bool) {
	switch v.Kind {
	case history.KindInt:
		return v.Int, true
	case history.KindNil:
		return 0, true
	}
	return 0, false
}

// maxSubsetBits bounds the subset-sum bitset (4 Mi bits = 512 KiB).
const maxSubsetBits = 1 << 22

// reachable reports whether target is a sum of some subset of deltas, and how it decided:
// "range" (unit deltas), "multiple" (all deltas equal), "subset-sum" (bitset), or
// "undecided" when the bitset would be too large (then ok is meaningless).
func reachable(deltas []int64, target int64) (ok bool, method string) {
	var lo, hi int64
	for _, d := range deltas {
		if d < 0 {
			lo += d
		} else {
			hi += d
		}
	}
	if target < lo || target > hi {
		return false, "range"
	}
	if len(deltas) == 0 {
		return target == 0, "range"
	}
	same := true
	for _, d := range deltas {
		if d != deltas[0] {
			same = false
			break
		}
	}
	if same {
		d := deltas[0]
		if d == 0 {
			return target == 0, "range"
		}
		if d == 1 || d == -1 {
			return true, "range" // every value in [lo, hi] is reachable
		}
		return target%d == 0, "multiple"
	}
	width := hi - lo + 1
	if width > maxSubsetBits {
		return false, "undecided"
	}
	// bitset of reachable sums, offset by lo; bounded multiplicity by binary splitting
	counts := make(map[int64]int64)
	for _, d := range deltas {
		if d != 0 {
			counts[d]++
		}
	}
	set := make([]uint64, (width+63)/64)
	set[(-lo)/64] |= 1 << uint((-lo)%64)
	for d, c := range counts {
		for k := int64(1); c > 0; k *= 2 {
			take := min(k, c)
			c -= take
			shiftOr(set, d*take, width)
		}
	}
	i := target - lo
	return set[i/64]&(1<<uint(i%64)) != 0, "subset-sum"
}

// shiftOr sets set |= set shifted by s bits (s may be negative), within width bits.
func shiftOr(set []uint64, s int64, width int64) {
	n := int64(len(set))
	words, rem := s/64, s%64
	if s >= 0 {
		for i := n - 1; i >= 0; i-- {
			j := i - words
			var v uint64
			if j >= 0 && j < n {
				v = set[j] << uint(rem)
				if rem != 0 && j-1 >= 0 {
					v |= set[j-1] >> uint(64-rem)
				}
			}
			set[i] |= v
		}
	} else {
		s = -s
		words, rem = s/64, s%64
		for i := int64(0); i < n; i++ {
			j := i + words
			var v uint64
			if j < n {
				v = set[j] >> uint(rem)
				if rem != 0 && j+1 < n {
					v |= set[j+1] << uint(64-rem)
				}
			}
			set[i] |= v
		}
	}
	if extra := n*64 - width; extra > 0 {
		set[n-1] &= ^uint64(0) >> uint(extra)
	}
}

// checkLostIncrements: the final read of each key (after healing) must equal the acknowledged
// increments plus some subset of the indeterminate ones. An add of an integer (Jepsen's counter
// workload) is an increment: Check renames it before the checkers run.
func checkLostIncrements(h *prepared, workload string) *Result {
	if workload != WorkloadCounter {
		return skipped(fmt.Sprintf("lost-increments applies to counter workloads, not %s", workload))
	}
	d := &LostIncrementsDetails{FinalProcess: h.finalProcess}
	res := &Result{Details: d}
	for _, key := range h.keys {
		fi := finalRead(h, key)
		var acked int64
		var pool []int64
		ackedAny := false
		for _, i := range h.byKey[key] {
			p := &h.pairs[i]
			if p.F != history.FIncr {
				continue
			}
			if p.Input.Kind != history.KindInt {
				return skipped(fmt.Sprintf("cannot check %s: incr value %s: want an integer", h.ref(i).describe(), p.Input.Short()))
			}
			if p.Type == history.Fail {
				d.Failed++
				continue
			}
			if p.Type == history.OK {
				ackedAny = true
			}
			if fi < 0 {
				continue
			}
			fin := &h.pairs[fi]
			switch {
			case p.Type == history.OK && p.Return < fin.Call:
				acked += p.Input.Int
				d.Acked++
			case p.Call <= fin.Return: // may or may not be in the final read
				pool = append(pool, p.Input.Int)
				d.Indet++
				if p.Type == history.OK {
					d.Unsettled++
				}
			case p.Type == history.OK: // after the final read: nothing read it
				d.Unsettled++
			}
		}
		if fi < 0 {
			if ackedAny {
				d.NeverRead = append(d.NeverRead, history.Clip(key))
			}
			continue
		}
		final, ok := counterValue(h.pairs[fi].Output)
		if !ok {
			return skipped(fmt.Sprintf("cannot check %s: counter read %s: want an integer", h.ref(fi).describe(), h.pairs[fi].Output.Short()))
		}
		d.Keys++
		ck := CounterKey{Key: history.Clip(key), Final: final, FinalRead: h.ref(fi), Acked: acked, IndetN: len(pool), Min: acked, Max: acked}
		for _, x := range pool {
			if x < 0 {
				ck.Min += x
			} else {
				ck.Max += x
			}
		}
		okReach, method := reachable(pool, final-acked)
		ck.Method = method
		switch {
		case final < ck.Min:
			ck.Lost = ck.Min - final
			d.Lost += ck.Lost
			d.KeysLost++
		case final > ck.Max:
			ck.Excess = final - ck.Max
			d.Excess += ck.Excess
			d.KeysLost++
		case method == "undecided":
			d.Undecided++
		case !okReach:
			d.KeysLost++
		default:
			continue
		}
		if len(d.PerKey) < capN {
			d.PerKey = append(d.PerKey, ck)
		}
	}
	for _, ck := range d.PerKey {
		switch {
		case ck.Lost > 0:
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: final read %d, but acknowledged increments alone sum to %d (at least %d lost; %d indeterminate)", keyName(ck.Key), ck.Final, ck.Min, ck.Lost, ck.IndetN))
		case ck.Excess > 0:
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: final read %d exceeds every increment attempted (at most %d): %d too many", keyName(ck.Key), ck.Final, ck.Max, ck.Excess))
		case ck.Method == "undecided":
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: final read %d lies within [%d, %d], but %d indeterminate increments of mixed sizes are too many to decide which subset it is", keyName(ck.Key), ck.Final, ck.Min, ck.Max, ck.IndetN))
		default:
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: final read %d is acked %d plus no subset of the %d indeterminate increments", keyName(ck.Key), ck.Final, ck.Acked, ck.IndetN))
		}
	}
	switch {
	case d.KeysLost > 0:
		res.Valid = Invalid
		head := fmt.Sprintf("%d of %d keys have a final value no subset of the indeterminate increments explains", d.KeysLost, d.Keys)
		if d.Lost > 0 || d.Excess > 0 {
			head += fmt.Sprintf(" (%d lost below the acknowledged sum, %d in excess of every attempt)", d.Lost, d.Excess)
		}
		res.Explanation = append([]string{head}, res.Explanation...)
	case h.finalNamed() && (d.Keys == 0 || len(d.NeverRead) > 0):
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, noFinalReads(h, d.NeverRead, "increments"))
	case d.Keys == 0 && len(d.NeverRead) == 0:
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, "no counter reads: nothing to check")
	case d.Undecided > 0 || len(d.NeverRead) > 0:
		res.Valid = Unknown
		if len(d.NeverRead) > 0 {
			res.Explanation = append(res.Explanation, fmt.Sprintf("%d keys have acknowledged increments but no ok read: %v", len(d.NeverRead), clipKeys(d.NeverRead)))
		}
	case d.Unsettled > 0:
		// acknowledged, yet no later read shows whether it took effect: never valid
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d acknowledged increments completed during or after the final read of their key: no later ok read could have observed them, so they cannot be checked", d.Unsettled))
	default:
		res.Valid = Valid
		res.Explanation = []string{fmt.Sprintf("all %d keys: final value = %d acknowledged increments + a subset of %d indeterminate ones", d.Keys, d.Acked, d.Indet)}
	}
	return res
}

// CounterBoundsDetails are the counter-bounds checker's figures.
type CounterBoundsDetails struct {
	Reads      int   `json:"reads"`
	Violations int   `json:"violations"`
	Worst      int64 `json:"worst_deviation"` // largest distance of a read outside its bounds
	// WorstRead is the read furthest outside its bounds, with them.
	WorstRead *BoundsViolation `json:"worst_read,omitempty"`
}

// BoundsViolation is a read outside what the increments allow at its time.
type BoundsViolation struct {
	Read  OpRef `json:"read"`
	Value int64 `json:"value"`
	Lower int64 `json:"lower"`
	Upper int64 `json:"upper"`
}

// checkCounterBounds: every ok read lies within [definite + possible negatives, definite +
// possible positives], where definite increments completed before the read began and possible
// ones (not failed) began before it ended. Strict: an eventually consistent store fails it.
func checkCounterBounds(h *prepared, workload string) *Result {
	if workload != WorkloadCounter {
		return skipped(fmt.Sprintf("counter-bounds applies to counter workloads, not %s", workload))
	}
	d := &CounterBoundsDetails{}
	res := &Result{Details: d}
	type ev struct {
		t   int64
		pos int64
		neg int64
	}
	prefix := func(evs []ev) ([]int64, []int64, []int64) {
		sort.Slice(evs, func(a, b int) bool { return evs[a].t < evs[b].t })
		ts := make([]int64, len(evs))
		pos := make([]int64, len(evs)+1)
		neg := make([]int64, len(evs)+1)
		for i, e := range evs {
			ts[i] = e.t
			pos[i+1] = pos[i] + e.pos
			neg[i+1] = neg[i] + e.neg
		}
		return ts, pos, neg
	}
	for _, key := range h.keys {
		var defs, poss []ev
		var reads []int
		for _, i := range h.byKey[key] {
			p := &h.pairs[i]
			switch {
			case p.F == history.FIncr && p.Type != history.Fail && p.Input.Kind == history.KindInt:
				e := ev{pos: max(p.Input.Int, 0), neg: min(p.Input.Int, 0)}
				if p.Type == history.OK {
					de := e
					de.t = p.Return
					defs = append(defs, de)
				}
				e.t = p.Call
				poss = append(poss, e)
			case p.F == history.FRead && p.Type == history.OK:
				reads = append(reads, i)
			}
		}
		dts, dpos, dneg := prefix(defs)
		pts, ppos, pneg := prefix(poss)
		for _, ri := range reads {
			r := &h.pairs[ri]
			v, ok := counterValue(r.Output)
			if !ok {
				return skipped(fmt.Sprintf("cannot check %s: counter read %s: want an integer", h.ref(ri).describe(), r.Output.Short()))
			}
			d.Reads++
			nd := sort.Search(len(dts), func(i int) bool { return dts[i] >= r.Call })  // Return < Call
			np := sort.Search(len(pts), func(i int) bool { return pts[i] > r.Return }) // Call <= Return
			def := dpos[nd] + dneg[nd]
			lower := def + (pneg[np] - dneg[nd])
			upper := def + (ppos[np] - dpos[nd])
			var dev int64
			switch {
			case v < lower:
				dev = lower - v
			case v > upper:
				dev = v - upper
			default:
				continue
			}
			d.Violations++
			if dev > d.Worst {
				d.Worst = dev
				d.WorstRead = &BoundsViolation{Read: h.ref(ri), Value: v, Lower: lower, Upper: upper}
			}
		}
	}
	if d.Violations > 0 {
		res.Valid = Invalid
		w := d.WorstRead
		res.Explanation = []string{
			fmt.Sprintf("%d of %d reads lie outside what the increments allow at their time; worst deviation %d", d.Violations, d.Reads, d.Worst),
			fmt.Sprintf("worst: %s, allowed [%d, %d]", w.Read.describe(), w.Lower, w.Upper),
		}
		return res
	}
	res.Valid = Valid
	res.Explanation = []string{fmt.Sprintf("all %d reads within bounds", d.Reads)}
	return res
}
