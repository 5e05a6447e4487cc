package store

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// BenchmarkStorageMerge: durable replica writes (storage.merge, as a replica applies a write)
// from 32 concurrent writers over 10,000 keys, per engine and fsync policy, through the group
// commit. The disk path alone, without HTTP: see bench/storebench for the whole node.
//
//	go test -run '^$' -bench StorageMerge -benchtime 3s ./store/
func BenchmarkStorageMerge(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		for _, engine := range Engines() {
			b.Run(engine+"/fsync="+fsync, func(b *testing.B) {
				s, err := openStorage(b.TempDir(), engine, fsync, LWW, "bench", DefaultConfig().CommitLinger, zerolog.Nop())
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
						if _, err := s.merge(fmt.Sprint("k", t%10000), rec); err != nil {
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
