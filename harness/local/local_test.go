package local_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/internal/secrettest"
	"github.com/faultline/faultline/internal/testbin"
	"github.com/faultline/faultline/internal/wait"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "faultline-local-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testbin.Build(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run() // os.Exit skips deferred calls: remove the binary first
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*local.Config)
	}{
		{"no binary", func(c *local.Config) { c.Binary = "" }},
		{"missing binary", func(c *local.Config) { c.Binary = "/nonexistent/faultline" }},
		{"not loopback", func(c *local.Config) { c.Host = "10.0.0.1" }},
		{"zero admin wait", func(c *local.Config) { c.AdminWait = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := local.DefaultConfig()
			tc.edit(&cfg)
			if err := cfg.Validate(); err == nil {
				t.Errorf("got nil error, want one")
			}
		})
	}
}

func waitHealthy(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	wait.For(t, 30*time.Second, "node "+c.Addr()+" to answer /health", func() (bool, string) {
		err := c.Health(ctx)
		return err == nil, fmt.Sprint(err)
	})
}

// TestFaults drives every fault of the local runtime against a real 3-node cluster and checks
// the store sees it: a kill loses no acknowledged data, a pause freezes a node, a partition
// stops a write from reaching all replicas, Heal undoes it, Teardown leaves no process. The
// nodes share the spec's cluster secret and refuse internal requests without it.
func TestFaults(t *testing.T) {
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
	const token = "test-token"
	nodes, err := rt.Start(ctx, harness.ClusterSpec{
		RunID: "t", Nodes: []string{"n1", "n2", "n3"}, AdminToken: token, ClusterSecret: "local-test-cluster-secret", Dir: t.TempDir(),
		NodeArgs: []string{"--n", "3", "--w", "2", "--r", "2", "--anti-entropy", "0", "--request-timeout", "500ms"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Teardown(context.Background())
	cs := map[string]*client.Client{}
	for _, n := range nodes {
		cs[n.ID] = client.New(n.Addr, client.WithAdminToken(token), client.WithTimeout(3*time.Second))
		waitHealthy(t, ctx, cs[n.ID])
	}

	// Kill and restart: acknowledged data survives. The w=3 put needs every node to accept the
	// others' internal requests: the runtime handed them the spec's cluster secret, and a request
	// without it (or with a wrong one) is refused.
	if err := cs["n1"].Put(ctx, "a", "1", 3, ""); err != nil {
		t.Fatalf("put a: %v", err)
	}
	secrettest.RequireSecret(ctx, t, cs["n2"].Addr(), "local-test-cluster-secret")
	if err := rt.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := cs["n2"].Health(ctx); err == nil {
		t.Errorf("n2 answers after Kill")
	}
	if err := rt.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, ctx, cs["n2"])
	d, err := cs["n2"].Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Keys["a"].Values; len(got) != 1 || got[0] != "1" {
		t.Errorf("n2 after restart: got a=%v, want [1]", got)
	}

	// Pause: the node stops answering; Resume brings it back.
	if err := rt.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if err := cs["n3"].Health(pctx); err == nil {
		t.Errorf("paused n3 answered /health")
	}
	cancel()
	if err := rt.Resume(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, ctx, cs["n3"])

	// Partition n1 away from n2 and n3: a W=3 write through n1 cannot be acknowledged, a W=1
	// write can; after Heal a W=3 write succeeds again.
	if err := rt.Partition(ctx, map[string][]string{"n1": {"n2", "n3"}}); err != nil {
		t.Fatal(err)
	}
	err = cs["n1"].Put(ctx, "b", "2", 3, "")
	if err == nil {
		t.Errorf("W=3 put through a cut-off node: got %v, want an error", err)
	}
	if err := cs["n1"].Put(ctx, "c", "3", 1, ""); err != nil {
		t.Errorf("W=1 put through a cut-off node: %v", err)
	}
	if err := rt.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	// The store suspects peers that failed a call until its prober hears them again, so the
	// first writes after healing may still skip them: retry for a bounded time.
	wait.For(t, 30*time.Second, "a W=3 put through n1 to succeed after Heal", func() (bool, string) {
		err := cs["n1"].Put(ctx, "b", "4", 3, "")
		return err == nil, fmt.Sprint(err)
	})

	// A partition survives the restart of a node it names.
	if err := rt.Partition(ctx, map[string][]string{"n1": {"n2", "n3"}}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, ctx, cs["n1"])
	if err := cs["n1"].Put(ctx, "e", "5", 3, ""); err == nil {
		t.Errorf("W=3 put through n1 after its restart under a partition: got nil, want an error")
	}
	if err := rt.Heal(ctx); err != nil {
		t.Fatal(err)
	}

	var log []byte
	if err := rt.Logs(ctx, "n2", writerFunc(func(p []byte) { log = append(log, p...) })); err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 {
		t.Errorf("n2's log is empty")
	}

	if err := rt.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if left := rt.PIDs(); len(left) != 0 {
		t.Errorf("running after Teardown: %v", left)
	}
	for _, pid := range rt.AllPIDs() {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("pid %d still exists after Teardown", pid)
		}
	}
	if err := rt.Teardown(ctx); err != nil { // idempotent
		t.Errorf("second Teardown: %v", err)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
