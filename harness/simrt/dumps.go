package simrt

import (
	"slices"
	"strconv"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/store"
)

// dumpValue is a replica's record as a history value, as the reference target turns a node's
// dump into one: a counter an Int, a set a sorted List, a register Nil (absent), an Int, or a
// sorted List of siblings.
func dumpValue(rec store.Record) history.Value {
	switch rec.Kind {
	case store.KindCounter:
		n, _ := rec.CounterValue()
		return history.Int(n)
	case store.KindSet:
		return history.List(ints(rec.Elems)...)
	}
	vals := rec.Values()
	switch len(vals) {
	case 0:
		return history.Nil()
	case 1:
		return history.Int(ints(vals)[0])
	}
	return history.List(ints(vals)...)
}

func ints(ss []string) []int64 {
	out := make([]int64, 0, len(ss))
	for _, s := range ss {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			n = int64(fnv(s) >> 1) // not a workload's value: hashed, so it still compares
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func fnv(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// markMissing records a null for every replica of a key (the store's placement: the ring's
// preference list in leaderless mode, every node in multi-leader mode) that lacks it, so it
// counts as divergent rather than as not a replica.
func markMissing(cfg harness.Config, d history.Dumps) {
	keys := d.Keys()
	if len(keys) == 0 {
		return
	}
	sc := StoreConfig(cfg, cfg.NodeIDs()[0])
	var ring *store.Ring
	if sc.Mode != "multileader" {
		ring = store.NewRing(sc.NodeIDs(), sc.VNodes)
	}
	for _, k := range keys {
		reps := sc.NodeIDs()
		if ring != nil {
			reps = ring.PrefList(k, sc.EffectiveN())
		}
		for _, id := range reps {
			kv := d[id]
			if kv == nil {
				continue
			}
			if _, ok := kv[k]; !ok {
				kv[k] = history.Nil()
			}
		}
	}
}
