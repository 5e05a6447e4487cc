package store

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// BenchmarkStoragePersist: durable record writes (Env.Persist, as a replica applies a write)
// from 32 concurrent writers over 10,000 keys, per engine and fsync policy, through the shell's
// pipelined group commit, each writer waiting for its batch's done. The disk path alone, without
// HTTP or a core: see bench/storebench for the whole node.
//
//	go test -run '^$' -bench StoragePersist -benchtime 3s ./store/
func BenchmarkStoragePersist(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		for _, engine := range Engines() {
			b.Run(engine+"/fsync="+fsync, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.DataDir, cfg.Engine, cfg.Fsync = b.TempDir(), engine, fsync
				var mu sync.Mutex // Persist runs on one loop in a node: here, one at a time
				s, err := openShellStorage(cfg, func(f func()) { f() }, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				defer s.close()
				var ts atomic.Int64
				value := fmt.Sprintf("%0100d", 7)
				b.SetParallelism(16) // 32 writers on 2 cores
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						t := ts.Add(1)
						rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: value, TS: t, Node: "n1"}}}
						enc, _ := json.Marshal(rec)
						done := make(chan error, 1)
						mu.Lock()
						s.Persist(&Batch{Ops: []BatchOp{{Bucket: string(bucketData), Key: []byte(fmt.Sprint("k", t%10000)), Value: enc}}},
							func(err error) { done <- err })
						mu.Unlock()
						if err := <-done; err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				if c := s.commits.Load(); c > 0 {
					b.ReportMetric(float64(s.committed.Load())/float64(c), "writes/commit")
				}
			})
		}
	}
}
