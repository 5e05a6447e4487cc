package simrt

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

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

// BenchmarkCompareRun is one run of the 3,600-run compare sweep (3 nodes, abd N=3
// W=R=2, every fault kind, 10 s), checked and saved as compare saves it: one op is one run.
// It reports CPU milliseconds per run (user+system of the process) and the share of it spent
// outside the simulation (checking, writing the run folder and report.html).
func BenchmarkCompareRun(b *testing.B) {
	cfg := harness.DefaultConfig()
	cfg.Nodes, cfg.Store.N, cfg.Store.W, cfg.Store.R = 3, 3, 2, 2
	cfg.Store.Consistency = "abd"
	cfg.Nemesis = []string{"partition", "kill", "pause", "clock", "delay", "loss"}
	cfg.Time = 10 * time.Second
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	b.ReportAllocs()
	var sim time.Duration
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		cfg.Seed = int64(i + 1000)
		cfg.ResultsRoot = b.TempDir()
		out, err := Run(context.Background(), cfg, Options{Store: Reference{}, Log: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		sim += out.Wall
	}
	if c := cpuTime() - cpu; c > 0 {
		b.ReportMetric(float64(c.Milliseconds())/float64(b.N), "cpu-ms/run")
	}
	b.ReportMetric(float64(sim.Milliseconds())/float64(b.N), "sim-wall-ms/run")
}
