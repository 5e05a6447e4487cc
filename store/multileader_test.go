package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
)

func multileader(conflict, topology string) func(*Config) {
	return func(c *Config) {
		c.Mode, c.Conflict, c.Topology = "multileader", conflict, topology
	}
}

// split cuts the nodes of a from the nodes of b, both ways, with the fault filter.
func (c *testCluster) split(a, b []string) {
	c.t.Helper()
	for _, side := range [][2][]string{{a, b}, {b, a}} {
		for _, id := range side[0] {
			if err := c.client(id).SetFaults(context.Background(), client.Faults{Drop: side[1]}); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

func (c *testCluster) healAll() {
	c.t.Helper()
	for id := range c.nodes {
		if err := c.client(id).SetFaults(context.Background(), client.Faults{}); err != nil {
			c.t.Fatal(err)
		}
	}
}

// converged reports whether every node dumps the same data, and if not, how two differ.
func (c *testCluster) converged() (bool, string) {
	var first *client.Dump
	for _, id := range c.ids {
		d, err := c.client(id).Dump(context.Background())
		if err != nil {
			return false, fmt.Sprintf("dump %s: %v", id, err)
		}
		if first == nil {
			first = &d
			continue
		}
		if !reflect.DeepEqual(first.Keys, d.Keys) {
			return false, fmt.Sprintf("%s %+v, %s %+v", c.ids[0], first.Keys, id, d.Keys)
		}
	}
	return true, ""
}

// mlDrained reports whether every running node's outbound queues are empty: each queued write
// was acknowledged, so its receiver finished applying it, counters and conflict reports
// included (a receiver commits, then counts, then answers).
func (c *testCluster) mlDrained() (bool, string) {
	for _, id := range c.ids {
		rn, ok := c.nodes[id]
		if !ok {
			continue
		}
		if q := coreStats(c.t, rn.node)["ml_queue_total"].(int64); q != 0 {
			return false, fmt.Sprintf("%s has %d queued", id, q)
		}
	}
	return true, ""
}

func (c *testCluster) waitMLDrained() {
	c.t.Helper()
	wait.For(c.t, settle, "every outbound queue to drain", c.mlDrained)
}

// waitConverged waits (bounded) until every queue drained and the replicas agree, and reports
// how long since since that took (for the log; no test asserts on it). Drained first: with no
// new client writes that state is final (a forward is queued before the write it forwards is
// acknowledged), so the agreement seen then is not a passing coincidence.
func (c *testCluster) waitConverged(since time.Time) time.Duration {
	c.t.Helper()
	c.waitMLDrained()
	wait.For(c.t, settle, "replicas to converge", c.converged)
	return time.Since(since)
}

func TestMLTargetsReachEveryNodeOnce(t *testing.T) {
	for _, topo := range []string{TopologyAll, TopologyRing, TopologyStar} {
		for n := 1; n <= 6; n++ {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("n%d", i+1)
			}
			for _, origin := range ids {
				t.Run(fmt.Sprintf("%s/%d/%s", topo, n, origin), func(t *testing.T) {
					got := map[string]int{}
					type msg struct{ from, to string }
					queue := []msg{}
					for _, p := range MLTargets(topo, ids, origin, origin) {
						queue = append(queue, msg{origin, p})
					}
					for steps := 0; len(queue) > 0; steps++ {
						if steps > 10*n*n {
							t.Fatalf("delivery does not end: a loop")
						}
						m := queue[0]
						queue = queue[1:]
						got[m.to]++
						for _, p := range MLTargets(topo, ids, m.to, origin) {
							if p != m.from {
								queue = append(queue, msg{m.to, p})
							}
						}
					}
					for _, id := range ids {
						want := 1
						if id == origin {
							want = 0
						}
						if got[id] != want {
							t.Errorf("node %s received the write %d times, want %d (all: %v)", id, got[id], want, got)
						}
					}
				})
			}
		}
	}
}

func TestMultileaderConfig(t *testing.T) {
	base := DefaultConfig()
	base.ID, base.Peers, base.DataDir = "n1", map[string]string{"n1": "a:1", "n2": "a:2"}, "x"
	base.Mode = "multileader"
	base.ClusterSecret = testSecret
	tests := []struct {
		name string
		mod  func(*Config)
		want string // error substring, "" = valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"siblings ring", func(c *Config) { c.Conflict, c.Topology = ConflictSiblings, TopologyRing }, ""},
		{"bad conflict", func(c *Config) { c.Conflict = "lwww" }, `Conflict "lwww"`},
		{"bad topology", func(c *Config) { c.Topology = "mesh" }, `Topology "mesh"`},
		{"w 2", func(c *Config) { c.W = 2 }, ""},
		{"w 3 of 2 nodes", func(c *Config) { c.W = 3 }, "W (3)"},
		{"bad mode", func(c *Config) { c.Mode = "raft" }, `Mode "raft"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	if w, r := base.EffectiveW(), base.EffectiveR(); w != 1 || r != 1 {
		t.Errorf("multileader default w, r: got %d, %d, want 1, 1", w, r)
	}
}

// TestMultileaderConflicts writes one key on two leaders on either side of a partition, heals,
// and checks each strategy's outcome once every replica converged.
func TestMultileaderConflicts(t *testing.T) {
	ctx := context.Background()
	t.Run("lww keeps one write and the other is gone", func(t *testing.T) {
		c := newCluster(t, 3, multileader(ConflictLWW, TopologyAll))
		c.split([]string{"n1"}, []string{"n2", "n3"})
		if err := c.client("n1").Put(ctx, "k", "a", 0, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.client("n2").Put(ctx, "k", "b", 0, ""); err != nil {
			t.Fatal(err)
		}
		// Counters and sets are replaced whole under lww: one side's increment and add are lost.
		for _, id := range []string{"n1", "n2"} {
			if err := c.client(id).Incr(ctx, "c", 1, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.client(id).SetAdd(ctx, "s", "x-"+id, 0); err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range map[string]string{"n1": "a", "n2": "b"} {
			v, err := c.client(id).Get(ctx, "k", 0)
			if err != nil || !slices.Equal(v.Values, []string{want}) {
				t.Fatalf("%s during the partition: got %v (%v), want [%s] (writes stay available)", id, v.Values, err, want)
			}
		}
		healed := time.Now()
		c.healAll()
		t.Logf("converged %s after heal", c.waitConverged(healed))
		v, err := c.client("n3").Get(ctx, "k", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Values) != 1 || (v.Values[0] != "a" && v.Values[0] != "b") {
			t.Fatalf("got %v, want exactly one of a, b", v.Values)
		}
		lost := map[string]string{"a": "b", "b": "a"}[v.Values[0]]
		t.Logf("kept %s, lost %s", v.Values[0], lost)
		for _, id := range c.ids {
			if n, err := c.client(id).Counter(ctx, "c", 0); err != nil || n != 1 {
				t.Errorf("%s counter: got %d (%v), want 1 (one of two concurrent increments lost)", id, n, err)
			}
			if s, err := c.client(id).SetRead(ctx, "s", 0); err != nil || len(s) != 1 {
				t.Errorf("%s set: got %v (%v), want one of the two concurrent adds", id, s, err)
			}
		}
		if n := c.sumML("ml_conflict_lww_local_won") + c.sumML("ml_conflict_lww_incoming_won"); n == 0 {
			t.Errorf("lww conflicts counted: got 0, want > 0")
		}
		found := false
		for _, id := range c.ids {
			for _, cf := range coreStats(t, c.node(id))["ml_recent_conflicts"].([]MLConflict) {
				if cf.Key == "k" && slices.Contains(cf.Lost, lost) && slices.Equal(cf.Kept, v.Values) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no recent conflict reports %s lost and %v kept", lost, v.Values)
		}
	})
	t.Run("crdt keeps both increments and both elements", func(t *testing.T) {
		c := newCluster(t, 3, multileader(ConflictCRDT, TopologyAll))
		c.split([]string{"n1"}, []string{"n2", "n3"})
		for _, id := range []string{"n1", "n2"} {
			if err := c.client(id).Incr(ctx, "c", 1, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.client(id).SetAdd(ctx, "s", "x-"+id, 0); err != nil {
				t.Fatal(err)
			}
		}
		healed := time.Now()
		c.healAll()
		t.Logf("converged %s after heal", c.waitConverged(healed))
		for _, id := range c.ids {
			n, err := c.client(id).Counter(ctx, "c", 0)
			if err != nil || n != 2 {
				t.Errorf("%s counter: got %d (%v), want 2", id, n, err)
			}
			s, err := c.client(id).SetRead(ctx, "s", 0)
			if err != nil || !slices.Equal(s, []string{"x-n1", "x-n2"}) {
				t.Errorf("%s set: got %v (%v), want [x-n1 x-n2]", id, s, err)
			}
		}
		if n := c.sumML("ml_conflict_merged"); n == 0 {
			t.Errorf("crdt merges counted as conflicts: got 0, want > 0")
		}
	})
	t.Run("siblings keeps both and a merge write resolves them", func(t *testing.T) {
		c := newCluster(t, 3, multileader(ConflictSiblings, TopologyAll))
		c.split([]string{"n1"}, []string{"n2", "n3"})
		if err := c.client("n1").Put(ctx, "k", "a", 0, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.client("n2").Put(ctx, "k", "b", 0, ""); err != nil {
			t.Fatal(err)
		}
		healed := time.Now()
		c.healAll()
		t.Logf("converged %s after heal", c.waitConverged(healed))
		v, err := c.client("n3").Get(ctx, "k", 0)
		if err != nil || !slices.Equal(v.Values, []string{"a", "b"}) || v.Context == "" {
			t.Fatalf("after heal: got %v ctx %q (%v), want [a b] with a context", v.Values, v.Context, err)
		}
		if err := c.client("n3").Put(ctx, "k", "ab", 0, v.Context); err != nil {
			t.Fatal(err)
		}
		merged := time.Now()
		t.Logf("converged %s after the merge write", c.waitConverged(merged))
		for _, id := range c.ids {
			v, err := c.client(id).Get(ctx, "k", 0)
			if err != nil || !slices.Equal(v.Values, []string{"ab"}) {
				t.Errorf("%s after the merge write: got %v (%v), want [ab]", id, v.Values, err)
			}
		}
		if n := c.sumML("ml_conflict_siblings_kept"); n == 0 {
			t.Errorf("siblings conflicts counted: got 0, want > 0")
		}
		if n := c.sumML("ml_siblings_resolved"); n != 1 {
			t.Errorf("siblings resolved by writes: got %d, want 1", n)
		}
	})
}

func (c *testCluster) sumML(name string) int64 {
	var n int64
	for id := range c.nodes {
		n += c.stat(id, name)
	}
	return n
}

// TestMultileaderTopologies writes on every leader and checks that every write reaches every
// node exactly once: applied counts are exact and forwarding stops (no loops).
func TestMultileaderTopologies(t *testing.T) {
	const nodes, perNode = 4, 5
	tests := []struct {
		topo          string
		wantForwarded int64
	}{
		{TopologyAll, 0},
		{TopologyRing, nodes * perNode * (nodes - 2)},       // each write passes n-2 middle nodes
		{TopologyStar, (nodes - 1) * perNode * (nodes - 2)}, // the hub forwards the leaves' writes
	}
	for _, tt := range tests {
		t.Run(tt.topo, func(t *testing.T) {
			c := newCluster(t, nodes, multileader(ConflictCRDT, tt.topo))
			for _, id := range c.ids {
				for i := 0; i < perNode; i++ {
					if err := c.client(id).SetAdd(context.Background(), "s", fmt.Sprintf("%s-%d", id, i), 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			took := c.waitConverged(time.Now())
			t.Logf("converged and drained %s after the last write", took)
			s, err := c.client("n2").SetRead(context.Background(), "s", 0)
			if err != nil || len(s) != nodes*perNode {
				t.Fatalf("set: got %d elements (%v), want %d", len(s), err, nodes*perNode)
			}
			if got, want := c.sumML("ml_applied"), int64(nodes*perNode*(nodes-1)); got != want {
				t.Errorf("writes applied: got %d, want %d (each write once on each other node)", got, want)
			}
			if got := c.sumML("ml_forwarded"); got != tt.wantForwarded {
				t.Errorf("writes forwarded: got %d, want %d", got, tt.wantForwarded)
			}
		})
	}
}

// TestMultileaderQueueSurvivesKill queues writes on a partitioned leader, kills it, restarts it
// on the same data, heals, and checks that the queued writes arrive everywhere.
func TestMultileaderQueueSurvivesKill(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3, func(cfg *Config) {
		multileader(ConflictCRDT, TopologyAll)(cfg)
		cfg.Fsync = "always"
	})
	c.split([]string{"n1"}, []string{"n2", "n3"})
	const writes = 30
	for i := 0; i < writes; i++ {
		if err := c.client("n1").Incr(ctx, "c", 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	q := coreStats(t, c.node("n1"))["ml_queue_total"].(int64)
	if q == 0 {
		t.Fatalf("queued on n1 before the kill: got 0, want > 0")
	}
	c.kill("n1")
	c.start("n1")
	// The restarted node has no fault filter: cut it off again until the others heal too.
	c.split([]string{"n1"}, []string{"n2", "n3"})
	if got := coreStats(t, c.node("n1"))["ml_queue_total"].(int64); got != q {
		t.Errorf("queue after restart: got %d, want %d", got, q)
	}
	healed := time.Now()
	c.healAll()
	t.Logf("converged %s after heal", c.waitConverged(healed))
	for _, id := range c.ids {
		if n, err := c.client(id).Counter(ctx, "c", 0); err != nil || n != writes {
			t.Errorf("%s: got %d (%v), want %d", id, n, err, writes)
		}
	}
}

func TestMultileaderRejects(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3, multileader(ConflictLWW, TopologyAll))
	tests := []struct {
		name string
		do   func() error
		want int // HTTP status, 0 = ok
	}{
		{"w=3 waits for both peers", func() error { return c.client("n1").Put(ctx, "k", "v", 3, "") }, 0},
		{"w=1", func() error { return c.client("n1").Put(ctx, "k", "v", 1, "") }, 0},
		{"r=3 is local", func() error { _, err := c.client("n1").Get(ctx, "k", 3); return err }, 0},
		{"kind mismatch", func() error { return c.client("n1").Incr(ctx, "k", 1, 0) }, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			var ce *client.Error
			switch {
			case tt.want == 0 && err != nil:
				t.Errorf("got %v, want ok", err)
			case tt.want != 0 && (!errors.As(err, &ce) || ce.Status != tt.want):
				t.Errorf("got %v, want HTTP %d", err, tt.want)
			}
		})
	}
}

// TestMultileaderW checks w>1: acknowledged once w-1 other leaders applied the write; when they
// cannot, indeterminate (the write is applied here and replicates later); and bounded by the
// leaders this node sends to directly.
func TestMultileaderW(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3, multileader(ConflictLWW, TopologyRing))
	if err := c.client("n1").Put(ctx, "k", "a", 2, ""); err != nil {
		t.Fatalf("w=2 on a ring: got %v, want ok (the next node applied it)", err)
	}
	if v, err := c.client("n2").Get(ctx, "k", 0); err != nil || !slices.Equal(v.Values, []string{"a"}) {
		t.Errorf("n2 after a w=2 ack: got %v (%v), want [a]", v.Values, err)
	}
	var ce *client.Error
	if err := c.client("n1").Put(ctx, "k", "b", 3, ""); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Errorf("w=3 on a ring: got %v, want HTTP 400", err)
	}
	c.split([]string{"n1"}, []string{"n2", "n3"})
	err := c.client("n1").Put(ctx, "k", "c", 2, "")
	if !errors.Is(err, client.ErrIndeterminate) {
		t.Fatalf("w=2 cut off: got %v, want indeterminate", err)
	}
	c.healAll()
	wait.For(t, settle, "the indeterminate write to replicate to n3", func() (bool, string) {
		v, err := c.client("n3").Get(ctx, "k", 0)
		return err == nil && slices.Equal(v.Values, []string{"c"}), fmt.Sprintf("%v (%v)", v.Values, err)
	})
}
