package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/sim"
)

// Deterministic tests of the multi-leader core (core_multileader*.go): a cluster of cores in
// the simulator (SimBoot), driven by a client node, in virtual time. No test here sleeps or
// reads a clock. The cluster helpers are core_leaderless_test.go's.

// mlTestConfig is a multi-leader cluster config of n nodes for the simulator.
func mlTestConfig(n int, conflict, topology string) Config {
	cfg := llTestConfig(n)
	cfg.Mode = "multileader"
	cfg.Conflict = conflict
	cfg.Topology = topology
	return cfg
}

// newMLCluster is newSimCluster with the simulator's config given (network faults, disks).
func newMLCluster(t *testing.T, scfg sim.Config, cfg Config) *simCluster {
	t.Helper()
	return newSimClusterOn(t, scfg, cfg)
}

func simSeed(seed uint64) sim.Config {
	s := sim.DefaultConfig()
	s.Seed = seed
	return s
}

func (c *simCluster) write(node, key string, op WriteOp, q Quorums) SimReply {
	c.t.Helper()
	return c.do(node, SimKindWrite, func(id uint64) any { return SimWrite{ID: id, Key: key, Op: op, Q: q} })
}

func (c *simCluster) read(node, key, kind string) Record {
	c.t.Helper()
	r := c.do(node, SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: key, Kind: kind} })
	mustOK(c.t, "read "+key+" at "+node, r)
	return r.Record
}

// mlStats is node's multi-leader structured stats (Core.Stats).
func (c *simCluster) mlStats(node string) map[string]any {
	c.t.Helper()
	p, ok := c.w.Node(node).Program().(*simProgram)
	if !ok || p.core == nil {
		c.t.Fatalf("%s is not a running store node", node)
	}
	return p.core.Stats()
}

func (c *simCluster) queue(node string) int64 {
	c.t.Helper()
	return c.mlStats(node)["ml_queue_total"].(int64)
}

// converged fails unless every node holds the same records.
func (c *simCluster) converged() map[string]Record {
	c.t.Helper()
	first := c.dump(c.ids[0])
	for _, id := range c.ids[1:] {
		if d := c.dump(id); fmt.Sprint(d) != fmt.Sprint(first) {
			c.t.Fatalf("not converged: %s holds %v, %s holds %v", c.ids[0], first, id, d)
		}
	}
	return first
}

func (c *simCluster) eventsOf(kind string) []Event {
	var out []Event
	for _, e := range c.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func regOp(v string) WriteOp   { return WriteOp{Kind: KindRegister, Value: v} }
func incr(d int64) WriteOp     { return WriteOp{Kind: KindCounter, Delta: d} }
func addElem(e string) WriteOp { return WriteOp{Kind: KindSet, Elem: e} }

func TestSimMLReplicatesInEveryTopology(t *testing.T) {
	for _, topo := range []string{TopologyAll, TopologyRing, TopologyStar} {
		t.Run(topo, func(t *testing.T) {
			c := newMLCluster(t, simSeed(1), mlTestConfig(4, ConflictLWW, topo))
			for i, id := range c.ids {
				mustOK(t, "put at "+id, c.put(id, "k"+id, strconv.Itoa(i), Quorums{}))
			}
			c.run(time.Second)
			d := c.converged()
			if len(d) != 4 {
				t.Fatalf("every leader holds %d keys, want 4: %v", len(d), d)
			}
			for _, id := range c.ids {
				if got := c.stat(id, "ml_applied"); got != 3 {
					t.Errorf("%s applied %d writes from peers, want 3 (each other leader's once)", id, got)
				}
				if q := c.queue(id); q != 0 {
					t.Errorf("%s still queues %d entries", id, q)
				}
			}
			fwd := c.statSum("ml_forwarded")
			switch topo {
			case TopologyAll:
				if fwd != 0 {
					t.Errorf("all-to-all forwarded %d entries, want 0", fwd)
				}
			case TopologyRing: // each write travels 3 hops: 1 sent by its origin, 2 forwarded
				if fwd != 8 {
					t.Errorf("ring forwarded %d entries, want 8 (2 per write)", fwd)
				}
			case TopologyStar: // the hub forwards each leaf's write to the 2 other leaves
				if got := c.stat("n1", "ml_forwarded"); got != 6 || fwd != 6 {
					t.Errorf("star: hub forwarded %d, all %d, want 6 and 6", got, fwd)
				}
			}
			if n := len(c.eventsOf("ml_applied")); n != 12 {
				t.Errorf("%d ml_applied events, want 12", n)
			}
		})
	}
}

func TestSimMLConvergesAfterHealWithLoss(t *testing.T) {
	s := simSeed(3)
	cfg := mlTestConfig(3, ConflictCRDT, TopologyRing)
	cfg.RequestTimeout = 200 * time.Millisecond
	c := newMLCluster(t, s, cfg)
	var lossy []sim.LinkFault // 20% loss between the store nodes (the client's link is clean)
	for _, a := range c.ids {
		for _, b := range c.ids {
			if a != b {
				lossy = append(lossy, sim.LinkFault{From: a, To: b, Loss: 0.2})
			}
		}
	}
	if err := c.w.SetLinks(lossy); err != nil {
		t.Fatal(err)
	}
	c.isolate("n1")
	for i := 0; i < 30; i++ {
		if i == 15 {
			if c.queue("n1") == 0 {
				t.Fatal("n1 queues nothing while cut off")
			}
			c.heal() // heals the lossy links too
			if err := c.w.SetLinks(lossy); err != nil {
				t.Fatal(err)
			}
		}
		id := c.ids[i%3]
		mustOK(t, "put", c.put(id, "r"+strconv.Itoa(i%5), id+"-"+strconv.Itoa(i), Quorums{}))
		mustOK(t, "incr", c.write(id, "cnt", incr(int64(i+1)), Quorums{}))
		mustOK(t, "add", c.write(id, "set", addElem("e"+strconv.Itoa(i)), Quorums{}))
		c.run(50 * time.Millisecond) // a delivery round or a retry per write
	}
	c.run(5 * time.Second)
	d := c.converged()
	if v, _ := d["cnt"].CounterValue(); v != 465 {
		t.Errorf("counter converged to %d, want 465 (1+2+...+30)", v)
	}
	if len(d["set"].Elems) != 30 {
		t.Errorf("set converged to %d elements, want 30", len(d["set"].Elems))
	}
	if c.statSum("ml_duplicate") == 0 {
		t.Errorf("no duplicate was dropped, with 20%% loss (answers lost, batches sent again); net %+v, batches %d, failed %d", c.w.NetStats(), c.statSum("ml_batches"), c.statSum("ml_send_failed"))
	}
}

// A write made later loses to one stamped by a clock an hour ahead: the lost update is visible,
// as an ml_superseded event naming both versions and both stamps.
func TestSimMLLWWDiscardsTheLaterWriteOfASlowClock(t *testing.T) {
	c := newMLCluster(t, simSeed(2), mlTestConfig(3, ConflictLWW, TopologyAll))
	if err := c.w.SetClock("n1", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	c.isolate("n1")
	mustOK(t, "put a at n1", c.put("n1", "x", "a", Quorums{}))
	c.run(100 * time.Millisecond)
	mustOK(t, "put b at n2", c.put("n2", "x", "b", Quorums{})) // later in real time
	c.heal()
	c.run(3 * time.Second)
	for _, id := range c.ids {
		if got := value(c.get(id, "x", Quorums{})); got != "a" {
			t.Errorf("%s reads %q, want a (n1's clock is an hour ahead)", id, got)
		}
	}
	sup := c.eventsOf("ml_superseded")
	if len(sup) == 0 {
		t.Fatal("no ml_superseded event")
	}
	var lostB bool
	for _, e := range sup {
		if e.Key != "x" || e.Kept == "" || e.Lost == "" || !strings.Contains(e.Why, "last writer wins") {
			t.Errorf("event %+v: want key x, both versions and why", e)
		}
		if strings.Contains(e.Lost, ".n2.") {
			lostB = true
		}
	}
	if !lostB {
		t.Errorf("no event says n2's write was lost: %+v", sup)
	}
	for _, e := range c.eventsOf("ml_applied") {
		if e.Node == "n1" && e.Peer == "n2" {
			t.Errorf("n1 reports n2's discarded write as applied: %+v", e)
		}
	}
	if c.statSum("ml_conflict_lww_incoming_won")+c.statSum("ml_conflict_lww_local_won") == 0 {
		t.Error("no lww conflict counted")
	}
}

// Concurrent increments and adds: merged under crdt, one side lost under lww.
func TestSimMLCountersAndSets(t *testing.T) {
	for _, tc := range []struct {
		conflict string
		want     int64
		elems    int
	}{{ConflictCRDT, 7, 2}, {ConflictSiblings, 7, 2}, {ConflictLWW, 2, 1}} { // lww: n1's +5 and a are lost
		t.Run(tc.conflict, func(t *testing.T) {
			c := newMLCluster(t, simSeed(4), mlTestConfig(3, tc.conflict, TopologyAll))
			c.isolate("n1")
			mustOK(t, "incr n1", c.write("n1", "cnt", incr(5), Quorums{}))
			mustOK(t, "add n1", c.write("n1", "set", addElem("a"), Quorums{}))
			c.run(10 * time.Millisecond)
			mustOK(t, "incr n2", c.write("n2", "cnt", incr(3), Quorums{}))
			c.run(10 * time.Millisecond) // n3 has n2's increment
			mustOK(t, "incr n3", c.write("n3", "cnt", incr(-1), Quorums{}))
			mustOK(t, "add n2", c.write("n2", "set", addElem("b"), Quorums{}))
			c.heal()
			c.run(2 * time.Second)
			c.converged()
			for _, id := range c.ids {
				if v, err := c.read(id, "cnt", KindCounter).CounterValue(); err != nil || v != tc.want {
					t.Errorf("%s reads counter %d (%v), want %d", id, v, err, tc.want)
				}
				if got := c.read(id, "set", KindSet).Elems; len(got) != tc.elems {
					t.Errorf("%s reads set %v, want %d elements", id, got, tc.elems)
				}
			}
		})
	}
}

func TestSimMLSiblingsKeptThenResolved(t *testing.T) {
	c := newMLCluster(t, simSeed(5), mlTestConfig(3, ConflictSiblings, TopologyAll))
	c.isolate("n1")
	mustOK(t, "put a", c.put("n1", "x", "a", Quorums{}))
	mustOK(t, "put b", c.put("n2", "x", "b", Quorums{}))
	c.heal()
	c.run(3 * time.Second) // the call in flight to the cut-off peer times out (1 s) first
	c.converged()
	r := c.read("n3", "x", KindRegister)
	if got := r.Values(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("n3 reads %v, want siblings [a b]", got)
	}
	if len(c.eventsOf("ml_conflict")) == 0 || c.statSum("ml_conflict_siblings_kept") == 0 {
		t.Error("no siblings-kept conflict reported")
	}
	op := regOp("c")
	op.Causal = r.Context()
	mustOK(t, "put c with both in context", c.write("n3", "x", op, Quorums{}))
	c.run(time.Second)
	c.converged()
	for _, id := range c.ids {
		if got := c.read(id, "x", KindRegister).Values(); !slices.Equal(got, []string{"c"}) {
			t.Errorf("%s reads %v, want [c]", id, got)
		}
	}
	if c.stat("n3", "ml_siblings_resolved") != 1 {
		t.Errorf("ml_siblings_resolved at n3 = %d, want 1", c.stat("n3", "ml_siblings_resolved"))
	}
}

// With fsync always an acknowledged write and its outbox entries survive a crash right after
// the ack, and are delivered after the restart.
func TestSimMLOutboxSurvivesCrash(t *testing.T) {
	cfg := mlTestConfig(3, ConflictLWW, TopologyAll)
	cfg.Fsync = "always"
	c := newMLCluster(t, simSeed(6), cfg)
	c.isolate("n1")
	for i := 0; i < 5; i++ {
		mustOK(t, "put", c.put("n1", "k"+strconv.Itoa(i), "v", Quorums{}))
	}
	if err := c.w.Crash("n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.w.Restart("n1"); err != nil {
		t.Fatal(err)
	}
	c.run(10 * time.Millisecond)
	if q := c.queue("n1"); q != 10 {
		t.Fatalf("after the restart n1 queues %d entries, want 10 (5 writes x 2 peers)", q)
	}
	c.heal()
	c.run(3 * time.Second)
	if d := c.converged(); len(d) != 5 {
		t.Fatalf("converged on %d keys, want 5", len(d))
	}
	if q := c.queue("n1"); q != 0 {
		t.Errorf("n1 still queues %d", q)
	}
	// A new write after the restart gets a new sequence number: the peers apply it.
	mustOK(t, "put after restart", c.put("n1", "k0", "w", Quorums{}))
	c.run(time.Second)
	if got := value(c.get("n2", "k0", Quorums{})); got != "w" {
		t.Errorf("n2 reads %q, want w (sequence numbers continue across a restart)", got)
	}
}

// A partitioned peer is retried with backoff (20 ms doubling to 1 s), not at the timeout's
// pace, and gets the queue soon after the heal.
func TestSimMLBackoffWhilePartitioned(t *testing.T) {
	cfg := mlTestConfig(2, ConflictLWW, TopologyAll)
	cfg.RequestTimeout = 100 * time.Millisecond
	c := newMLCluster(t, simSeed(7), cfg)
	c.isolate("n2")
	mustOK(t, "put", c.put("n1", "x", "v", Quorums{}))
	c.run(10 * time.Second)
	// Attempts start at 0, then 100 ms + 20, 40, 80, ... 1000 ms after each: 13 in 10 s
	// (100 without backoff).
	if got := c.stat("n1", "ml_send_failed"); got < 11 || got > 14 {
		t.Errorf("%d failed deliveries in 10 s, want about 13", got)
	}
	c.heal()
	c.run(1200 * time.Millisecond) // the longest backoff, the call and the disk
	if got := value(c.get("n2", "x", Quorums{})); got != "v" {
		t.Errorf("n2 reads %q after the heal, want v", got)
	}
	ps := c.mlStats("n1")["ml_peers"].(map[string]MLPeerStats)["n2"]
	if ps.Delivered != 1 || ps.SendFailures < 11 || ps.Queue != 0 {
		t.Errorf("n1's queue to n2: %+v", ps)
	}
}

func TestSimMLW2WaitsForAPeerAck(t *testing.T) {
	c := newMLCluster(t, simSeed(8), mlTestConfig(3, ConflictLWW, TopologyAll))
	mustOK(t, "w=2", c.put("n1", "x", "a", Quorums{W: 2}))
	if got := c.stat("n1", "ml_sent"); got < 1 {
		t.Errorf("w=2 acknowledged with %d entries delivered, want at least 1", got)
	}
	c.isolate("n1")
	r := c.put("n1", "x", "b", Quorums{W: 2})
	if r.Err == nil || r.Err.Status != 504 || r.Err.Outcome != client.OutcomeIndeterminate {
		t.Fatalf("w=2 with every peer cut off: got %+v, want 504 indeterminate", r.Err)
	}
	if c.stat("n1", "ml_w_timeout") != 1 {
		t.Errorf("ml_w_timeout = %d, want 1", c.stat("n1", "ml_w_timeout"))
	}
	c.heal()
	c.run(2 * time.Second)
	if got := value(c.get("n2", "x", Quorums{})); got != "b" {
		t.Errorf("the indeterminate write still replicates: n2 reads %q, want b", got)
	}
	// In a ring a leader sends to one peer: w=3 cannot be met and is refused up front.
	rc := newMLCluster(t, simSeed(8), mlTestConfig(3, ConflictLWW, TopologyRing))
	r = rc.put("n1", "x", "a", Quorums{W: 3})
	if r.Err == nil || r.Err.Status != 400 || !strings.Contains(r.Err.Msg, "at most 2") {
		t.Errorf("ring w=3: got %+v, want 400 naming the limit 2", r.Err)
	}
}

func TestSimMLKindConflictRefused(t *testing.T) {
	c := newMLCluster(t, simSeed(9), mlTestConfig(2, ConflictCRDT, TopologyAll))
	mustOK(t, "put", c.put("n1", "x", "a", Quorums{}))
	r := c.write("n1", "x", incr(1), Quorums{})
	if r.Err == nil || r.Err.Status != 409 {
		t.Fatalf("a counter write to a register: got %+v, want 409", r.Err)
	}
	r = c.do("n1", SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "x", Kind: KindSet} })
	if r.Err == nil || r.Err.Status != 409 {
		t.Fatalf("a set read of a register: got %+v, want 409", r.Err)
	}
}

func TestSimMLSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64) string {
		s := simSeed(seed)
		s.Net.Duplicate = 0.1
		s.Net.Reorder = true
		c := newMLCluster(t, s, mlTestConfig(4, ConflictSiblings, TopologyStar))
		for i := 0; i < 12; i++ {
			if i == 3 {
				c.isolate("n2")
			}
			if i == 8 {
				c.heal()
			}
			id := c.ids[i%4]
			c.put(id, "k"+strconv.Itoa(i%3), strconv.Itoa(i), Quorums{})
			c.write(id, "cnt", incr(1), Quorums{})
		}
		c.run(3 * time.Second)
		c.converged()
		return c.w.Trace().Sum()
	}
	a, b := run(11), run(11)
	t.Logf("seed 11: trace %s", a)
	if a != b {
		t.Fatalf("same seed, different traces: %s vs %s", a, b)
	}
	if run(12) == a {
		t.Error("seeds 11 and 12 gave the same trace")
	}
}

// A write made after another, by a node that had seen it, still loses under lww when its
// node's clock is behind: each node reports the discard, with both stamps.
func TestSimMLLWWDiscardsACausallyLaterWrite(t *testing.T) {
	c := newMLCluster(t, simSeed(10), mlTestConfig(2, ConflictLWW, TopologyAll))
	if err := c.w.SetClock("n1", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "put a at n1", c.put("n1", "x", "a", Quorums{}))
	c.run(100 * time.Millisecond)
	if got := value(c.get("n2", "x", Quorums{})); got != "a" {
		t.Fatalf("n2 reads %q, want a", got)
	}
	mustOK(t, "put b at n2", c.put("n2", "x", "b", Quorums{})) // acknowledged, and lost at once
	c.run(100 * time.Millisecond)
	nodes := map[string]bool{}
	for _, e := range c.eventsOf("ml_superseded") {
		if e.Key == "x" && strings.Contains(e.Lost, ".n2.") && strings.Contains(e.Why, "stamped") {
			nodes[e.Node] = true
		}
	}
	if !nodes["n1"] || !nodes["n2"] {
		t.Errorf("the discard of n2's write was reported on %v, want n1 and n2: %+v", nodes, c.events)
	}
	for _, id := range c.ids {
		if got := value(c.get(id, "x", Quorums{})); got != "a" {
			t.Errorf("%s reads %q, want a", id, got)
		}
	}
}

// Random faults, many seeds: partitions, heals and crashes (some in the middle of a write),
// with duplication and reordering on the network. After a final heal every leader holds the
// same records, every acknowledged increment and add is in them (fsync always), and no
// increment is counted twice.
func TestSimMLConvergesUnderRandomFaults(t *testing.T) {
	for seed := uint64(1); seed <= 24; seed++ {
		topo := []string{TopologyAll, TopologyRing, TopologyStar}[seed%3]
		t.Run(fmt.Sprintf("seed%d-%s", seed, topo), func(t *testing.T) {
			s := simSeed(seed)
			s.Net.Reorder = true
			cfg := mlTestConfig(4, ConflictCRDT, topo)
			cfg.Fsync = "always"
			cfg.RequestTimeout = 300 * time.Millisecond
			c := newMLCluster(t, s, cfg)
			rng := c.w.Rand("faults")
			var acked, unknown int64
			var added []string
			for i := 0; i < 80; i++ {
				node := c.ids[rng.IntN(len(c.ids))]
				switch x := rng.IntN(20); {
				case x == 0:
					c.heal()
					c.isolate(c.ids[rng.IntN(len(c.ids))])
				case x == 1:
					c.heal()
				case x == 2: // a crash while a write is in flight
					id := c.send(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "cnt", Op: incr(1)}
					})
					c.run(time.Duration(rng.IntN(3000)) * time.Microsecond)
					if err := c.w.Crash(node); err != nil {
						t.Fatal(err)
					}
					if err := c.w.Restart(node); err != nil {
						t.Fatal(err)
					}
					if r, ok := c.cl.replies[id]; ok && r.Err == nil {
						acked++
					} else {
						unknown++
					}
				default:
					r, ok := c.try(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "cnt", Op: incr(1)}
					})
					if ok && r.Err == nil {
						acked++
					} else {
						unknown++
					}
					elem := "e" + strconv.Itoa(i)
					r, ok = c.try(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "set", Op: addElem(elem)}
					})
					if ok && r.Err == nil {
						added = append(added, elem)
					}
				}
				c.run(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
			c.heal()
			c.run(10 * time.Second)
			d := c.converged()
			v, err := d["cnt"].CounterValue()
			t.Logf("counter %d: %d acknowledged, %d unknown; %d adds; duplicates dropped %d, failed sends %d; net %+v",
				v, acked, unknown, len(added), c.statSum("ml_duplicate"), c.statSum("ml_send_failed"), c.w.NetStats())
			if err != nil || v < acked || v > acked+unknown {
				t.Errorf("counter %d (%v): want between the %d acknowledged and %d with the %d unknown", v, err, acked, acked+unknown, unknown)
			}
			for _, e := range added {
				if !slices.Contains(d["set"].Elems, e) {
					t.Errorf("acknowledged add %s is missing from %v", e, d["set"].Elems)
				}
			}
			for _, id := range c.ids {
				if q := c.queue(id); q != 0 {
					t.Errorf("%s still queues %d", id, q)
				}
			}
		})
	}
}

// Lags in /admin/stats: with 10 ms on every link, a ring's second hop shows about twice the
// end-to-end lag of the first, and a queue-to-ack lag covers a request and its answer.
func TestSimMLLags(t *testing.T) {
	c := newMLCluster(t, simSeed(13), mlTestConfig(3, ConflictLWW, TopologyRing))
	var slow []sim.LinkFault
	for _, a := range c.ids {
		for _, b := range c.ids {
			if a != b {
				slow = append(slow, sim.LinkFault{From: a, To: b, Delay: 10 * time.Millisecond})
			}
		}
	}
	if err := c.w.SetLinks(slow); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "put", c.put("n1", "x", "v", Quorums{}))
	c.run(time.Second)
	e2e := func(node string) MLE2EStats { return c.mlStats(node)["ml_e2e"].(map[string]MLE2EStats)["n1"] }
	one, two := e2e("n2"), e2e("n3")
	if one.Samples != 1 || two.Samples != 1 {
		t.Fatalf("e2e samples of n1's write: n2 %d, n3 %d, want 1 and 1", one.Samples, two.Samples)
	}
	if one.LastMS < 10 || one.LastMS >= 20 || two.LastMS < 20 || two.LastMS >= 40 {
		t.Errorf("e2e lags: one hop %.2f ms, two hops %.2f ms; want 10..20 and 20..40", one.LastMS, two.LastMS)
	}
	hop := c.mlStats("n1")["ml_peers"].(map[string]MLPeerStats)["n2"]
	if hop.Delivered != 1 || hop.LastLagMS < 20 || hop.LagP99MS != hop.LastLagMS {
		t.Errorf("n1's queue to n2: %+v, want 1 delivered with a lag of at least 20 ms", hop)
	}
	if got := c.mlStats("n1")["ml_lag_p99_ms"].(float64); got != hop.LagP99MS {
		t.Errorf("ml_lag_p99_ms = %v, want n2's %v", got, hop.LagP99MS)
	}
}

// With fsync never a crash takes back an acknowledged write and its outbox entries: nothing
// was durable. (Had the write been sent, it would have been synced first, so no peer holds a
// write its origin lost: TestSimMLFsyncNeverCrashesConverge.)
func TestSimMLFsyncNeverCrashLosesAckedWrite(t *testing.T) {
	cfg := mlTestConfig(2, ConflictLWW, TopologyAll)
	cfg.Fsync = "never"
	c := newMLCluster(t, simSeed(14), cfg)
	c.isolate("n1")
	mustOK(t, "put", c.put("n1", "x", "a", Quorums{}))
	if err := c.w.Crash("n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.w.Restart("n1"); err != nil {
		t.Fatal(err)
	}
	c.heal()
	c.run(3 * time.Second)
	if d := c.dump("n1"); len(d) != 0 {
		t.Errorf("n1 holds %v after the crash, want nothing", d)
	}
	if d := c.dump("n2"); len(d) != 0 {
		t.Errorf("n2 holds %v, want nothing: the outbox entry was lost too", d)
	}
}

// An outbox longer than the in-memory mirror is read back from the disk, in batches within
// the body budget, and mirrored again once empty.
func TestSimMLLongOutbox(t *testing.T) {
	cfg := mlTestConfig(2, ConflictCRDT, TopologyAll)
	cfg.MaxBodyBytes = 4096 // a budget of 64 KiB: about 400 entries a request
	c := newMLCluster(t, simSeed(15), cfg)
	c.isolate("n2")
	const n = mlCacheMax + 100
	for i := 0; i < n; i++ {
		mustOK(t, "add", c.write("n1", "set", addElem("e"+strconv.Itoa(i)), Quorums{}))
	}
	out := c.w.Node("n1").Program().(*simProgram).core.(*mlCore).peers["n2"]
	if out.queued != n || out.cached {
		t.Fatalf("outbox: %d queued, mirrored %v; want %d, not mirrored", out.queued, out.cached, n)
	}
	c.heal()
	c.run(3 * time.Second)
	if d := c.converged(); len(d["set"].Elems) != n {
		t.Fatalf("n2 holds %d elements, want %d", len(d["set"].Elems), n)
	}
	if out.queued != 0 || !out.cached {
		t.Errorf("outbox after delivery: %d queued, mirrored %v; want 0, mirrored", out.queued, out.cached)
	}
	if b := c.stat("n1", "ml_batches"); b < 3 {
		t.Errorf("%d entries went in %d batches, want at least 3 (the budget)", n, b)
	}
	mustOK(t, "add after", c.write("n1", "set", addElem("last"), Quorums{}))
	c.run(time.Second)
	if d := c.converged(); len(d["set"].Elems) != n+1 {
		t.Errorf("after one more add n2 holds %d elements, want %d", len(d["set"].Elems), n+1)
	}
}

// With fsync never, crashes lose the writes a node had not synced, but the cluster converges
// again: a node syncs what it sends and what it acknowledges to a peer, so no peer holds a
// write its origin can lose (and reuse the sequence number of), and no origin drops an entry
// a peer can still lose. 24 seeds, every topology, lww registers and CRDT sets, torn crashes.
func TestSimMLFsyncNeverCrashesConverge(t *testing.T) {
	for seed := uint64(1); seed <= 24; seed++ {
		topo := []string{TopologyAll, TopologyRing, TopologyStar}[seed%3]
		t.Run(fmt.Sprintf("seed%d-%s", seed, topo), func(t *testing.T) {
			s := simSeed(seed)
			s.Disk.Torn = seed%2 == 0
			cfg := mlTestConfig(4, ConflictCRDT, topo)
			cfg.Fsync = "never"
			cfg.RequestTimeout = 300 * time.Millisecond
			c := newMLCluster(t, s, cfg)
			rng := c.w.Rand("faults")
			crashes := 0
			for i := 0; i < 80; i++ {
				node := c.ids[rng.IntN(len(c.ids))]
				switch x := rng.IntN(10); {
				case x == 0: // a crash while writes are in flight
					c.send(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "set", Op: addElem("c" + strconv.Itoa(i))}
					})
					c.run(time.Duration(rng.IntN(5000)) * time.Microsecond)
					if err := c.w.Crash(node); err != nil {
						t.Fatal(err)
					}
					if err := c.w.Restart(node); err != nil {
						t.Fatal(err)
					}
					crashes++
				default:
					elem := "e" + strconv.Itoa(i)
					c.try(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "set", Op: addElem(elem)}
					})
					c.try(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "cnt", Op: incr(1)}
					})
				}
				c.run(time.Duration(rng.IntN(5)) * time.Millisecond)
			}
			c.run(10 * time.Second)
			d := c.converged()
			t.Logf("%d crashes; %d elements; duplicates dropped %d", crashes, len(d["set"].Elems), c.statSum("ml_duplicate"))
			for _, id := range c.ids {
				if q := c.queue(id); q != 0 {
					t.Errorf("%s still queues %d", id, q)
				}
			}
		})
	}
}

// A queue's lag is measured on the node's monotonic clock: a clock step while an entry waits
// (a clock fault) does not show in it, nor in the age of the oldest entry.
func TestSimMLQueueLagIgnoresClockSteps(t *testing.T) {
	c := newMLCluster(t, simSeed(16), mlTestConfig(2, ConflictLWW, TopologyAll))
	c.isolate("n2")
	mustOK(t, "put", c.put("n1", "x", "v", Quorums{}))
	c.run(100 * time.Millisecond)
	if err := c.w.SetClock("n1", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	c.run(100 * time.Millisecond)
	age := c.mlStats("n1")["ml_peers"].(map[string]MLPeerStats)["n2"].OldestAgeMS
	if age < 200 || age > 10_000 {
		t.Errorf("oldest entry's age %.1f ms after 200 ms and a clock step of 1 h; want about 200", age)
	}
	c.heal()
	c.run(3 * time.Second)
	hop := c.mlStats("n1")["ml_peers"].(map[string]MLPeerStats)["n2"]
	if hop.Delivered != 1 || hop.LastLagMS < 200 || hop.LastLagMS > 10_000 {
		t.Errorf("n1's queue to n2: %+v; want 1 delivered with a lag of 200 ms to a few s, not the clock step", hop)
	}
}
