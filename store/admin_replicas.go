package store

import (
	"fmt"
	"net/http"

	"github.com/faultline/faultline/client"
)

// replicasOf is the key's replica set under leaderless replication: its preference list of N
// on this node's ring, in ring order.
func (l *Leaderless) replicasOf(key string) []string { return l.ring.PrefList(key, l.n) }

// replicasOf is the key's replica set under multi-leader replication: every node.
func (m *Multileader) replicasOf(string) []string { return m.cfg.NodeIDs() }

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
	p, ok := n.repl.(interface{ replicasOf(key string) []string })
	if !ok {
		writeError(w, http.StatusInternalServerError, "", fmt.Sprintf("mode %s has no replica placement", n.cfg.Mode))
		return
	}
	out := make(map[string][]string, len(req.Keys))
	for _, key := range req.Keys {
		if err := checkKey(key); err != nil {
			n.bad(w, http.StatusBadRequest, fmt.Sprintf("key %q: %v", key, err))
			return
		}
		out[key] = p.replicasOf(key)
	}
	writeJSON(w, http.StatusOK, out)
}
