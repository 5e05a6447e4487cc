package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/rs/zerolog"
)

// TestMLCoreReadsMultileaderDataDir: a data dir the old Multileader wrote (records, counter
// contributions, sequence numbers, outboxes) is read the same through the multi-leader core,
// which continues the sequence numbers and outbox places, and what the core queues the old
// code reads back.
func TestMLCoreReadsMultileaderDataDir(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			cfg := mlTestConfig(3, ConflictCRDT, TopologyAll)
			cfg.ID = "n1"
			s, err := openStorage(dir, engine, "always", cfg.RegisterConsistency(), cfg.DataLayout(), 0, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			old, err := newMultileader(cfg, s, nil, NewClock(nil), newStats(), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := old.Write(ctx, "a", regOp("v1"), 1); err != nil {
				t.Fatal(err)
			}
			if err := old.Write(ctx, "cnt", incr(5), 1); err != nil {
				t.Fatal(err)
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}

			eng, err := openEngine(dir, engine, "always", zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			env := &engineEnv{eng: eng, rng: rand.New(rand.NewPCG(1, 2))}
			core, err := newMLCore(cfg, env, newStats(), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			c := core.(*mlCore)
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
			c.Write("cnt", incr(1), Quorums{}, func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
			c.Read("cnt", KindCounter, Quorums{}, func(r Record, err error) {
				if v, verr := r.CounterValue(); err != nil || verr != nil || v != 6 {
					t.Errorf("read cnt: %d (%v %v), want 6 (5 written before, +1)", v, err, verr)
				}
			})
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}

			s, err = openStorage(dir, engine, "always", cfg.RegisterConsistency(), cfg.DataLayout(), 0, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			q, err := s.peekOutbox("n2", 10)
			if err != nil || len(q) != 3 {
				t.Fatalf("the old code reads %d entries queued for n2 (%v), want 3", len(q), err)
			}
			if e := q[2].out.E; u64val(q[2].id) != 3 || e.Origin != "n1" || e.Seq != 3 || e.Key != "cnt" {
				t.Errorf("the core's entry: place %d, %+v; want place 3, n1's seq 3 on cnt", u64val(q[2].id), e)
			}

			// Another layout is refused, naming the problem.
			other := cfg
			other.Topology = TopologyRing
			if _, err := newMLCore(other, &engineEnv{eng: s.eng}, newStats(), zerolog.Nop()); !errors.Is(err, errLayout) {
				t.Errorf("a data dir of another topology: got %v, want the layout error", err)
			}
		})
	}
}
