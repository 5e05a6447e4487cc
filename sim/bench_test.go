package sim

import (
	"strconv"
	"testing"
	"time"
)

// relay passes every message it receives on to a random peer: tokens circulating forever, so
// the world is all message traffic. With persist, each hop first writes (and every 8th syncs).
type relay struct {
	env     *Env
	peers   []string
	persist bool
	n       int
}

func (r *relay) Receive(m Message) {
	to := r.peers[r.env.Rand().IntN(len(r.peers))]
	if !r.persist {
		r.env.Send(to, "token", m.Body)
		return
	}
	r.n++
	var b Batch
	b.Put("data", strconv.Itoa(r.n%1024), []byte("value"))
	r.env.Persist(&b, r.n%8 == 0, func(error) { r.env.Send(to, "token", m.Body) })
}

// relayWorld is 5 nodes with 100 tokens each, on the default network (FIFO, LAN latency).
func relayWorld(b *testing.B, persist bool) *World {
	w, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, id := range nodes {
		_, err := w.AddNode(id, func(env *Env) Program {
			r := &relay{env: env, peers: nodes, persist: persist}
			for i := 0; i < 100; i++ {
				env.Send(nodes[env.Rand().IntN(len(nodes))], "token", i)
			}
			return r
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// BenchmarkEvents measures the simulator's event rate on message-heavy worlds; one op is one
// event (a message arrival, a disk completion), each traced and hashed.
func BenchmarkEvents(b *testing.B) {
	for _, persist := range []bool{false, true} {
		name := "messages"
		if persist {
			name = "messages+disk"
		}
		b.Run(name, func(b *testing.B) {
			w := relayWorld(b, persist)
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			if n := w.sched.RunSteps(b.N); n != b.N {
				b.Fatalf("ran %d events, want %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			if c := cpuTime() - cpu; c > 0 {
				b.ReportMetric(float64(c)/float64(b.N), "cpu-ns/event")
			}
			b.ReportMetric(float64(w.NetStats().Sent)/float64(b.N), "msgs/event")
		})
	}
}

// BenchmarkScenario measures whole seeds of the faulty five-node scenario (2 virtual seconds,
// about 5,000 events and 9,000 trace lines): seeds per second on one core.
func BenchmarkScenario(b *testing.B) {
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		faultyScenario(b, uint64(i), false)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
	if c := cpuTime() - cpu; c > 0 {
		b.ReportMetric(float64(b.N)/c.Seconds(), "seeds/cpu-s")
	}
}
