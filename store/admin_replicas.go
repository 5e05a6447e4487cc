package store

import (
	"fmt"
	"net/http"

	"github.com/faultline/faultline/client"
)

// replicas answers POST /admin/replicas {"keys":[...]} with {"k1":["n1","n3","n4"],...}: the
// nodes that must hold each key once the cluster has converged (the placement is computed, no
// replica is asked). The harness uses it to tell a replica that lacks a key from a node that is
// not one of the key's replicas.
func (n *Node) replicas(w http.ResponseWriter, r *http.Request) {
	var req client.ReplicasRequest
	if status, err := n.decodeBody(w, r, &req); err != nil {
		n.bad(w, status, err.Error())
		return
	}
	if req.Keys == nil {
		n.bad(w, http.StatusBadRequest, "keys is missing")
		return
	}
	replicasOf := func(string) []string { return n.cfg.NodeIDs() } // multi-leader: every node
	if n.cfg.Mode != "multileader" {
		ring, N := NewRing(n.cfg.NodeIDs(), n.cfg.VNodes), n.cfg.EffectiveN()
		replicasOf = func(key string) []string { return ring.PrefList(key, N) }
	}
	out := make(map[string][]string, len(req.Keys))
	for _, key := range req.Keys {
		if err := checkKey(key); err != nil {
			n.bad(w, http.StatusBadRequest, fmt.Sprintf("key %q: %v", key, err))
			return
		}
		out[key] = replicasOf(key)
	}
	writeJSON(w, http.StatusOK, out)
}
