package checker

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/faultline/faultline/history"
)

// StalenessDetails are the staleness figures (reported, never deciding a verdict).
type StalenessDetails struct {
	Reads       int     `json:"reads"`       // ok register reads assessed
	Stale       int     `json:"stale"`       // reads behind at least one acknowledged write
	StaleRate   float64 `json:"stale_rate"`  // stale / reads
	MaxBehind   int     `json:"max_behind"`  // most acknowledged writes a read was behind
	MeanBehind  float64 `json:"mean_behind"` // over stale reads
	Unexplained int     `json:"unexplained"` // reads of a value nobody wrote (see linearizable)
	Siblings    int     `json:"siblings"`    // reads returning several values, not assessed
	// Curve is the t-visibility curve: of the reads that began at least After past the
	// newest acknowledged write, the share still stale.
	Curve []VisibilityPoint `json:"t_visibility"`
	// Worst is the read furthest behind.
	Worst *StaleRead `json:"worst,omitempty"`
}

// VisibilityPoint is one point of the t-visibility curve.
type VisibilityPoint struct {
	After     string  `json:"after"`
	AfterNS   int64   `json:"after_ns"`
	Reads     int     `json:"reads"`
	Stale     int     `json:"stale"`
	StaleRate float64 `json:"stale_rate"`
}

// StaleRead is a read behind acknowledged writes.
type StaleRead struct {
	Read   OpRef `json:"read"`
	Behind int   `json:"behind"` // acknowledged writes it missed
	// SinceNewest is how long after the newest acknowledged write completed the read began.
	SinceNewest int64 `json:"since_newest_ns"`
}

// visibilitySteps returns the curve's thresholds.
func visibilitySteps() []time.Duration {
	return []time.Duration{0, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second}
}

// checkStaleness measures, per ok register read, how many acknowledged writes it is behind: the
// writes that completed before the read began and began after the write it observed completed
// (so they are ordered after it in real time); 0 when the observed value may be the latest.
func checkStaleness(h *prepared, workload string) *Result {
	if workload != WorkloadRegister {
		return skipped(fmt.Sprintf("staleness applies to register workloads, not %s", workload))
	}
	d := &StalenessDetails{}
	res := &Result{Valid: Valid, Details: d}
	type write struct {
		v         int64
		call, ret int64
		acked     bool
	}
	type sample struct {
		since int64
		stale bool
	}
	var samples []sample
	totalBehind := 0
	for _, key := range h.keys {
		var acked []write   // acknowledged writes, by completion time
		var byValue []write // every write that may have happened, by value
		var reads []int
		for _, i := range h.byKey[key] {
			p := &h.pairs[i]
			if p.Type == history.Fail {
				continue
			}
			// an indeterminate write may take effect any time after its invocation, even after
			// its info completion: like the linearizability checker, it ends at infinity
			ret := p.Return
			if p.Type != history.OK {
				ret = history.Never
			}
			var w write
			switch {
			case p.F == history.FWrite && p.Input.Kind == history.KindInt:
				w = write{v: p.Input.Int, call: p.Call, ret: ret, acked: p.Type == history.OK}
			case p.F == history.FCAS && len(p.Input.List) == 2:
				w = write{v: p.Input.List[1], call: p.Call, ret: ret, acked: p.Type == history.OK}
			case p.F == history.FRead && p.Type == history.OK:
				reads = append(reads, i)
				continue
			default:
				continue
			}
			byValue = append(byValue, w)
			if w.acked {
				acked = append(acked, w)
			}
		}
		slices.SortFunc(acked, func(a, b write) int { return cmp.Compare(a.ret, b.ret) })
		slices.SortFunc(byValue, func(a, b write) int { return cmp.Compare(a.v, b.v) })
		for _, ri := range reads {
			r := &h.pairs[ri]
			var v int64
			isNil := false
			switch {
			case r.Output.Kind == history.KindNil || (r.Output.Kind == history.KindList && len(r.Output.List) == 0):
				isNil = true
			case r.Output.Kind == history.KindInt:
				v = r.Output.Int
			case len(r.Output.List) == 1:
				v = r.Output.List[0]
			default:
				d.Siblings++
				continue
			}
			d.Reads++
			// acked[:n] completed before the read began; the newest of them is acked[n-1]
			n, _ := slices.BinarySearchFunc(acked, r.Call, func(w write, t int64) int {
				if w.ret < t {
					return -1
				}
				return 1
			})
			newest := int64(-1)
			if n > 0 {
				newest = acked[n-1].ret
			}
			behind := 0
			if isNil {
				behind = n
			} else {
				// the observed write: of the writes of v begun before the read ended, the one
				// ending latest (fewest writes ordered after it)
				observedEnd, found := int64(-1), false
				j, _ := slices.BinarySearchFunc(byValue, v, func(w write, v int64) int { return cmp.Compare(w.v, v) })
				for ; j < len(byValue) && byValue[j].v == v; j++ {
					if w := byValue[j]; w.call <= r.Return {
						found = true
						observedEnd = max(observedEnd, w.ret)
					}
				}
				if !found {
					d.Unexplained++
					continue
				}
				for j := n - 1; j >= 0 && acked[j].ret > observedEnd; j-- {
					if acked[j].call > observedEnd {
						behind++
					}
				}
			}
			if newest >= 0 {
				samples = append(samples, sample{since: r.Call - newest, stale: behind > 0})
			}
			if behind == 0 {
				continue
			}
			d.Stale++
			totalBehind += behind
			if behind > d.MaxBehind {
				d.MaxBehind = behind
				d.Worst = &StaleRead{Read: h.ref(ri), Behind: behind, SinceNewest: r.Call - newest}
			}
		}
	}
	if d.Reads > 0 {
		d.StaleRate = float64(d.Stale) / float64(d.Reads)
	}
	if d.Stale > 0 {
		d.MeanBehind = float64(totalBehind) / float64(d.Stale)
	}
	for _, t := range visibilitySteps() {
		pt := VisibilityPoint{After: t.String(), AfterNS: int64(t)}
		for _, s := range samples {
			if s.since >= int64(t) {
				pt.Reads++
				if s.stale {
					pt.Stale++
				}
			}
		}
		if pt.Reads > 0 {
			pt.StaleRate = float64(pt.Stale) / float64(pt.Reads)
		}
		d.Curve = append(d.Curve, pt)
	}
	res.Explanation = []string{fmt.Sprintf("%d of %d reads stale (%.1f%%), at most %d acknowledged writes behind", d.Stale, d.Reads, 100*d.StaleRate, d.MaxBehind)}
	if d.Worst != nil {
		res.Explanation = append(res.Explanation, fmt.Sprintf("furthest behind: %s missed %d writes, began %s after the newest one completed", d.Worst.Read.describe(), d.Worst.Behind, time.Duration(d.Worst.SinceNewest)))
	}
	return res
}
