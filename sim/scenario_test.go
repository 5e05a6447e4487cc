package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// gossip is a test program that exercises every part of the world: timers with random jitter,
// messages to random peers, timed disk writes (some synced), state recovered from disk after a
// crash, and notes in the trace carrying the node's clock.
type gossip struct {
	env    *Env
	peers  []string
	period time.Duration
	count  int
}

func bootGossip(peers []string, period time.Duration) Boot {
	return func(env *Env) Program {
		g := &gossip{env: env, peers: peers, period: period}
		if v, ok, err := env.Disk().Get("meta", "count"); err == nil && ok {
			g.count, _ = strconv.Atoi(string(v))
		}
		g.tick()
		return g
	}
}

func (g *gossip) tick() {
	jitter := time.Duration(g.env.Rand().IntN(1000)) * time.Microsecond
	g.env.After(g.period+jitter, "tick", func() {
		if to := g.peers[g.env.Rand().IntN(len(g.peers))]; to != g.env.ID() {
			g.env.Send(to, "ping", g.count)
		}
		g.tick()
	})
}

func (g *gossip) Receive(m Message) {
	switch m.Kind {
	case "ping":
		g.count++
		var b Batch
		b.Put("meta", "count", []byte(strconv.Itoa(g.count)))
		b.Put("log", fmt.Sprintf("%08d", g.count), []byte(m.From))
		g.env.Persist(&b, g.count%2 == 0, func(error) { g.env.Send(m.From, "pong", g.count) })
	case "pong":
		g.env.Note(fmt.Sprintf("pong from=%s v=%d now=%d", m.From, m.Body, g.env.Now().UnixNano()))
	}
}

// faultyScenario runs five gossiping nodes for two virtual seconds under every kind of fault
// and returns the world.
func faultyScenario(t testing.TB, seed uint64, keep bool) *World {
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.KeepTrace = keep
	cfg.Net = NetConfig{
		Latency:   Latency{Base: 300 * time.Microsecond, Dist: LogNormal, Scale: 500 * time.Microsecond, Sigma: 0.8, Max: 20 * time.Millisecond},
		Loss:      0.01,
		Duplicate: 0.02,
		Reorder:   true,
	}
	cfg.Disk.Torn = true
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, id := range nodes {
		if _, err := w.AddNode(id, bootGossip(nodes, 5*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	ms := time.Millisecond
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.At(200*ms, "partition", func() { must(w.Partition(map[string][]string{"n1": {"n4", "n5"}, "n2": {"n4", "n5"}, "n4": {"n1"}})) })
	w.At(300*ms, "links", func() { must(w.SetLinks([]LinkFault{{From: "n3", To: "n1", Delay: 30 * ms, Loss: 0.2}})) })
	w.At(400*ms, "crash", func() { must(w.Crash("n2")) })
	w.At(500*ms, "pause", func() { must(w.Pause("n3")) })
	w.At(600*ms, "clock", func() { must(w.SetClock("n4", 2*time.Second, 500)) })
	w.At(800*ms, "restart", func() { must(w.Restart("n2")) })
	w.At(900*ms, "heal", func() { w.Heal() })
	w.At(1200*ms, "crash", func() { must(w.Crash("n5")) })
	w.At(1300*ms, "restart", func() { must(w.Restart("n5")) })
	w.Run(2 * time.Second)
	return w
}

func TestDeterminism(t *testing.T) {
	a := faultyScenario(t, 1, true)
	b := faultyScenario(t, 1, true)
	if a.Trace().Sum() != b.Trace().Sum() {
		t.Fatalf("seed 1 twice: hashes %s and %s differ; first difference:\n%s",
			a.Trace().Sum(), b.Trace().Sum(), firstDiff(a.Trace().Bytes(), b.Trace().Bytes()))
	}
	if a.Trace().Lines() < 5000 {
		t.Errorf("trace has %d lines; want a busy scenario (>= 5000)", a.Trace().Lines())
	}
	c := faultyScenario(t, 2, false)
	if c.Trace().Sum() == a.Trace().Sum() {
		t.Errorf("seeds 1 and 2 gave the same hash %s", a.Trace().Sum())
	}
	// every kind of fault and outcome happened
	tr := string(a.Trace().Bytes())
	for _, want := range []string{" crash n2 ", " boot n2 - 2 ", " pause n3 ", " resume n3 ", "held", " partition n1 - 0 n4,n5", " clock n4 ",
		"lost", "receiver-crashed", "receiver-down", " drop ", " dup", " persisted ", " note "} {
		if !strings.Contains(tr, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	s := a.NetStats()
	if s.Lost == 0 || s.Partition == 0 || s.Crashed == 0 || s.Duplicated == 0 || s.Held == 0 {
		t.Errorf("net stats %+v: want every kind of drop, duplicates and held arrivals", s)
	}
}

// TestDeterminismGOMAXPROCS runs the scenario under GOMAXPROCS 1 and 2, and four copies at
// once on separate goroutines (so any shared state would show under -race or in the hashes).
func TestDeterminismGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	want := faultyScenario(t, 7, false).Trace().Sum()
	runtime.GOMAXPROCS(2)
	if got := faultyScenario(t, 7, false).Trace().Sum(); got != want {
		t.Errorf("GOMAXPROCS 2: got %s, want %s (as under 1)", got, want)
	}
	sums := make([]string, 4)
	var wg sync.WaitGroup
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = faultyScenario(t, 7, false).Trace().Sum()
		}()
	}
	wg.Wait()
	for i, s := range sums {
		if s != want {
			t.Errorf("concurrent copy %d: got %s, want %s", i, s, want)
		}
	}
}

// TestGolden pins the trace of seed 1: its hash, and its first lines so that a change shows
// where it starts. A change to the simulator that changes what a seed does must update
// testdata/golden.txt (go test ./sim -run TestGolden -update) and say so in its commit.
func TestGolden(t *testing.T) {
	w := faultyScenario(t, 1, true)
	head := strings.SplitAfterN(string(w.Trace().Bytes()), "\n", goldenLines+1)[:goldenLines]
	got := fmt.Sprintf("seed=1 lines=%d events=%d sha256=%s\n", w.Trace().Lines(), w.Fired(), w.Trace().Sum()) +
		strings.Join(head, "")
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("golden trace differs from %s: %s", path, firstDiff([]byte(got), want))
	}
}

const goldenLines = 60

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("one trace is a prefix of the other (%d vs %d lines)", len(la), len(lb))
}
