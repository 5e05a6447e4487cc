package store

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// BenchmarkMultileaderWrite measures local write throughput of a 3-node all-to-all multi-leader
// cluster (16 clients spread over the leaders, register writes to 1000 keys) and the p99
// replication lag (queue to peer ack, over the last 4096 writes per peer): flat out, and at a
// steady 2000 writes/s. The metrics: writes/s, lag-p99-ms.
//
//	go test -run '^$' -bench BenchmarkMultileaderWrite -benchtime 20000x ./store/
func BenchmarkMultileaderWrite(b *testing.B) {
	cases := []struct {
		fsync string
		rate  float64 // writes/s; 0 = flat out
	}{{"always", 0}, {"never", 0}, {"always", 2000}}
	for _, tc := range cases {
		fsync := tc.fsync
		b.Run(fmt.Sprintf("fsync=%s/rate=%g", fsync, tc.rate), func(b *testing.B) {
			ids := []string{"n1", "n2", "n3"}
			peers := map[string]string{}
			lns := map[string]net.Listener{}
			for _, id := range ids {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				peers[id], lns[id] = ln.Addr().String(), ln
			}
			dir := b.TempDir()
			nodes := map[string]*Node{}
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(context.Background())
			defer func() { cancel(); wg.Wait() }()
			for _, id := range ids {
				cfg := DefaultConfig()
				cfg.ID, cfg.Peers, cfg.DataDir = id, peers, filepath.Join(dir, id)
				cfg.Mode, cfg.Conflict = "multileader", ConflictCRDT
				cfg.Fsync = fsync
				cfg.ClusterSecret = testSecret
				n, err := New(cfg, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				nodes[id] = n
				wg.Add(1)
				go func() { defer wg.Done(); _ = n.Serve(ctx, lns[id]) }()
			}
			hc := client.NewHTTPClient()
			const clients = 16
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var cw sync.WaitGroup
			for g := 0; g < clients; g++ {
				cw.Add(1)
				go func() {
					defer cw.Done()
					c := client.New(peers[ids[g%len(ids)]], client.WithHTTPClient(hc), client.WithTimeout(10*time.Second))
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if tc.rate > 0 {
							time.Sleep(time.Until(start.Add(time.Duration(float64(i) / tc.rate * float64(time.Second)))))
						}
						if err := c.Put(context.Background(), fmt.Sprintf("k%d", i%1000), fmt.Sprint(i), 0, ""); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			cw.Wait()
			el := time.Since(start)
			b.StopTimer()
			var worst float64
			for _, n := range nodes {
				worst = max(worst, coreStats(b, n)["ml_lag_p99_ms"].(float64))
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "writes/s")
			b.ReportMetric(worst, "lag-p99-ms")
		})
	}
}
