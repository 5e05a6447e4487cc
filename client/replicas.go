package client

import (
	"context"
	"net/http"
)

// ReplicasRequest is the body of POST /admin/replicas.
type ReplicasRequest struct {
	Keys []string `json:"keys"`
}

// replicasBatchBytes bounds the keys sent in one request, well under the nodes' default body
// limit (1 MiB) even when every byte of a key is JSON-escaped.
const replicasBatchBytes = 128 << 10

// Replicas asks the node which nodes must hold each key (admin): the key's preference list in
// leaderless mode, every node in multi-leader mode. Long key lists are sent in batches.
func (c *Client) Replicas(ctx context.Context, keys []string) (map[string][]string, error) {
	out := make(map[string][]string, len(keys))
	for len(keys) > 0 {
		i, size := 0, 0
		for i < len(keys) && (i == 0 || size+6*len(keys[i])+3 <= replicasBatchBytes) {
			size += 6*len(keys[i]) + 3
			i++
		}
		var resp map[string][]string
		if err := c.do(ctx, "replicas", http.MethodPost, "/admin/replicas", ReplicasRequest{Keys: keys[:i]}, &resp, true); err != nil {
			return nil, err
		}
		for k, ns := range resp {
			out[k] = ns
		}
		keys = keys[i:]
	}
	return out, nil
}
