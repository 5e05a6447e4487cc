package docker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/secrettest"
	"github.com/faultline/faultline/internal/wait"
)

// The Docker runtime hands the spec's cluster secret to its containers: the nodes replicate
// among themselves (a w=2 write), and answer 401 to an internal request without the secret.
func TestDockerNodesShareTheClusterSecret(t *testing.T) {
	rt := newRuntime(t, nil)
	spec, nodes := startCluster(t, rt, "n1", "n2")
	addr := map[string]string{}
	for _, n := range nodes {
		addr[n.ID] = n.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	post := func(method, url, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// n1 may have suspected n2 down while n2's container was still starting (a failed call
	// marks a peer suspect until the next probe), and then skips it: wait for the cluster to
	// replicate. Without the shared secret this never succeeds (n2 answers 401).
	wait.For(t, 30*time.Second, "a w=2 write through n1 acknowledged by both nodes", func() (bool, string) {
		st, body := post(http.MethodPut, "http://"+addr["n1"]+"/kv/k?w=2", `{"value":"v"}`, nil)
		return st == http.StatusOK, fmt.Sprintf("%d %s", st, body)
	})
	secrettest.RequireSecret(ctx, t, addr["n2"], spec.ClusterSecret)
}
