package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/sim/record"
)

// chatter sends a message to a random peer every 10 ms, so faults have traffic to act on.
type chatter struct {
	env   *sim.Env
	peers []string
}

func (c *chatter) Receive(sim.Message) {}

func (c *chatter) tick() {
	c.env.After(10*time.Millisecond, "tick", func() {
		if to := c.peers[c.env.Rand().IntN(len(c.peers))]; to != c.env.ID() {
			c.env.Send(to, "chat", nil)
		}
		c.tick()
	})
}

type played struct {
	at  time.Duration
	e   nemesis.Event
	err error
}

// run plays a generated schedule with every fault over 5 nodes, heals with nemesis.HealAll,
// and returns the world and what was played.
func run(t *testing.T, seed int64) (*sim.World, nemesis.Schedule, []played, *record.History) {
	t.Helper()
	nc := nemesis.DefaultConfig()
	nc.Seed = seed
	nc.Interval = time.Second
	nc.Duration = 8 * time.Second
	s, err := nemesis.Generate(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Seed = uint64(seed)
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range nc.Nodes {
		if _, err := w.AddNode(id, func(env *sim.Env) sim.Program {
			c := &chatter{env: env, peers: nc.Nodes}
			c.tick()
			return c
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []played
	h := record.New(w)
	Play(w, s, 0, h, func(e nemesis.Event, err error) { got = append(got, played{w.Now(), e, err}) })
	w.Run(nc.Duration)
	if err := nemesis.HealAll(context.Background(), s, Target{W: w}, h, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	w.Run(nc.Duration + time.Second)
	return w, s, got, h
}

func TestPlayRunsEveryEventAtItsTime(t *testing.T) {
	w, s, got, h := run(t, 3)
	if len(got) != len(s.Events) || len(got) < 8 {
		t.Fatalf("played %d events of %d (want all, at least 8)", len(got), len(s.Events))
	}
	kinds := map[string]bool{}
	for i, p := range got {
		if p.err != nil {
			t.Errorf("%s: %v", p.e, p.err)
		}
		if p.at != s.Events[i].At || p.e.F != s.Events[i].F {
			t.Errorf("event %d: played %s at %s, want %s at %s", i, p.e.F, p.at, s.Events[i].F, s.Events[i].At)
		}
		kinds[p.e.F] = true
	}
	for _, f := range []string{nemesis.FStartPartition, nemesis.FKill, nemesis.FRestart, nemesis.FPause, nemesis.FResume, nemesis.FClockBump} {
		if !kinds[f] {
			t.Errorf("schedule never played %s (played %v)", f, kinds)
		}
	}
	for _, id := range w.Nodes() {
		n := w.Node(id)
		if n.State() != sim.Up || n.Clock().Offset() != 0 {
			t.Errorf("%s after HealAll: %s with clock offset %s, want up and 0", id, n.State(), n.Clock().Offset())
		}
	}
	if s := w.NetStats(); s.Partition == 0 || s.Crashed == 0 {
		t.Errorf("net stats %+v: want drops by partitions and crashes", s)
	}
	ops := h.Ops()
	if len(ops) <= len(s.Events) {
		t.Fatalf("history: %d ops, want the %d events and HealAll's ops after them", len(ops), len(s.Events))
	}
	for i, e := range s.Events {
		op := ops[i]
		if op.Index != int64(i) || op.Time != int64(e.At) || op.F != e.F || op.Node != e.Node || op.Process != history.NemesisProcess || op.Type != history.Info {
			t.Errorf("op %d: got %+v, want %s of %q at %d", i, op, e.F, e.Node, e.At)
		}
	}
	if last := ops[len(ops)-1]; last.Detail != "heal-all" || last.Time != int64(8*time.Second) {
		t.Errorf("last op: got %+v, want a heal-all at 8s", last)
	}
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b.Bytes()); hex.EncodeToString(sum[:]) != h.Sum() {
		t.Errorf("history hash %s is not the sha256 of its JSON lines", h.Sum())
	}
	f, err := history.Decode(&b, history.FormatAuto, 0)
	if err != nil || len(f.Ops) != len(ops) {
		t.Errorf("decoding the history: %d ops, %v; want %d", len(f.Ops), err, len(ops))
	}
}

func TestPlayDeterministic(t *testing.T) {
	a, _, _, ha := run(t, 5)
	b, _, _, hb := run(t, 5)
	c, _, _, _ := run(t, 6)
	if a.Trace().Sum() != b.Trace().Sum() || ha.Sum() != hb.Sum() {
		t.Errorf("seed 5 twice: traces %s and %s, histories %s and %s", a.Trace().Sum(), b.Trace().Sum(), ha.Sum(), hb.Sum())
	}
	if a.Trace().Sum() == c.Trace().Sum() {
		t.Errorf("seeds 5 and 6 alike: %s", a.Trace().Sum())
	}
}
