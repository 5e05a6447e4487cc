package simrt

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/harness"
)

// BenchmarkDefaultRun simulates the default `faultline run` configuration (5 nodes, leaderless
// lww N=3 W=R=2, 10 clients at 200 ops/s, partitions every 5 s, 30 s) on the reference store's
// core, without checking or saving: one op is one whole run. It reports virtual seconds per wall
// second (target: 100, a 30 s run in at most 0.3 s) and per CPU second (user+system of the whole
// process: the collector's work on the other core counts).
func BenchmarkDefaultRun(b *testing.B) {
	cfg := harness.DefaultConfig()
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as cmd/faultline runs simulations
	b.ReportAllocs()
	cpu := cpuTime()
	var virtual float64
	for i := 0; i < b.N; i++ {
		cfg.Seed = int64(i + 1)
		out, err := Run(context.Background(), cfg, Options{Store: Reference{}, NoSave: true, Log: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		virtual += out.Virtual.Seconds()
	}
	b.ReportMetric(virtual/b.Elapsed().Seconds(), "virtual-s/wall-s")
	// CPU time (user+system, GC included) is what other load on a shared machine disturbs least.
	if c := cpuTime() - cpu; c > 0 {
		b.ReportMetric(virtual/c.Seconds(), "virtual-s/cpu-s")
	}
}
