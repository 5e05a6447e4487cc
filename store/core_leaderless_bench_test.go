package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/sim"
	"github.com/rs/zerolog"
)

// benchClient issues one op at a time (Jepsen process semantics), one every gap, at random
// store nodes, reads and writes of a few keys.
type benchClient struct {
	env   *sim.Env
	nodes []string
	gap   time.Duration
	next  uint64
	rng   *sim.Rand
	done  int
}

func (c *benchClient) op() {
	c.next++
	node := c.nodes[c.rng.IntN(len(c.nodes))]
	key := "k" + strconv.Itoa(c.rng.IntN(10))
	if c.rng.IntN(2) == 0 {
		c.env.Send(node, SimKindWrite, SimWrite{ID: c.next, Key: key, Op: WriteOp{Kind: KindRegister, Value: strconv.FormatUint(c.next, 10)}})
	} else {
		c.env.Send(node, SimKindRead, SimRead{ID: c.next, Key: key, Kind: KindRegister})
	}
	id := c.next
	c.env.After(2*time.Second, "client-timeout", func() {
		if c.next == id { // no reply: the process is replaced, a new op goes out
			c.op()
		}
	})
}

func (c *benchClient) Receive(m sim.Message) {
	if r, ok := m.Body.(SimReply); ok && r.ID == c.next {
		c.done++
		c.next++ // the op is over; a timeout for it finds next moved on
		c.env.After(c.gap, "think", c.op)
	}
}

// BenchmarkSimDefaultRun simulates the default `faultline run`: 5 nodes, 10 clients at 200
// ops/s in all, a partition of a random minority every 5 s, 30 s of virtual time. It reports
// virtual seconds simulated per wall second (the target: >= 100).
func BenchmarkSimDefaultRun(b *testing.B) {
	cfg := llTestConfig(5)
	cfg.ReadRepair = true
	cfg.AntiEntropy = time.Second
	benchSimDefaultRun(b, cfg)
}

// benchSimDefaultRun runs the default run's shape on cfg's cluster for b.N seeds: 10 clients
// (benchClient) for 30 s of virtual time, a partition of two random nodes every 5 s, healed
// 2.5 s later.
func benchSimDefaultRun(b *testing.B, cfg Config) {
	const virtual = 30 * time.Second
	ops := 0
	for i := 0; i < b.N; i++ {
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
