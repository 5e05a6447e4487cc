package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// recorder is a program that remembers what it received.
type recorder struct {
	env *Env
	got []Message
	at  []time.Duration // arrival times on the node's monotonic clock
}

func (r *recorder) Receive(m Message) {
	r.got = append(r.got, m)
	r.at = append(r.at, r.env.Mono())
}

// newWorld builds a world with nodes of recorders; progs[id] is the current incarnation's.
func newWorld(t *testing.T, cfg Config, ids ...string) (*World, map[string]*recorder) {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	progs := map[string]*recorder{}
	for _, id := range ids {
		if _, err := w.AddNode(id, func(env *Env) Program {
			r := &recorder{env: env}
			progs[env.ID()] = r
			return r
		}); err != nil {
			t.Fatal(err)
		}
	}
	return w, progs
}

func ids(ms []Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func inversions(ms []Message) int {
	n := 0
	for i := 1; i < len(ms); i++ {
		if ms[i].ID < ms[i-1].ID {
			n++
		}
	}
	return n
}

func TestFIFOPerLinkUnlessReorder(t *testing.T) {
	for _, reorder := range []bool{false, true} {
		t.Run(fmt.Sprintf("reorder=%v", reorder), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Net.Reorder = reorder
			cfg.Net.Latency = Latency{Base: time.Millisecond, Dist: Exponential, Scale: 5 * time.Millisecond}
			w, p := newWorld(t, cfg, "a", "b")
			// 500 messages, one every 100 µs: far less than the latency's spread.
			for i := 0; i < 500; i++ {
				w.At(time.Duration(i)*100*time.Microsecond, "send", func() { p["a"].env.Send("b", "m", i) })
			}
			w.Run(time.Second)
			got := p["b"].got
			if len(got) != 500 {
				t.Fatalf("delivered %d, want 500", len(got))
			}
			inv := inversions(got)
			if !reorder && inv != 0 {
				t.Errorf("FIFO link: got %d inversions, want 0 (ids %v...)", inv, ids(got)[:20])
			}
			if reorder && inv == 0 {
				t.Errorf("reordering link: got no inversions in 500 messages, want some")
			}
		})
	}
}

func TestDuplication(t *testing.T) {
	for _, dup := range []float64{0, 0.3} {
		cfg := DefaultConfig()
		cfg.Net.Duplicate = dup
		w, p := newWorld(t, cfg, "a", "b")
		for i := 0; i < 200; i++ {
			p["a"].env.Send("b", "m", i)
		}
		w.Run(time.Second)
		got := p["b"].got
		dups := 0
		count := map[uint64]int{}
		for _, m := range got {
			count[m.ID]++
			if m.Dup {
				dups++
			}
		}
		for id, c := range count {
			if c > 2 {
				t.Errorf("dup %v: message %d delivered %d times, want at most 2", dup, id, c)
			}
		}
		if len(count) != 200 || len(got) != 200+dups {
			t.Errorf("dup %v: got %d deliveries of %d messages (%d dups), want all 200 once plus the dups", dup, len(got), len(count), dups)
		}
		if dup == 0 && dups != 0 || dup > 0 && (dups < 30 || dups > 90) {
			t.Errorf("dup %v: got %d duplicates of 200, want about %v", dup, dups, 200*dup)
		}
		if s := w.NetStats(); s.Duplicated != int64(dups) || s.Delivered != int64(len(got)) {
			t.Errorf("dup %v: stats %+v, want %d duplicated and %d delivered", dup, s, dups, len(got))
		}
	}
}

// pairs sends one message on every directed link and returns the links that delivered.
func pairs(w *World, p map[string]*recorder, nodes []string) []string {
	for _, r := range p {
		r.got = nil
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				p[a].env.Send(b, "probe", nil)
			}
		}
	}
	w.Run(w.Now() + time.Second)
	var out []string
	for _, b := range nodes {
		for _, m := range p[b].got {
			out = append(out, m.From+">"+b)
		}
	}
	slices.Sort(out)
	return out
}

func TestPartitionsBlockExactlyTheGrudge(t *testing.T) {
	nodes := []string{"a", "b", "c"}
	all := []string{"a>b", "a>c", "b>a", "b>c", "c>a", "c>b"}
	without := func(cut ...string) string {
		var out []string
		for _, l := range all {
			if !slices.Contains(cut, l) {
				out = append(out, l)
			}
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		name   string
		grudge map[string][]string
		want   string
	}{
		{"none", nil, without()},
		{"one-way: b does not hear a", map[string][]string{"b": {"a"}}, without("a>b")},
		{"symmetric a|b", map[string][]string{"a": {"b"}, "b": {"a"}}, without("a>b", "b>a")},
		{"isolate c", map[string][]string{"c": {"a", "b"}, "a": {"c"}, "b": {"c"}}, without("a>c", "b>c", "c>a", "c>b")},
		{"c deaf", map[string][]string{"c": {"a", "b"}}, without("a>c", "b>c")},
	}
	w, p := newWorld(t, DefaultConfig(), nodes...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.Partition(tc.grudge); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(pairs(w, p, nodes), " "); got != tc.want {
				t.Errorf("delivered on %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("heal", func(t *testing.T) {
		w.Heal()
		if got := strings.Join(pairs(w, p, nodes), " "); got != without() {
			t.Errorf("after heal: delivered on %q, want all", got)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, g := range []map[string][]string{{"a": {"a"}}, {"a": {"zz"}}, {"zz": {"a"}}} {
			if err := w.Partition(g); err == nil {
				t.Errorf("grudge %v: got no error", g)
			}
		}
	})
}

func TestPartitionDropsInFlightAndSentDuringCut(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Net.Latency = Latency{Base: 10 * time.Millisecond}
	w, p := newWorld(t, cfg, "a", "b")
	p["a"].env.Send("b", "before", nil) // arrives at 10ms, after the cut at 5ms
	w.At(5*time.Millisecond, "cut", func() { _ = w.Partition(map[string][]string{"b": {"a"}}) })
	w.At(6*time.Millisecond, "send", func() { p["a"].env.Send("b", "during", nil) })
	w.At(12*time.Millisecond, "heal", func() { _ = w.Partition(nil) }) // "during" would arrive at 16ms
	w.At(13*time.Millisecond, "send", func() { p["a"].env.Send("b", "after", nil) })
	w.Run(time.Second)
	var kinds []string
	for _, m := range p["b"].got {
		kinds = append(kinds, m.Kind)
	}
	if got := strings.Join(kinds, " "); got != "after" {
		t.Errorf("delivered %q, want only %q", got, "after")
	}
	if s := w.NetStats(); s.Partition != 2 {
		t.Errorf("partition drops: got %d, want 2", s.Partition)
	}
}

func TestLinkFaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Net.Latency = Latency{Base: time.Millisecond}
	w, p := newWorld(t, cfg, "a", "b")
	if err := w.SetLinks([]LinkFault{{From: "a", To: "b", Loss: 1}, {From: "b", To: "a", Delay: 50 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p["a"].env.Send("b", "m", nil)
	}
	p["b"].env.Send("a", "slow", nil)
	w.Run(50 * time.Millisecond)
	if n := len(p["a"].got); n != 0 {
		t.Errorf("b->a at 50ms: got %d, want 0 (delayed to 51ms)", n)
	}
	w.Run(51 * time.Millisecond)
	if n := len(p["a"].got); n != 1 {
		t.Errorf("b->a at 51ms: got %d, want 1", n)
	}
	if n := len(p["b"].got); n != 0 || w.NetStats().Lost != 20 {
		t.Errorf("a->b with loss 1: delivered %d, lost %d; want 0 and 20", n, w.NetStats().Lost)
	}
	if err := w.SetLinks([]LinkFault{{From: "a", To: "a"}}); err == nil {
		t.Error("self link: got no error")
	}
	if err := w.SetLinks(nil); err != nil {
		t.Fatal(err)
	}
	p["a"].env.Send("b", "m", nil)
	w.Run(time.Second)
	if n := len(p["b"].got); n != 1 {
		t.Errorf("after clearing: got %d, want 1", n)
	}
}

func TestLatencyDistributions(t *testing.T) {
	cases := []struct {
		name     string
		l        Latency
		min, max time.Duration // bounds every sample must respect
		mean     time.Duration // approximate mean (0: skip)
	}{
		{"constant", Latency{Base: time.Millisecond}, time.Millisecond, time.Millisecond, time.Millisecond},
		{"exponential", Latency{Base: time.Millisecond, Dist: Exponential, Scale: time.Millisecond}, time.Millisecond, time.Hour, 2 * time.Millisecond},
		{"lognormal", Latency{Base: 0, Dist: LogNormal, Scale: time.Millisecond, Sigma: 0.5}, 0, time.Hour, 1133 * time.Microsecond}, // e^(σ²/2)
		{"capped", Latency{Base: time.Millisecond, Dist: Exponential, Scale: 10 * time.Millisecond, Max: 3 * time.Millisecond}, time.Millisecond, 3 * time.Millisecond, 0},
	}
	for _, tc := range cases {
		r := NewRand(11)
		var sum time.Duration
		const n = 50000
		for i := 0; i < n; i++ {
			d := tc.l.Sample(r)
			if d < tc.min || d > tc.max {
				t.Fatalf("%s: sample %s outside [%s, %s]", tc.name, d, tc.min, tc.max)
			}
			sum += d
		}
		if tc.mean > 0 {
			mean := sum / n
			if diff := mean - tc.mean; diff > tc.mean/50 || diff < -tc.mean/50 {
				t.Errorf("%s: mean %s, want about %s", tc.name, mean, tc.mean)
			}
		}
	}
}

// TestStreamsIndependent: adding a node and its traffic does not change what happens on the
// other links, because each link draws from its own named stream.
func TestStreamsIndependent(t *testing.T) {
	arrivals := func(extra bool) []time.Duration {
		cfg := DefaultConfig()
		cfg.Net.Loss = 0.1
		cfg.Net.Duplicate = 0.1
		nodes := []string{"a", "b"}
		if extra {
			nodes = []string{"c", "a", "b"} // added first, to move everything else along
		}
		w, p := newWorld(t, cfg, nodes...)
		for i := 0; i < 200; i++ {
			w.At(time.Duration(i)*time.Millisecond, "a>b", func() { p["a"].env.Send("b", "m", nil) })
			if extra {
				w.At(time.Duration(i)*time.Millisecond, "c>a", func() { p["c"].env.Send("a", "m", nil) })
				w.At(time.Duration(i)*time.Millisecond, "c>b", func() { p["c"].env.Send("b", "m", nil) })
			}
		}
		var out []time.Duration
		w.Run(time.Second)
		for i, m := range p["b"].got {
			if m.From == "a" {
				out = append(out, m.Sent, p["b"].at[i])
			}
		}
		return out
	}
	// The send and arrival times of a's messages at b, duplicates and losses included, are the
	// same with or without c.
	base, with := arrivals(false), arrivals(true)
	if len(base) == 0 || !slices.Equal(base, with) {
		t.Errorf("a->b deliveries differ when c is added: %d vs %d messages", len(base), len(with))
	}
}
