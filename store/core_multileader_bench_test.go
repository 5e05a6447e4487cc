package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/sim"
	"github.com/rs/zerolog"
)

// BenchmarkSimMLDefaultRun is BenchmarkSimDefaultRun in multi-leader mode (lww, all-to-all):
// 5 leaders, 10 clients at 200 ops/s in all, a partition of a random pair every 5 s (healed
// after 2.5 s), 30 s of virtual time. It reports virtual seconds simulated per wall second.
func BenchmarkSimMLDefaultRun(b *testing.B) {
	const virtual = 30 * time.Second
	ops := 0
	for i := 0; i < b.N; i++ {
		cfg := mlTestConfig(5, ConflictLWW, TopologyAll)
		scfg := sim.DefaultConfig()
		scfg.Seed = uint64(i + 1)
		w, err := sim.New(scfg)
		if err != nil {
			b.Fatal(err)
		}
		boot := SimBoot(cfg, zerolog.Nop(), nil)
		ids := cfg.NodeIDs()
		for _, id := range ids {
			if _, err := w.AddNode(id, boot); err != nil {
				b.Fatal(err)
			}
		}
		var clients []*benchClient
		for j := 0; j < 10; j++ {
			cl := &benchClient{nodes: ids, gap: 50 * time.Millisecond, rng: w.Rand("client" + strconv.Itoa(j))}
			clients = append(clients, cl)
			if _, err := w.AddNode("c"+strconv.Itoa(j), func(env *sim.Env) sim.Program { cl.env = env; return cl }); err != nil {
				b.Fatal(err)
			}
			w.At(time.Duration(j)*5*time.Millisecond, "client start", cl.op)
		}
		rng := w.Rand("nemesis")
		for t := 5 * time.Second; t < virtual; t += 5 * time.Second {
			w.At(t, "partition", func() {
				x, y := ids[rng.IntN(5)], ids[rng.IntN(5)]
				g := map[string][]string{}
				for _, o := range ids {
					if o != x && o != y {
						g[x] = append(g[x], o)
						g[y] = append(g[y], o)
						g[o] = append(g[o], x, y)
					}
				}
				_ = w.Partition(g)
			})
			w.At(t+2500*time.Millisecond, "heal", w.Heal)
		}
		w.Run(virtual)
		for _, cl := range clients {
			ops += cl.done
		}
	}
	b.ReportMetric(float64(ops)/float64(b.N), "ops/run")
	b.ReportMetric(virtual.Seconds()*float64(b.N)/b.Elapsed().Seconds(), "virtual-s/wall-s")
}
