package harness_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/wait"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/storeclient"
)

// BenchmarkRecord is the cost of recording one op (stamp, keep, encode, buffered write) with 32
// goroutines recording at once, as the clients do.
func BenchmarkRecord(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := harness.NewRecorder(f, time.Now())
	op := history.Op{Process: 3, Type: history.OK, F: history.FWrite, Key: "k7", Value: history.Int(123456), Node: "n2"}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec.Record(op)
		}
	})
	if err := rec.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHarnessThroughput drives the register workload as fast as it goes (no rate limit,
// 32 clients) against a local 3-node cluster (lww, N=3, W=R=2, fsync never so the disk does not
// dominate), alternating rounds with history recording on (kept in memory and streamed to a
// file) and off (ops stamped and dropped). It reports the sustained ops/s of each and the
// recording overhead. Run with -benchtime=1x; see BENCHMARKS.md.
func BenchmarkHarnessThroughput(b *testing.B) {
	if binary == "" {
		b.Skip("needs the faultline binary (not built in -short mode)")
	}
	const (
		rounds = 3
		round  = 5 * time.Second
	)
	ctx := context.Background()
	rt := newLocalB(b)
	nodes, err := rt.Start(ctx, harness.ClusterSpec{
		RunID: "bench", Nodes: []string{"n1", "n2", "n3"}, AdminToken: "t", ClusterSecret: "bench-cluster-secret", Dir: b.TempDir(),
		NodeArgs: []string{"--n", "3", "--w", "2", "--r", "2", "--fsync", "never"},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Teardown(context.Background())
	hc := client.NewHTTPClient()
	for _, n := range nodes {
		c := client.New(n.Addr, client.WithHTTPClient(hc))
		wait.For(b, 30*time.Second, n.ID+" to answer /health", func() (bool, string) {
			err := c.Health(ctx)
			return err == nil, fmt.Sprint(err)
		})
	}
	wcfg := workloads.DefaultConfig()
	wcfg.Workload = "register"
	wcfg.Keys = 100
	wcfg.Concurrency = 32
	wcfg.Rate = 0
	wcfg.OpTimeout = 2 * time.Second
	newClient := func(p int) (workloads.Client, string) {
		n := nodes[p%len(nodes)]
		return storeclient.New(client.New(n.Addr, client.WithHTTPClient(hc)), 2, 2), n.ID
	}
	one := func(record bool) float64 {
		var rec *harness.Recorder
		if record {
			f, err := os.Create(filepath.Join(b.TempDir(), "history.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rec = harness.NewRecorder(f, time.Now())
			fctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); rec.FlushLoop(fctx) }()
			defer func() { stop(); wg.Wait() }()
		} else {
			rec = harness.NewDiscardRecorder(time.Now())
		}
		var ctrs workloads.Counters
		rctx, cancel := context.WithTimeout(ctx, round)
		defer cancel()
		start := time.Now()
		if err := workloads.Run(rctx, wcfg, newClient, rec, &ctrs, zerolog.Nop()); err != nil && rctx.Err() == nil {
			b.Fatal(err)
		}
		return float64(ctrs.OK.Load()+ctrs.Fail.Load()+ctrs.Info.Load()) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	var on, off float64
	for i := 0; i < rounds; i++ {
		off += one(false)
		on += one(true)
	}
	on, off = on/rounds, off/rounds
	b.ReportMetric(on, "ops/s-recording")
	b.ReportMetric(off, "ops/s-no-recording")
	b.ReportMetric(100*(off-on)/off, "%overhead")
}

func newLocalB(b *testing.B) harness.Runtime {
	b.Helper()
	rt := newLocalWith(b, zerolog.Nop())
	return rt
}
