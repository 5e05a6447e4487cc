package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/secrettest"
)

// `faultline node` refuses to start a node of a multi-node cluster without a cluster secret,
// unless --insecure-internal says so; the secret comes from the flag or FAULTLINE_CLUSTER_SECRET.
func TestNodeClusterSecret(t *testing.T) {
	t.Setenv("FAULTLINE_ADMIN_TOKEN", "")
	t.Setenv("FAULTLINE_CLUSTER_SECRET", "")
	const secret = "node-test-secret-0123"
	base := []string{"--id", "n1", "--peers", "n1=127.0.0.1:7001,n2=127.0.0.1:7002", "--data", t.TempDir()}
	t.Run("none: refused, exit 3", func(t *testing.T) {
		var out, errOut bytes.Buffer
		env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
		code := runMain(env, append([]string{"faultline", "node"}, base...))
		if code != exitCannotRun || !strings.Contains(errOut.String(), "ClusterSecret is empty") ||
			!strings.Contains(errOut.String(), "--insecure-internal") {
			t.Errorf("exit %d, stderr %q: want 3 and a message naming --cluster-secret and --insecure-internal", code, errOut.String())
		}
	})
	for _, tc := range []struct {
		name   string
		env    string
		args   []string
		secret string
		insec  bool
	}{
		{"flag", "", []string{"--cluster-secret", secret}, secret, false},
		{"environment", secret, nil, secret, false},
		{"insecure", "", []string{"--insecure-internal"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FAULTLINE_CLUSTER_SECRET", tc.env)
			cfg, _, err := parseNodeFlags(t, append(append([]string{}, base...), tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ClusterSecret != tc.secret || cfg.InsecureInternal != tc.insec {
				t.Errorf("got secret set %v, insecure %v; want %v, %v", cfg.ClusterSecret == tc.secret, cfg.InsecureInternal, true, tc.insec)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// Node processes started with FAULTLINE_CLUSTER_SECRET replicate among themselves (a w=3
// write) and refuse internal requests from anyone without it.
func TestNodeProcessesRequireTheSecret(t *testing.T) {
	if binary == "" {
		t.Skip("starts node processes from the built binary")
	}
	t.Setenv("FAULTLINE_ADMIN_TOKEN", "")
	nodes := startKVCluster(t, "kv-test-token")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := client.New(nodes["n1"], client.WithTimeout(5*time.Second)).Put(ctx, "k", "v", 3, ""); err != nil {
		t.Fatalf("w=3 write among nodes sharing the secret: %v", err)
	}
	secrettest.RequireSecret(ctx, t, nodes["n2"], kvClusterSecret)
}
