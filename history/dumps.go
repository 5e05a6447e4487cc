package history

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Dumps are per-replica dumps taken after healing, for the convergence checker: node -> key ->
// the replica's state of that key. JSON form (dumps.json in a run folder):
//
//	{"n1":{"k1":7,"k2":[1,2]},"n2":{"k1":7,"k2":[1,2]}}
//
// A register with siblings is a List of them; a set is a sorted List; a counter is an Int. A
// node that leaves a key out is not one of its replicas; a replica that lacks a key it must hold
// is null (the harness asks the store for each key's placement), and counts as divergent.
type Dumps map[string]map[string]Value

// ReadDumps reads a dumps.json file.
func ReadDumps(path string) (Dumps, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("history: reading dumps: %w", err)
	}
	var d Dumps
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("history: decoding dumps %s: %w", path, err)
	}
	return d, nil
}

// WriteDumps writes d to path as JSON.
func WriteDumps(path string, d Dumps) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("history: encoding dumps: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("history: writing dumps: %w", err)
	}
	return nil
}

// Nodes returns the dumped nodes, sorted.
func (d Dumps) Nodes() []string {
	ns := make([]string, 0, len(d))
	for n := range d {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Keys returns every key any node holds, sorted.
func (d Dumps) Keys() []string {
	seen := make(map[string]bool)
	for _, kv := range d {
		for k := range kv {
			seen[k] = true
		}
	}
	ks := make([]string, 0, len(seen))
	for k := range seen {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
