package docker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/internal/wait"
)

// benchRuntime is newRuntime for benchmarks.
func benchRuntime(b *testing.B) *docker.Runtime {
	b.Helper()
	dockertest.Require(b)
	if binaryErr != nil {
		b.Fatalf("building the static faultline: %v", binaryErr)
	}
	cfg := docker.DefaultConfig()
	cfg.Binary = binary
	cfg.Log = zerolog.Nop()
	rt, err := docker.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkClusterStart5 measures a 5-node cluster from Start to every node answering /health,
// with the image already built (teardown is not timed).
func BenchmarkClusterStart5(b *testing.B) {
	rt := benchRuntime(b)
	ctx := context.Background()
	if _, _, err := rt.EnsureImage(ctx, false); err != nil {
		b.Fatal(err)
	}
	var total, down time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		spec := harness.ClusterSpec{
			RunID: fmt.Sprintf("bench-start-%d-%d", time.Now().UnixNano(), i),
			Nodes: []string{"n1", "n2", "n3", "n4", "n5"}, AdminToken: "secret", ClusterSecret: "docker-bench-cluster-secret",
		}
		start := time.Now()
		nodes, err := rt.Start(ctx, spec)
		if err == nil {
			for _, n := range nodes {
				// Until, not For: a failure must still tear the cluster down below.
				err = wait.Until(b, time.Minute, func() (bool, string) {
					herr := health(ctx, n.Addr)
					return herr == nil, fmt.Sprint(herr)
				})
				if err != nil {
					err = fmt.Errorf("node %s at %s to answer /health: %w", n.ID, n.Addr, err)
					break
				}
			}
		}
		total += time.Since(start)
		b.StopTimer()
		tstart := time.Now()
		if terr := rt.Teardown(ctx); terr != nil {
			b.Fatal(terr)
		}
		down += time.Since(tstart)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/healthy")
	b.ReportMetric(down.Seconds()/float64(b.N), "s/teardown")
}

// BenchmarkPartition5 measures one Partition call on a 5-node cluster (a grudge that changes
// every node's rules: alternately a majority/minority split and no grudge at all).
func BenchmarkPartition5(b *testing.B) {
	rt := benchRuntime(b)
	ctx := context.Background()
	spec := harness.ClusterSpec{
		RunID: fmt.Sprintf("bench-partition-%d", time.Now().UnixNano()),
		Nodes: []string{"n1", "n2", "n3", "n4", "n5"}, AdminToken: "secret", ClusterSecret: "docker-bench-cluster-secret",
	}
	b.Cleanup(func() { rt.Teardown(context.Background()) })
	if _, err := rt.Start(ctx, spec); err != nil {
		b.Fatal(err)
	}
	split := map[string][]string{
		"n1": {"n4", "n5"}, "n2": {"n4", "n5"}, "n3": {"n4", "n5"},
		"n4": {"n1", "n2", "n3"}, "n5": {"n1", "n2", "n3"},
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g := split
		if i%2 == 1 {
			g = nil
		}
		if err := rt.Partition(ctx, g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImageBuild measures a forced build of the image (the binary already exists).
func BenchmarkImageBuild(b *testing.B) {
	rt := benchRuntime(b)
	for i := 0; i < b.N; i++ {
		if _, built, err := rt.EnsureImage(context.Background(), true); err != nil || !built {
			b.Fatalf("EnsureImage(force): built %v, err %v", built, err)
		}
	}
}

// BenchmarkImageSkip measures EnsureImage when the binary's image exists.
func BenchmarkImageSkip(b *testing.B) {
	rt := benchRuntime(b)
	if _, _, err := rt.EnsureImage(context.Background(), false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, built, err := rt.EnsureImage(context.Background(), false); err != nil || built {
			b.Fatalf("EnsureImage: built %v, err %v", built, err)
		}
	}
}
