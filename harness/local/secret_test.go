package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/internal/secrettest"
)

// The local runtime hands the spec's cluster secret to its nodes: they replicate among
// themselves, and answer 401 to an internal request without the secret.
func TestLocalNodesShareTheClusterSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node processes")
	}
	ctx := context.Background()
	cfg := local.DefaultConfig()
	cfg.Binary = binary
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t))
	rt, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "local-secret-test-0123"
	nodes, err := rt.Start(ctx, harness.ClusterSpec{
		RunID: "secret", Nodes: []string{"n1", "n2"}, AdminToken: "t", ClusterSecret: secret, Dir: t.TempDir(),
		NodeArgs: []string{"--anti-entropy", "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Teardown(context.Background())
	cs := map[string]*client.Client{}
	for _, n := range nodes {
		cs[n.ID] = client.New(n.Addr, client.WithTimeout(3*time.Second))
		waitHealthy(t, ctx, cs[n.ID])
	}
	if err := cs["n1"].Put(ctx, "k", "v", 2, ""); err != nil {
		t.Fatalf("w=2 write: %v", err)
	}
	secrettest.RequireSecret(ctx, t, cs["n2"].Addr(), secret)
}
