package reference

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/history"
)

// markMissingReplicas asks the store which nodes must hold each key present in d (the first
// node that answers POST /admin/replicas; every node computes the same placement) and records a
// null value for every dumped replica that lacks its key. Dumps alone cannot tell a replica
// that never got a key from a node that is not one of its replicas.
func markMissingReplicas(ctx context.Context, admins map[string]*client.Client, nodes []string, d history.Dumps) error {
	keys := d.Keys()
	if len(keys) == 0 {
		return nil
	}
	placement, err := replicaPlacement(ctx, admins, nodes, keys)
	if err != nil {
		return err
	}
	return fillMissing(d, keys, placement)
}

// replicaPlacement asks the nodes in turn until one returns the replicas of every key.
func replicaPlacement(ctx context.Context, admins map[string]*client.Client, nodes []string, keys []string) (map[string][]string, error) {
	var errs []error
	for _, id := range nodes {
		p, err := admins[id].Replicas(ctx, keys)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", id, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("replica placement: %w", errors.Join(errs...))
}

// fillMissing sets d[node][key] to null for every replica of key (per placement) that is dumped
// but does not hold key. A key placement does not cover is an error: its replicas are unknown.
func fillMissing(d history.Dumps, keys []string, placement map[string][]string) error {
	for _, k := range keys {
		reps, ok := placement[k]
		if !ok || len(reps) == 0 {
			return fmt.Errorf("replica placement: no replicas for key %q", k)
		}
		for _, id := range reps {
			kv, dumped := d[id]
			if !dumped {
				continue // not a dumped node (the cluster's own list is what was dumped)
			}
			if kv == nil {
				kv = map[string]history.Value{}
				d[id] = kv
			}
			if _, held := kv[k]; !held {
				kv[k] = history.Nil()
			}
		}
	}
	return nil
}
