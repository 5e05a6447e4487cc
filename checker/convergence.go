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
	// DivergentKeys shows the first divergent keys (at most 20) with each node's value.
	DivergentKeys []Divergence `json:"divergent_keys,omitempty"`
}

// Divergence is one key the replicas disagree on; a node without the key holds null.
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
	for _, key := range dumps.Keys() {
		d.Keys++
		first := normalize(dumps[nodes[0]][key])
		same := true
		for _, n := range nodes[1:] {
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
			dv := Divergence{Key: key, Values: make(map[string]history.Value, len(nodes))}
			for _, n := range nodes {
				dv.Values[n] = dumps[n][key]
			}
			d.DivergentKeys = append(d.DivergentKeys, dv)
			var parts []string
			for _, n := range nodes {
				parts = append(parts, fmt.Sprintf("%s=%s", n, dumps[n][key]))
			}
			res.Explanation = append(res.Explanation, fmt.Sprintf("key %s: replicas disagree: %v", keyName(key), parts))
		}
	}
	if d.Divergent > 0 {
		res.Valid = Invalid
		res.Explanation = append([]string{fmt.Sprintf("%d of %d keys diverge across %d replicas after healing", d.Divergent, d.Keys, len(nodes))}, res.Explanation...)
		return res
	}
	res.Valid = Valid
	res.Explanation = []string{fmt.Sprintf("all %d replicas agree on all %d keys", len(nodes), d.Keys)}
	return res
}
