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
	// Missing counts the divergent keys that some replica holds no value of (null) while another
	// holds one: the harness dumps a replica that lacks a key it must hold as null.
	Missing int `json:"missing,omitempty"`
	// Partial counts keys that fewer nodes hold than the most-held key: expected when each key
	// lives on N of the nodes. A node a dump leaves a key out of is not one of the key's replicas
	// (dumps written before replica placement was recorded left out missing replicas too).
	Partial int `json:"partial"`
	// DivergentKeys shows the first divergent keys (at most 20) with each node's value.
	DivergentKeys []Divergence `json:"divergent_keys,omitempty"`
}

// Divergence is one key the replicas disagree on (nodes that are not its replicas are left out).
type Divergence struct {
	Key    string                   `json:"key"`
	Values map[string]history.Value `json:"values"`
	// Missing are the replicas that hold no value of the key while another replica holds one.
	Missing []string `json:"missing,omitempty"`
}

// normalize sorts a list value (siblings and set elements have no order).
func normalize(v history.Value) history.Value {
	if v.Kind == history.KindList && !slices.IsSorted(v.List) {
		return history.List(slices.Sorted(slices.Values(v.List))...)
	}
	return v
}

// checkConvergence: after healing, every replica holds the same value of every key. The dumps
// say which nodes are a key's replicas: those that list it, with null for a replica that lacks
// it (the harness asks the store for each key's placement and fills these in).
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
	// A node whose dump leaves a key out is not one of its replicas; a replica without the key
	// is dumped as null and compared like any value.
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
		var missing []string
		for _, n := range hs {
			if dumps[n][key].IsNil() {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			d.Missing++
		}
		if len(d.DivergentKeys) < capN {
			dv := Divergence{Key: history.Clip(key), Values: make(map[string]history.Value, len(hs)), Missing: missing}
			var parts []string
			for _, n := range hs {
				dv.Values[n] = dumps[n][key]
				parts = append(parts, fmt.Sprintf("%s=%s", history.Clip(n), dumps[n][key].Short()))
			}
			d.DivergentKeys = append(d.DivergentKeys, dv)
			msg := fmt.Sprintf("key %s: replicas disagree: %v", keyName(key), parts)
			if len(missing) > 0 {
				msg += fmt.Sprintf("; replicas %v hold no value of it", missing)
			}
			res.Explanation = append(res.Explanation, msg)
		}
	}
	if d.Divergent > 0 {
		res.Valid = Invalid
		head := fmt.Sprintf("%d of %d keys diverge across %d replicas after healing", d.Divergent, d.Keys, len(nodes))
		if d.Missing > 0 {
			head += fmt.Sprintf(" (%d of them missing from a replica)", d.Missing)
		}
		res.Explanation = append([]string{head}, res.Explanation...)
		return res
	}
	res.Valid = Valid
	res.Explanation = []string{fmt.Sprintf("the replicas of every key agree (%d keys on %d nodes)", d.Keys, len(nodes))}
	if d.Partial > 0 {
		res.Explanation = append(res.Explanation, fmt.Sprintf("%d keys are held by fewer nodes than others (nodes whose dump leaves a key out are not its replicas)", d.Partial))
	}
	return res
}
