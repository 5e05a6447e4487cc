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
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		spec := harness.ClusterSpec{
			RunID: fmt.Sprintf("bench-start-%d-%d", time.Now().UnixNano(), i),
			Nodes: []string{"n1", "n2", "n3", "n4", "n5"}, AdminToken: "secret",
		}
		start := time.Now()
		nodes, err := rt.Start(ctx, spec)
		if err == nil {
			for _, n := range nodes {
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				err = waitHealthy(wctx, n.Addr)
				cancel()
				if err != nil {
					break
				}
			}
		}
		total += time.Since(start)
		b.StopTimer()
		if terr := rt.Teardown(ctx); terr != nil {
			b.Fatal(terr)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/healthy")
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
