package store

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/rs/zerolog"
)

// TestMLCoreReadsMultileaderDataDir: a data dir a multi-leader core wrote (records, counter
// contributions, sequence numbers, outboxes) is read the same by the next core on it, as after a
// restart: it continues the sequence numbers and outbox places. (The goroutine Multileader that
// first wrote this layout is gone; the layout is the same, checked by the layout string.)
func TestMLCoreReadsMultileaderDataDir(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			cfg := mlTestConfig(3, ConflictCRDT, TopologyAll)
			cfg.ID = "n1"
			open := func() (Engine, *mlCore) {
				eng, err := openEngine(dir, engine, "always", zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				core, err := newMLCore(cfg, &engineEnv{eng: eng, rng: rand.New(rand.NewPCG(1, 2))}, newStats(), zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				core.Start()
				return eng, core.(*mlCore)
			}
			eng, first := open()
			first.Write("a", regOp("v1"), Quorums{W: 1}, func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
			first.Write("cnt", incr(5), Quorums{W: 1}, func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}

			eng, c := open()
			for _, p := range []string{"n2", "n3"} {
				if q, next := c.peers[p].queued, c.peers[p].next; q != 2 || next != 3 {
					t.Errorf("outbox to %s: %d queued, next place %d; want 2 and 3", p, q, next)
				}
			}
			c.Read("a", KindRegister, Quorums{}, func(r Record, err error) {
				if err != nil || len(r.Sibs) != 1 || r.Sibs[0].Value != "v1" {
					t.Errorf("read a: %+v (%v), want v1", r, err)
				}
			})
			c.Write("cnt", incr(1), Quorums{W: 1}, func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
			c.Read("cnt", KindCounter, Quorums{}, func(r Record, err error) {
				if v, verr := r.CounterValue(); err != nil || verr != nil || v != 6 {
					t.Errorf("read cnt: %d (%v %v), want 6 (5 written before, +1)", v, err, verr)
				}
			})
			q, err := c.peekOutbox("n2", 10)
			if err != nil || len(q) != 3 {
				t.Fatalf("%d entries queued for n2 (%v), want 3", len(q), err)
			}
			if e := q[2].out.E; q[2].place != 3 || e.Origin != "n1" || e.Seq != 3 || e.Key != "cnt" {
				t.Errorf("the second core's entry: place %d, %+v; want place 3, n1's seq 3 on cnt", q[2].place, e)
			}

			// Another layout is refused, naming the problem.
			other := cfg
			other.Topology = TopologyRing
			if _, err := newMLCore(other, &engineEnv{eng: eng}, newStats(), zerolog.Nop()); !errors.Is(err, errLayout) {
				t.Errorf("a data dir of another topology: got %v, want the layout error", err)
			}
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
