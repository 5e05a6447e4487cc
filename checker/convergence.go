package checker

import (
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// ConvergenceDetails are the convergence checker's figures.
type ConvergenceDetails struct {
	Nodes     []string `json:"nodes"`
	Keys      int      `json:"keys"`
	Divergent int      `json:"divergent"`
	// Partial counts keys that fewer nodes hold than the most-held key: expected when each key
	// lives on N of the nodes; a replica that lost a key entirely also shows up only here.
	Partial int `json:"partial"`
	// DivergentKeys shows the first divergent keys (at most 20) with each node's value.
	DivergentKeys []Divergence `json:"divergent_keys,omitempty"`
}

// Divergence is one key the replicas disagree on (nodes that do not hold the key are left out).
type Divergence struct {
	Key    string                   `json:"key"`
	Values map[string]history.Value `json:"values"`
}

// normalize sorts a list value (siblings and set elements have no order).
func normalize(v history.Value) history.Value {
	if v.Kind == history.KindList && !slices.IsSorted(v.List) {
		return history.List(slices.Sorted(slices.Values(v.List))...)
	}
	return v
}

// checkConvergence: after healing, every replica holds the same value of every key.
func checkConvergence(dumps history.Dumps, explicit bool) *Result {
	if dumps == nil {
		if explicit {
			return skipped("no replica dumps (dumps.json): convergence cannot run, verdict unknown")
		}
		return skipped("no replica dumps (dumps.json): convergence skipped")
	}
	nodes := dumps.Nodes()
	d := &ConvergenceDetails{Nodes: nodes}
	res := &Result{Details: d}
	if len(nodes) == 0 {
		res.Valid = Unknown
		res.Explanation = []string{"the dumps hold no node"}
		return res
	}
	// A node that does not hold a key is taken as not one of its replicas: dumps carry no
	// preference lists. A replica holding the key with no value should dump it as null.
	holders := make(map[string][]string)
	most := 0
	for _, key := range dumps.Keys() {
		for _, n := range nodes {
			if _, ok := dumps[n][key]; ok {
				holders[key] = append(holders[key], n)
			}
		}
		most = max(most, len(holders[key]))
	}
	for _, key := range dumps.Keys() {
		d.Keys++
		hs := holders[key]
		if len(hs) < most {
			d.Partial++
		}
		first := normalize(dumps[hs[0]][key])
		same := true
		for _, n := range hs[1:] {
			if !normalize(dumps[n][key]).Equal(first) {
				same = false
				break
			}
		}
		if same {
			continue
		}
		d.Divergent++
		if len(d.DivergentKeys) < capN {
			dv := Divergence{Key: key, Values: make(map[string]history.Value, len(hs))}
			var parts []string
			for _, n := range hs {
				dv.Values[n] = dumps[n][key]
				parts = append(parts, fmt.Sprintf("%s=%s", n, dumps[n][key]))
			}
			d.DivergentKeys = append(d.DivergentKeys, dv)
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: replicas disagree: %v", keyName(key), parts))
		}
	}
	if d.Divergent > 0 {
		res.Valid = Invalid
		res.Explanation = append([]string{fmt.Sprintf("%d of %d keys diverge across %d replicas after healing", d.Divergent, d.Keys, len(nodes))}, res.Explanation...)
		return res
	}
	res.Valid = Valid
	res.Explanation = []string{fmt.Sprintf("the replicas of every key agree (%d keys on %d nodes)", d.Keys, len(nodes))}
	if d.Partial > 0 {
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d keys are held by fewer nodes than others (nodes without a key are not counted as its replicas)", d.Partial))
	}
	return res
}
