package checker

import (
	"fmt"
	"slices"
	"sort"

	"github.com/faultline/faultline/history"
)

// SetDetails are the lost-updates checker's figures (Jepsen's set-full, per key).
type SetDetails struct {
	Keys          int `json:"keys"`
	Attempted     int `json:"attempted"`     // add invocations
	Acknowledged  int `json:"acknowledged"`  // ok adds
	Indeterminate int `json:"indeterminate"` // info or unfinished adds
	Failed        int `json:"failed"`
	Reads         int `json:"reads"` // ok reads

	Lost          int `json:"lost"`           // acknowledged before the final read began, absent from it
	Recovered     int `json:"recovered"`      // indeterminate or failed, present in the final read
	FailedPresent int `json:"failed_present"` // of those, failed adds: the store said no, yet it is there
	Unexpected    int `json:"unexpected"`     // read but never added
	Stale         int `json:"stale"`          // known present, then missing from a later read (not lost)
	Unsettled     int `json:"unsettled"`      // acknowledged adds concurrent with or after the final read, absent
	// FinalProcess is Config.FinalProcess: the final reads are the reads by processes from it
	// on; 0 (absent) when the last ok read of each key is its final read.
	FinalProcess int `json:"final_process,omitempty"`
	// NeverRead are keys with acknowledged adds but no ok (final) read: nothing to check against.
	NeverRead []string `json:"never_read,omitempty"`
	// Anomalies lists the keys with lost, unexpected or stale elements (at most 20).
	Anomalies []SetKey `json:"anomalies,omitempty"`
}

// SetKey is one key's anomalies; element lists hold at most 20 elements each.
type SetKey struct {
	Key           string  `json:"key"`
	FinalRead     OpRef   `json:"final_read"`
	LostCount     int     `json:"lost_count"`
	StaleCount    int     `json:"stale_count"`
	Lost          []int64 `json:"lost,omitempty"`
	Unexpected    []int64 `json:"unexpected,omitempty"`
	Recovered     []int64 `json:"recovered,omitempty"`
	FailedPresent []int64 `json:"failed_present,omitempty"`
	Stale         []int64 `json:"stale,omitempty"`
}

// readSet returns a set read's elements, sorted and de-duplicated.
func readSet(v history.Value) []int64 {
	switch v.Kind {
	case history.KindInt:
		return []int64{v.Int}
	case history.KindList:
		s := slices.Clone(v.List)
		slices.Sort(s)
		return slices.Compact(s)
	}
	return nil
}

func contains(sorted []int64, x int64) bool {
	_, ok := slices.BinarySearch(sorted, x)
	return ok
}

// isFinal reports whether pair i is a final read (or a try at one): with h.finalProcess set,
// a read by a process from it on; without, any read.
func (h *prepared) isFinal(i int) bool {
	p := &h.pairs[i]
	return !h.noFinal && p.F == history.FRead && (h.finalProcess == 0 || int(p.Process) >= h.finalProcess)
}

// finalNamed reports whether the run said which reads are final (or that there are none), so
// a key without one cannot fall back to its last ok read.
func (h *prepared) finalNamed() bool { return h.finalProcess > 0 || h.noFinal }

// finalRead returns a key's final read: its last ok read by completion order (with
// h.finalProcess set, its last ok read by a final-read process), or -1.
func finalRead(h *prepared, key string) int {
	best := -1
	for _, i := range h.byKey[key] {
		p := &h.pairs[i]
		if p.Type != history.OK || !h.isFinal(i) {
			continue
		}
		if best < 0 || p.Return > h.pairs[best].Return || (p.Return == h.pairs[best].Return && p.Complete > h.pairs[best].Complete) {
			best = i
		}
	}
	return best
}

// noFinalReads explains, with h.finalProcess set, why keys (with acknowledged updates) have
// no ok final read: the run was interrupted before the final reads, or they failed.
func noFinalReads(h *prepared, keys []string, what string) string {
	tried := false
	for i := range h.pairs {
		if h.isFinal(i) {
			tried = true
			break
		}
	}
	var msg string
	switch {
	case h.noFinal:
		msg = "no final reads: the run stopped before taking them"
	case !tried:
		msg = fmt.Sprintf("no final reads (no read by a process from %d on): the run was interrupted before them", h.finalProcess)
	case len(keys) == 0:
		msg = "no final read succeeded (every one failed or was indeterminate)"
	default:
		msg = "no ok final read of some keys (every final read of them failed or was indeterminate)"
	}
	if len(keys) > 0 {
		msg += fmt.Sprintf("; %d keys with acknowledged %s cannot be checked: %v", len(keys), what, clipKeys(keys))
	}
	return msg
}

// checkSet is the lost-updates checker: every acknowledged add must be in the final read.
func checkSet(h *prepared, workload string) *Result {
	if workload != WorkloadSet {
		return skipped(fmt.Sprintf("lost-updates applies to set workloads, not %s", workload))
	}
	d := &SetDetails{FinalProcess: h.finalProcess}
	res := &Result{Details: d}
	finalKeys := 0 // keys with an ok final read
	for _, key := range h.keys {
		type elem struct {
			acked, indet, failed bool
			ackedAt              int64 // earliest completion of an ok add
			knownAt              int64 // when it was first known present: ack or a read seeing it
		}
		elems := make(map[int64]*elem)
		get := func(x int64) *elem {
			e := elems[x]
			if e == nil {
				e = &elem{ackedAt: history.Never, knownAt: history.Never}
				elems[x] = e
			}
			return e
		}
		var reads []int
		for _, i := range h.byKey[key] {
			p := &h.pairs[i]
			switch p.F {
			case history.FAdd:
				if p.Input.Kind != history.KindInt {
					return skipped(fmt.Sprintf("cannot check %s: add value %s: want an integer", h.ref(i).describe(), p.Input.Short()))
				}
				d.Attempted++
				e := get(p.Input.Int)
				switch p.Type {
				case history.OK:
					d.Acknowledged++
					e.acked = true
					e.ackedAt = min(e.ackedAt, p.Return)
					e.knownAt = min(e.knownAt, p.Return)
				case history.Fail:
					d.Failed++
					e.failed = true
				default:
					d.Indeterminate++
					e.indet = true
				}
			case history.FRead:
				if p.Type == history.OK {
					d.Reads++
					reads = append(reads, i)
				}
			}
		}
		if len(elems) == 0 && len(reads) == 0 {
			continue
		}
		d.Keys++
		fi := finalRead(h, key)
		ak := SetKey{Key: history.Clip(key)}
		// unexpected: read (anywhere, final or not) but never added
		seenUnexpected := make(map[int64]bool)
		sets := make(map[int][]int64, len(reads))
		for _, ri := range reads {
			s := readSet(h.pairs[ri].Output)
			sets[ri] = s
			for _, x := range s {
				e, ok := elems[x]
				if !ok && !seenUnexpected[x] {
					seenUnexpected[x] = true
					d.Unexpected++
					if len(ak.Unexpected) < capN {
						ak.Unexpected = append(ak.Unexpected, x)
					}
				}
				if ok {
					e.knownAt = min(e.knownAt, h.pairs[ri].Return)
				}
			}
		}
		if fi < 0 {
			for _, e := range elems {
				if e.acked {
					d.NeverRead = append(d.NeverRead, history.Clip(key))
					break
				}
			}
			if len(ak.Unexpected) > 0 && len(d.Anomalies) < capN {
				d.Anomalies = append(d.Anomalies, ak)
			}
			continue
		}
		finalKeys++
		final := readSet(h.pairs[fi].Output)
		fin := &h.pairs[fi]
		ak.FinalRead = h.ref(fi)
		xs := make([]int64, 0, len(elems))
		for x := range elems {
			xs = append(xs, x)
		}
		slices.Sort(xs)
		for _, x := range xs {
			e := elems[x]
			present := contains(final, x)
			switch {
			case present && !e.acked && e.failed && !e.indet:
				d.Recovered++
				d.FailedPresent++
				if len(ak.FailedPresent) < capN {
					ak.FailedPresent = append(ak.FailedPresent, x)
				}
			case present && !e.acked:
				d.Recovered++
				if len(ak.Recovered) < capN {
					ak.Recovered = append(ak.Recovered, x)
				}
			case !present && e.acked && e.ackedAt < fin.Call:
				d.Lost++
				ak.LostCount++
				if len(ak.Lost) < capN {
					ak.Lost = append(ak.Lost, x)
				}
			case !present && e.acked:
				d.Unsettled++
			}
		}
		// stale: known present before a read began, missing from it, yet not lost
		sort.Slice(reads, func(a, b int) bool { return h.pairs[reads[a]].Call < h.pairs[reads[b]].Call })
		for _, x := range xs {
			e := elems[x]
			if e.knownAt == history.Never || !contains(final, x) {
				continue
			}
			for _, ri := range reads {
				if h.pairs[ri].Call > e.knownAt && !contains(sets[ri], x) {
					d.Stale++
					ak.StaleCount++
					if len(ak.Stale) < capN {
						ak.Stale = append(ak.Stale, x)
					}
					break
				}
			}
		}
		if len(ak.Lost)+len(ak.Unexpected)+len(ak.FailedPresent)+len(ak.Stale) > 0 && len(d.Anomalies) < capN {
			d.Anomalies = append(d.Anomalies, ak)
		}
	}
	for _, a := range d.Anomalies {
		if len(a.Lost) > 0 {
			shown := ""
			if a.LostCount > len(a.Lost) {
				shown = fmt.Sprintf(" (%d of %d shown)", len(a.Lost), a.LostCount)
			}
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: %d acknowledged adds %s%s are missing from the final read (%s)", keyName(a.Key), a.LostCount, fmtSet(a.Lost), shown, a.FinalRead.describe()))
		}
		if len(a.Unexpected) > 0 {
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: reads returned %s, which nobody added", keyName(a.Key), fmtSet(a.Unexpected)))
		}
		if len(a.FailedPresent) > 0 {
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: adds of %s failed, yet the final read has them", keyName(a.Key), fmtSet(a.FailedPresent)))
		}
	}
	unsettledSaid := false
	switch {
	case d.Lost > 0 || d.Unexpected > 0 || d.FailedPresent > 0:
		res.Valid = Invalid
		res.Explanation = append([]string{fmt.Sprintf("%d lost, %d unexpected, %d failed-but-present of %d attempted adds", d.Lost, d.Unexpected, d.FailedPresent, d.Attempted)}, res.Explanation...)
	case d.Keys == 0:
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, "no adds or reads: nothing to check")
	case h.finalNamed() && (len(d.NeverRead) > 0 || finalKeys == 0):
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, noFinalReads(h, d.NeverRead, "adds"))
	case len(d.NeverRead) > 0:
		res.Valid = Unknown
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d keys have acknowledged adds but no ok read to check them against: %v", len(d.NeverRead), clipKeys(d.NeverRead)))
	case d.Unsettled > 0:
		// acknowledged, absent from the final read, and no later read could show whether it
		// is there: never valid
		res.Valid = Unknown
		unsettledSaid = true
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d acknowledged adds completed during or after the final read and are absent from it: no later ok read could have observed them, so they cannot be checked", d.Unsettled))
	default:
		res.Valid = Valid
		res.Explanation = append(res.Explanation, fmt.Sprintf("all %d acknowledged adds present in the final reads (%d indeterminate or failed recovered)", d.Acknowledged-d.Unsettled, d.Recovered))
	}
	if d.Stale > 0 {
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d elements were missing from a read after they were known present (stale reads; not lost)", d.Stale))
	}
	if d.Unsettled > 0 && !unsettledSaid {
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d acknowledged adds completed during or after the final read and are absent from it: not checkable", d.Unsettled))
	}
	return res
}
