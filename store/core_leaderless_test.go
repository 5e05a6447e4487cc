package store

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/sim"
	"github.com/rs/zerolog"
)

// Deterministic tests of the leaderless core's decisions: a cluster of cores in the simulator
// (SimBoot), driven by a client node, in virtual time. No test here sleeps or reads a clock.

// simCluster is a simulated cluster plus one client node ("c").
type simCluster struct {
	t      *testing.T
	w      *sim.World
	cfg    Config
	ids    []string
	events []Event
	cl     *simClient
}

type simClient struct {
	env     *sim.Env
	next    uint64
	replies map[uint64]SimReply
}

func (c *simClient) Receive(m sim.Message) {
	if r, ok := m.Body.(SimReply); ok {
		c.replies[r.ID] = r
	}
}

// llTestConfig is a leaderless cluster config of n nodes for the simulator: no anti-entropy,
// no read repair, hinted handoff on (tests turn on what they test).
func llTestConfig(n int) Config {
	cfg := DefaultConfig()
	cfg.Peers = map[string]string{}
	for i := 1; i <= n; i++ {
		cfg.Peers["n"+strconv.Itoa(i)] = "" // the simulator needs no address
	}
	cfg.AntiEntropy = 0
	cfg.ReadRepair = false
	return cfg
}

func newSimCluster(t *testing.T, seed uint64, cfg Config) *simCluster {
	t.Helper()
	scfg := sim.DefaultConfig()
	scfg.Seed = seed
	return newSimClusterOn(t, scfg, cfg)
}

func newSimClusterOn(t *testing.T, scfg sim.Config, cfg Config) *simCluster {
	t.Helper()
	w, err := sim.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := SimCheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	c := &simCluster{t: t, w: w, cfg: cfg, ids: cfg.NodeIDs()}
	boot := SimBoot(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), func(e Event) { c.events = append(c.events, e) })
	for _, id := range c.ids {
		if _, err := w.AddNode(id, boot); err != nil {
			t.Fatal(err)
		}
	}
	c.cl = &simClient{replies: map[uint64]SimReply{}}
	if _, err := w.AddNode("c", func(env *sim.Env) sim.Program { c.cl.env = env; return c.cl }); err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends a client request to node and runs the world until its reply (at most 10 virtual
// seconds).
func (c *simCluster) do(node, kind string, body func(id uint64) any) SimReply {
	c.t.Helper()
	r, ok := c.try(node, kind, body)
	if !ok {
		c.t.Fatalf("%s to %s: no reply within 10s of virtual time", kind, node)
	}
	return r
}

// try is do for a network that may lose the request or the reply: ok is false when no reply
// came within 10 virtual seconds (the client's timeout: the operation is indeterminate).
func (c *simCluster) try(node, kind string, body func(id uint64) any) (SimReply, bool) {
	c.cl.next++
	id := c.cl.next
	c.cl.env.Send(node, kind, body(id))
	end := c.w.Now() + 10*time.Second
	for c.w.Now() < end {
		if r, ok := c.cl.replies[id]; ok {
			return r, true
		}
		if !c.w.Step() {
			break
		}
	}
	return SimReply{}, false
}

// send sends a client request without waiting; the reply lands in c.cl.replies[id].
func (c *simCluster) send(node, kind string, body func(id uint64) any) uint64 {
	c.cl.next++
	c.cl.env.Send(node, kind, body(c.cl.next))
	return c.cl.next
}

func (c *simCluster) put(node, key, value string, q Quorums) SimReply {
	c.t.Helper()
	return c.do(node, SimKindWrite, func(id uint64) any {
		return SimWrite{ID: id, Key: key, Op: WriteOp{Kind: KindRegister, Value: value}, Q: q}
	})
}

func (c *simCluster) get(node, key string, q Quorums) SimReply {
	c.t.Helper()
	return c.do(node, SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: key, Kind: KindRegister, Q: q} })
}

func (c *simCluster) run(d time.Duration) { c.w.Run(c.w.Now() + d) }

// isolate cuts node off from every other store node, both ways (the client still reaches it).
func (c *simCluster) isolate(nodes ...string) {
	c.t.Helper()
	g := map[string][]string{}
	for _, x := range nodes {
		for _, y := range c.ids {
			if !slices.Contains(nodes, y) {
				g[x] = append(g[x], y)
				g[y] = append(g[y], x)
			}
		}
	}
	if err := c.w.Partition(g); err != nil {
		c.t.Fatal(err)
	}
}

func (c *simCluster) heal() { c.w.Heal() }

func (c *simCluster) stat(node, name string) int64 { return SimStats(c.w.Node(node))[name] }

func (c *simCluster) statSum(name string) int64 {
	var s int64
	for _, id := range c.ids {
		s += c.stat(id, name)
	}
	return s
}

func (c *simCluster) dump(node string) map[string]Record {
	c.t.Helper()
	d, err := SimDump(c.w.Node(node))
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

func (c *simCluster) eventCount(kind string) int {
	n := 0
	for _, e := range c.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func value(r SimReply) string {
	if r.Err != nil || len(r.Record.Sibs) == 0 {
		return ""
	}
	return r.Record.Values()[0]
}

func mustOK(t *testing.T, what string, r SimReply) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s: got error %d %s: %s, want ok", what, r.Err.Status, r.Err.Outcome, r.Err.Msg)
	}
}

// keyWith finds a key whose ring walk satisfies ok.
func keyWith(t *testing.T, cfg Config, ok func(key string, walk []string) bool) string {
	t.Helper()
	ring := NewRing(cfg.NodeIDs(), cfg.VNodes)
	for i := 0; i < 10000; i++ {
		k := "k" + strconv.Itoa(i)
		if ok(k, ring.Walk(k)) {
			return k
		}
	}
	t.Fatal("no key found")
	return ""
}

func TestSimLWWW1R1StaleReadUnderPartition(t *testing.T) {
	cfg := llTestConfig(3)
	cfg.W, cfg.R = 1, 1
	c := newSimCluster(t, 1, cfg)
	mustOK(t, "put v1", c.put("n2", "x", "v1", Quorums{}))
	c.run(time.Second) // every replica has v1
	c.isolate("n1")
	mustOK(t, "put v2 (w=1, n1 cut off)", c.put("n2", "x", "v2", Quorums{}))
	r := c.get("n1", "x", Quorums{})
	mustOK(t, "get at n1", r)
	if got := value(r); got != "v1" {
		t.Fatalf("r=1 read at the cut-off replica: got %q, want the stale v1 (v2 was acknowledged)", got)
	}
}

func TestSimFsyncNeverCrashLosesAckedWrite(t *testing.T) {
	for _, tc := range []struct {
		fsync string
		want  string
	}{{"always", "v1"}, {"never", ""}} {
		t.Run(tc.fsync, func(t *testing.T) {
			cfg := llTestConfig(3)
			cfg.Fsync = tc.fsync
			c := newSimCluster(t, 2, cfg)
			mustOK(t, "put w=3", c.put("n1", "x", "v1", Quorums{W: 3}))
			for _, id := range c.ids {
				if err := c.w.Crash(id); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range c.ids {
				if err := c.w.Restart(id); err != nil {
					t.Fatal(err)
				}
			}
			if v, _, _ := c.w.Node("n1").Disk().Get(string(bucketMeta), "layout"); string(v) != cfg.DataLayout() {
				t.Errorf("layout after the crash: got %q, want %q (recorded at the first start)", v, cfg.DataLayout())
			}
			r := c.get("n1", "x", Quorums{R: 3})
			mustOK(t, "get r=3 after the crash", r)
			if got := value(r); got != tc.want {
				t.Fatalf("fsync %s, acked w=3 write, every node crashed: read %q, want %q", tc.fsync, got, tc.want)
			}
		})
	}
}

func TestSimHintStoredAndDeliveredAfterHeal(t *testing.T) {
	cfg := llTestConfig(4)
	// n1 coordinates, n4 replicates the key and is cut off; the fallback takes the hint.
	key := keyWith(t, cfg, func(_ string, w []string) bool { return slices.Contains(w[:3], "n1") && slices.Contains(w[:3], "n4") })
	c := newSimCluster(t, 3, cfg)
	c.isolate("n4")
	mustOK(t, "put w=2 with a replica cut off", c.put("n1", key, "v1", Quorums{W: 2}))
	c.run(time.Second)
	if got := c.statSum("hint_stored"); got != 1 {
		t.Fatalf("hint_stored over the cluster: got %d, want 1", got)
	}
	var holder string
	for _, id := range c.ids {
		hs, err := SimHints(c.w.Node(id))
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(hs, []string{key + ">n4"}) {
			holder = id
		}
	}
	if holder == "" || holder == "n4" {
		t.Fatalf("no node but the target holds the hint %s>n4 on its disk (holder %q)", key, holder)
	}
	if _, ok := c.dump("n4")[key]; ok {
		t.Fatal("n4 has the key while cut off")
	}
	c.heal()
	c.run(3 * time.Second)
	if got := c.stat(holder, "hint_delivered"); got != 1 {
		t.Errorf("hint_delivered on %s: got %d, want 1", holder, got)
	}
	if hs, _ := SimHints(c.w.Node(holder)); len(hs) != 0 {
		t.Errorf("hints left on %s after delivery: %v", holder, hs)
	}
	if got := c.dump("n4")[key]; len(got.Sibs) != 1 || got.Sibs[0].Value != "v1" {
		t.Errorf("n4's replica after the hint: got %+v, want v1", got)
	}
	if c.eventCount("hint_stored") != 1 || c.eventCount("hint_delivered") != 1 {
		t.Errorf("events: %d hint_stored, %d hint_delivered, want 1 and 1", c.eventCount("hint_stored"), c.eventCount("hint_delivered"))
	}
}

func TestSimRefusedHintGoesDeadAndTheRoundGoesOn(t *testing.T) {
	cfg := llTestConfig(4)
	ring := NewRing(cfg.NodeIDs(), cfg.VNodes)
	isKey := func(_ string, w []string) bool { return slices.Contains(w[:3], "n1") && slices.Contains(w[:3], "n4") }
	k1 := keyWith(t, cfg, isKey)
	fb := ring.Walk(k1)[3] // the fallback that takes both hints for n4
	// A second key with the same fallback, offered after k1 (hints go in key order).
	k2 := keyWith(t, cfg, func(k string, w []string) bool { return isKey(k, w) && w[3] == fb && k > k1 })
	c := newSimCluster(t, 7, cfg)
	c.isolate("n4")
	mustOK(t, "put "+k1, c.put("n1", k1, "v1", Quorums{W: 2}))
	mustOK(t, "put "+k2, c.put("n1", k2, "v2", Quorums{W: 2}))
	// n4, cut off, takes a counter under k1: the register hint for it will be refused (409).
	mustOK(t, "incr at n4", c.do("n4", SimKindWrite, func(id uint64) any {
		return SimWrite{ID: id, Key: k1, Op: WriteOp{Kind: KindCounter, Delta: 1}, Q: Quorums{W: 1}}
	}))
	c.run(time.Second) // the direct writes to n4 time out; the hints are placed
	hs, _ := SimHints(c.w.Node(fb))
	if !slices.Equal(hs, []string{k1 + ">n4", k2 + ">n4"}) {
		t.Fatalf("hints on the fallback %s: got %v, want both for n4", fb, hs)
	}
	c.heal()
	c.run(time.Second)
	if got := c.stat(fb, "hint_refused"); got != 1 {
		t.Errorf("hint_refused on %s: got %d, want 1", fb, got)
	}
	if got := c.stat(fb, "hint_delivered"); got != 1 {
		t.Errorf("hint_delivered on %s: got %d, want 1 (the round goes on past the refused hint)", fb, got)
	}
	if got := c.dump("n4")[k2]; got.Kind != KindRegister || got.Values()[0] != "v2" {
		t.Errorf("n4's %s: got %+v, want v2", k2, got)
	}
	var dead []string
	_ = c.w.Node(fb).Disk().Iterate(string(bucketDeadHints), "", func(k string, _ []byte) bool {
		dead = append(dead, k[:len(k)-8])
		return true
	})
	if !slices.Equal(dead, []string{k1 + "\x00n4\x00"}) {
		t.Errorf("dead hints on %s: got %q, want the one for %s", fb, dead, k1)
	}
	if hs, _ := SimHints(c.w.Node(fb)); len(hs) != 0 {
		t.Errorf("pending hints left on %s: %v", fb, hs)
	}
	if c.eventCount("hint_dead") < 1 {
		t.Error("no hint_dead event")
	}
}

func TestSimReadRepairFixesStaleReplica(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			cfg := llTestConfig(3)
			cfg.HintedHandoff = false
			cfg.ReadRepair, cfg.ReadRepairSync = true, sync
			c := newSimCluster(t, 4, cfg)
			c.isolate("n3")
			mustOK(t, "put w=2", c.put("n1", "x", "v1", Quorums{W: 2}))
			c.heal()
			if _, ok := c.dump("n3")["x"]; ok {
				t.Fatal("n3 has x before the repair")
			}
			r := c.get("n1", "x", Quorums{R: 3})
			mustOK(t, "get r=3", r)
			if !sync {
				c.run(time.Second) // the repair runs after the answer
			}
			if got := c.dump("n3")["x"]; len(got.Sibs) != 1 || got.Sibs[0].Value != "v1" {
				t.Fatalf("n3 after the read repair: got %+v, want v1", got)
			}
			wantSync := int64(0)
			if sync {
				wantSync = 1
			}
			if c.stat("n1", "read_repair") != 1 || c.stat("n1", "read_repair_sync") != wantSync || c.eventCount("read_repair") != 1 {
				t.Errorf("read_repair %d, read_repair_sync %d, events %d; want 1, %d, 1",
					c.stat("n1", "read_repair"), c.stat("n1", "read_repair_sync"), c.eventCount("read_repair"), wantSync)
			}
		})
	}
}

func TestSimAntiEntropyConverges(t *testing.T) {
	cfg := llTestConfig(3)
	cfg.HintedHandoff = false
	cfg.AntiEntropy = 500 * time.Millisecond
	c := newSimCluster(t, 5, cfg)
	c.isolate("n3")
	for i := 0; i < 20; i++ {
		mustOK(t, "put", c.put("n1", fmt.Sprintf("key%d", i), "v", Quorums{W: 2}))
	}
	if got := len(c.dump("n3")); got != 0 {
		t.Fatalf("n3 holds %d keys while cut off", got)
	}
	c.heal()
	c.run(5 * time.Second)
	want := c.dump("n1")
	for _, id := range c.ids {
		got := c.dump(id)
		if len(got) != 20 {
			t.Errorf("%s holds %d keys, want 20", id, len(got))
		}
		for k, r := range want {
			if !got[k].Equal(r) {
				t.Errorf("%s: key %s differs from n1's", id, k)
			}
		}
	}
	if c.stat("n3", "ae_keys_repaired") == 0 && c.stat("n1", "ae_keys_repaired")+c.stat("n2", "ae_keys_repaired") == 0 {
		t.Error("ae_keys_repaired is 0 everywhere")
	}
	if c.eventCount("ae_transfer") < 20 {
		t.Errorf("ae_transfer events: %d, want >= 20", c.eventCount("ae_transfer"))
	}
}

func TestSimSloppyQuorumAcksViaFallback(t *testing.T) {
	for _, sloppy := range []bool{true, false} {
		t.Run(fmt.Sprintf("sloppy=%v", sloppy), func(t *testing.T) {
			cfg := llTestConfig(4)
			cfg.SloppyQuorum = sloppy
			key := keyWith(t, cfg, func(_ string, w []string) bool { return slices.Contains(w[:3], "n1") && slices.Contains(w[:3], "n4") })
			c := newSimCluster(t, 6, cfg)
			c.isolate("n4")
			r := c.put("n1", key, "v1", Quorums{W: 3})
			if sloppy {
				mustOK(t, "put w=3 with a replica cut off, sloppy", r)
				if got := c.stat("n1", "hint_sloppy_ack"); got != 1 {
					t.Errorf("hint_sloppy_ack: got %d, want 1", got)
				}
				return
			}
			if r.Err == nil || r.Err.Outcome != client.OutcomeIndeterminate {
				t.Fatalf("put w=3 with a replica cut off, strict quorum: got %+v, want indeterminate", r.Err)
			}
		})
	}
}

// TestSimABDLinearizableUnderFaults: one client, writes of increasing values and reads at
// random nodes, under random partitions and crashes: abd W=2 R=2 never lets a read go back
// behind an acknowledged write or an earlier read.
func TestSimABDLinearizableUnderFaults(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		// Even seeds also lose, duplicate and reorder messages.
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := llTestConfig(3)
			cfg.Consistency = ABD
			cfg.W, cfg.R = 2, 2
			cfg.AntiEntropy = time.Second
			scfg := sim.DefaultConfig()
			scfg.Seed = seed
			if seed%2 == 0 {
				scfg.Net.Loss, scfg.Net.Duplicate, scfg.Net.Reorder = 0.05, 0.1, true
			}
			c := newSimClusterOn(t, scfg, cfg)
			rng := c.w.Rand("test")
			floor := 0 // the highest value acknowledged or read so far
			reads := 0
			for i := 1; i <= 60; i++ {
				switch rng.IntN(5) {
				case 0:
					c.isolate(c.ids[rng.IntN(3)])
				case 1:
					id := c.ids[rng.IntN(3)]
					_ = c.w.Crash(id)
					c.run(100 * time.Millisecond)
					_ = c.w.Restart(id)
				case 2:
					c.heal()
				}
				node := c.ids[rng.IntN(3)]
				if rng.IntN(2) == 0 {
					r, ok := c.try(node, SimKindWrite, func(id uint64) any {
						return SimWrite{ID: id, Key: "x", Op: WriteOp{Kind: KindRegister, Value: strconv.Itoa(i)}}
					})
					if ok && r.Err == nil {
						floor = max(floor, i)
					}
					continue
				}
				r, ok := c.try(node, SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "x", Kind: KindRegister} })
				if !ok || r.Err != nil {
					continue
				}
				reads++
				got := 0
				if v := value(r); v != "" {
					got, _ = strconv.Atoi(v)
				}
				if got < floor {
					t.Fatalf("op %d: read at %s returned %d, behind %d (acknowledged or read before)", i, node, got, floor)
				}
				floor = got
			}
			if reads < 10 {
				t.Errorf("only %d successful reads", reads)
			}
		})
	}
}

// TestSimSameSeedSameTrace: a scenario with every mechanism on (hints, anti-entropy, read
// repair, crashes, partitions) gives the same trace hash from the same seed, for each
// consistency; Go's random map order differs between the runs, so map-order dependence shows.
func TestSimSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64, cons string) string {
		cfg := llTestConfig(4)
		cfg.Consistency = cons
		cfg.AntiEntropy = 300 * time.Millisecond
		cfg.ReadRepair = true
		c := newSimCluster(t, seed, cfg)
		for i := 0; i < 12; i++ {
			switch i {
			case 3:
				c.isolate("n2")
			case 6:
				_ = c.w.Crash("n3")
			case 8:
				c.heal()
				_ = c.w.Restart("n3")
			}
			// Requests to a crashed node get no reply: send them all, then let 2s pass.
			c.send(c.ids[i%4], SimKindWrite, func(id uint64) any {
				return SimWrite{ID: id, Key: fmt.Sprintf("k%d", i%3), Op: WriteOp{Kind: KindRegister, Value: strconv.Itoa(i)}}
			})
			c.send(c.ids[(i+2)%4], SimKindWrite, func(id uint64) any {
				return SimWrite{ID: id, Key: "cnt", Op: WriteOp{Kind: KindCounter, Delta: int64(i)}}
			})
			c.send(c.ids[(i+1)%4], SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: fmt.Sprintf("k%d", i%3), Kind: KindRegister} })
			c.run(2 * time.Second)
		}
		if len(c.cl.replies) < 30 {
			t.Fatalf("%d replies of 36 requests", len(c.cl.replies))
		}
		c.run(2 * time.Second)
		return c.w.Trace().Sum()
	}
	for _, cons := range []string{LWW, VClock, ABD} {
		a := run(7, cons)
		for k := 0; k < 2; k++ {
			if b := run(7, cons); a != b {
				t.Fatalf("%s: same seed, different traces: %s vs %s", cons, a, b)
			}
		}
		if run(8, cons) == a {
			t.Errorf("%s: seeds 7 and 8 gave the same trace", cons)
		}
	}
}

// TestSimReadWaitsForPersist: a read of a key whose write is not yet durable (a slow sync)
// answers only once it is, so a crash cannot take back what a client saw.
func TestSimReadWaitsForPersist(t *testing.T) {
	scfg := sim.DefaultConfig()
	scfg.Disk.SyncLatency = 200 * time.Millisecond
	cfg := llTestConfig(3)
	cfg.W, cfg.R = 1, 1
	c := newSimClusterOn(t, scfg, cfg)
	// A first write reserves n1's block of sequence numbers (itself a synced write).
	mustOK(t, "warm-up put", c.put("n1", "y", "v0", Quorums{}))
	wid := c.send("n1", SimKindWrite, func(id uint64) any {
		return SimWrite{ID: id, Key: "x", Op: WriteOp{Kind: KindRegister, Value: "v1"}}
	})
	c.run(10 * time.Millisecond)
	rid := c.send("n1", SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "x", Kind: KindRegister} })
	c.run(100 * time.Millisecond)
	if r, ok := c.cl.replies[rid]; ok {
		t.Fatalf("read answered %q (%+v) at %s, before any replica's write of x was durable", value(r), r.Err, c.w.Now())
	}
	if _, ok := c.cl.replies[wid]; ok {
		t.Fatal("write acknowledged before it was durable anywhere")
	}
	c.run(300 * time.Millisecond)
	mustOK(t, "write", c.cl.replies[wid])
	if r := c.cl.replies[rid]; value(r) != "v1" {
		t.Fatalf("read after the sync: got %+v, want v1", r)
	}
}

func TestSimLWWDiscardExplained(t *testing.T) {
	cfg := llTestConfig(3)
	c := newSimCluster(t, 9, cfg)
	if err := c.w.SetClock("n1", -10*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "put v1 at n2", c.put("n2", "x", "v1", Quorums{W: 3}))
	mustOK(t, "put v2 at n1 (clock 10s behind)", c.put("n1", "x", "v2", Quorums{W: 3}))
	r := c.get("n3", "x", Quorums{R: 3})
	if got := value(r); got != "v1" {
		t.Fatalf("read: got %q, want v1 (v2's timestamp is older)", got)
	}
	var ev *Event
	for i := range c.events {
		if c.events[i].Kind == "lww_discard" {
			ev = &c.events[i]
			break
		}
	}
	if ev == nil {
		t.Fatal("no lww_discard event")
	}
	if ev.Key != "x" || ev.Peer != "n1" || !strings.Contains(ev.Why, "made by n1") || !strings.Contains(ev.Why, "made by n2") || !strings.Contains(ev.Why, "by 9.99") {
		t.Errorf("lww_discard: got %+v, want key x, the loser n1, both versions and their 10s gap", *ev)
	}
	if ev.Time == 0 || ev.Node == "" {
		t.Errorf("lww_discard: Node %q Time %s not filled in", ev.Node, ev.Time)
	}
}

func TestSimVClockSiblingsAndForwarding(t *testing.T) {
	cfg := llTestConfig(4)
	cfg.Consistency = VClock
	key := keyWith(t, cfg, func(_ string, w []string) bool { return w[3] == "n4" })
	pref := NewRing(cfg.NodeIDs(), cfg.VNodes).PrefList(key, 3)
	c := newSimCluster(t, 10, cfg)
	mustOK(t, "put a", c.put(pref[0], key, "a", Quorums{W: 1}))
	mustOK(t, "put b, no context", c.put(pref[1], key, "b", Quorums{W: 1}))
	c.run(time.Second)
	r := c.get(pref[2], key, Quorums{R: 3})
	mustOK(t, "get", r)
	if got := r.Record.Values(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("concurrent writes: got %v, want siblings [a b]", got)
	}
	if c.eventCount("siblings") == 0 {
		t.Error("no siblings event")
	}
	// A write with the read's context, through n4 (not a replica): forwarded, supersedes both.
	mustOK(t, "put c via n4", c.do("n4", SimKindWrite, func(id uint64) any {
		return SimWrite{ID: id, Key: key, Op: WriteOp{Kind: KindRegister, Value: "c", Causal: r.Record.Context()}, Q: Quorums{W: 2}}
	}))
	if got := c.stat("n4", "vclock_forward"); got != 1 {
		t.Errorf("vclock_forward on n4: got %d, want 1", got)
	}
	if got := c.get(pref[0], key, Quorums{R: 3}).Record.Values(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after the write with the context: got %v, want [c]", got)
	}
}

func TestSimCounter(t *testing.T) {
	cfg := llTestConfig(3)
	c := newSimCluster(t, 11, cfg)
	incr := func(node string, d int64) SimReply {
		return c.do(node, SimKindWrite, func(id uint64) any {
			return SimWrite{ID: id, Key: "cnt", Op: WriteOp{Kind: KindCounter, Delta: d}}
		})
	}
	for i, node := range []string{"n1", "n2", "n3", "n1"} {
		mustOK(t, "incr "+strconv.Itoa(i), incr(node, 5))
	}
	mustOK(t, "decr", incr("n2", -3))
	r := c.do("n3", SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "cnt", Kind: KindCounter, Q: Quorums{R: 3}} })
	mustOK(t, "read", r)
	if v, err := r.Record.CounterValue(); err != nil || v != 17 {
		t.Fatalf("counter: got %d (%v), want 17", v, err)
	}
	if r := incr("n1", math.MaxInt64); r.Err == nil || r.Err.Status != 400 {
		t.Fatalf("an increment past int64: got %+v, want a 400", r.Err)
	}
	if r := c.get("n1", "cnt", Quorums{}); r.Err == nil || r.Err.Status != 409 {
		t.Fatalf("a counter read as a register: got %+v, want a 409", r.Err)
	}
}

// TestSimReadRepairLateAnswers: an r=1 read answers with the coordinator's own replica; the
// stale replica's answer comes later and is repaired in the background.
func TestSimReadRepairLateAnswers(t *testing.T) {
	cfg := llTestConfig(3)
	cfg.HintedHandoff = false
	cfg.ReadRepair = true // asynchronous
	c := newSimCluster(t, 12, cfg)
	c.isolate("n3")
	mustOK(t, "put w=2", c.put("n1", "x", "v1", Quorums{W: 2}))
	c.heal()
	r := c.get("n1", "x", Quorums{R: 1})
	if value(r) != "v1" {
		t.Fatalf("r=1 read at n1: got %+v, want v1", r)
	}
	if _, ok := c.dump("n3")["x"]; ok {
		t.Fatal("n3 repaired before the read answered: the repair of a late answer is not late")
	}
	c.run(time.Second)
	if got := c.dump("n3")["x"]; len(got.Sibs) != 1 || got.Sibs[0].Value != "v1" {
		t.Fatalf("n3 after the late repair: got %+v, want v1", got)
	}
	if got := c.stat("n1", "read_repair"); got != 1 {
		t.Errorf("read_repair on n1: got %d, want 1", got)
	}
}

func TestSimCheckConfig(t *testing.T) {
	good := llTestConfig(3)
	if err := SimCheckConfig(good); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no nodes", func(c *Config) { c.Peers = nil }, "Peers is empty"},
		{"bad consistency", func(c *Config) { c.Consistency = "eventual" }, `Consistency "eventual"`},
		{"w above n", func(c *Config) { c.W = 4 }, "W (4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := llTestConfig(3)
			tc.mod(&cfg)
			err := SimCheckConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// countingClient counts the replies to each request id.
type countingClient struct {
	env     *sim.Env
	replies map[uint64]int
}

func (c *countingClient) Receive(m sim.Message) {
	if r, ok := m.Body.(SimReply); ok {
		c.replies[r.ID]++
	}
}

// TestSimMixedFaultsExactlyOnceAndConverge: registers, counters and sets written and read at
// random nodes under partitions, crashes, pauses and clock jumps. Every request to a node that
// stays up gets exactly one reply, and once healed, anti-entropy and hints make every key's
// replicas equal.
func TestSimMixedFaultsExactlyOnceAndConverge(t *testing.T) {
	for _, cons := range []string{LWW, VClock, ABD} {
		t.Run(cons, func(t *testing.T) {
			cfg := llTestConfig(5)
			cfg.Consistency = cons
			cfg.AntiEntropy = 200 * time.Millisecond
			cfg.ReadRepair = true
			scfg := sim.DefaultConfig()
			scfg.Seed = 21
			w, err := sim.New(scfg)
			if err != nil {
				t.Fatal(err)
			}
			boot := SimBoot(cfg, zerolog.Nop(), nil)
			ids := cfg.NodeIDs()
			for _, id := range ids {
				if _, err := w.AddNode(id, boot); err != nil {
					t.Fatal(err)
				}
			}
			cl := &countingClient{replies: map[uint64]int{}}
			if _, err := w.AddNode("c", func(env *sim.Env) sim.Program { cl.env = env; return cl }); err != nil {
				t.Fatal(err)
			}
			rng := w.Rand("test")
			var id uint64
			sentTo := map[uint64]string{}
			// A request to a node that is not up when it is sent, or that crashes or pauses within
			// 3s after (an abd operation takes at most two request timeouts), may get no reply.
			type fault struct {
				node string
				at   time.Duration
			}
			var faults []fault
			exempt := map[uint64]bool{}
			sentAt := map[uint64]time.Duration{}
			for step := 0; step < 300; step++ {
				switch rng.IntN(150) {
				case 0:
					x := ids[rng.IntN(5)]
					_ = w.Partition(map[string][]string{x: without(ids, x)})
				case 1:
					x := ids[rng.IntN(5)]
					faults = append(faults, fault{x, w.Now()})
					_ = w.Crash(x)
					w.At(w.Now()+300*time.Millisecond, "restart", func() { _ = w.Restart(x) })
				case 2:
					x := ids[rng.IntN(5)]
					faults = append(faults, fault{x, w.Now()})
					_ = w.Pause(x)
				case 3:
					_ = w.SetClock(ids[rng.IntN(5)], time.Duration(rng.IntN(20)-10)*time.Second, 0)
				case 4, 5, 6, 7, 8, 9:
					w.Heal()
				}
				id++
				node := ids[rng.IntN(5)]
				sentTo[id] = node
				if w.Node(node).State() != sim.Up {
					exempt[id] = true
				}
				sentAt[id] = w.Now()
				key := "k" + strconv.Itoa(rng.IntN(6))
				var body any
				switch rng.IntN(4) {
				case 0:
					body = SimRead{ID: id, Key: key, Kind: KindRegister}
				case 1:
					body = SimWrite{ID: id, Key: "c" + key, Op: WriteOp{Kind: KindCounter, Delta: int64(rng.IntN(9) - 4)}}
				case 2:
					body = SimWrite{ID: id, Key: "s" + key, Op: WriteOp{Kind: KindSet, Elem: strconv.Itoa(step)}}
				default:
					body = SimWrite{ID: id, Key: key, Op: WriteOp{Kind: KindRegister, Value: strconv.Itoa(step)}}
				}
				kind := SimKindWrite
				if _, ok := body.(SimRead); ok {
					kind = SimKindRead
				}
				cl.env.Send(node, kind, body)
				w.Run(w.Now() + time.Duration(rng.IntN(50))*time.Millisecond)
			}
			w.Heal()
			for _, x := range ids {
				_ = w.Restart(x)
			}
			w.Run(w.Now() + 20*time.Second)
			for i := uint64(1); i <= id; i++ {
				for _, f := range faults {
					if f.node == sentTo[i] && f.at >= sentAt[i] && f.at <= sentAt[i]+3*time.Second {
						exempt[i] = true
					}
				}
			}
			for i := uint64(1); i <= id; i++ {
				n := cl.replies[i]
				if n > 1 || n == 0 && !exempt[i] {
					t.Errorf("request %d to %s: %d replies, want exactly 1", i, sentTo[i], n)
				}
			}
			// Every replica of every key holds the same record.
			dumps := map[string]map[string]Record{}
			keys := map[string]bool{}
			for _, x := range ids {
				d, err := SimDump(w.Node(x))
				if err != nil {
					t.Fatal(err)
				}
				dumps[x] = d
				for k := range d {
					keys[k] = true
				}
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			slices.Sort(sorted)
			for _, k := range sorted {
				reps := SimReplicas(cfg, k)
				first := dumps[reps[0]][k]
				for _, r := range reps[1:] {
					if got := dumps[r][k]; !got.Equal(first) {
						t.Errorf("key %s: %s holds %s, %s holds %s", k, reps[0], first.Version(cons), r, got.Version(cons))
					}
				}
			}
			t.Logf("%d requests (%d exempt), %d keys", id, len(exempt), len(sorted))
			if len(sorted) < 10 {
				t.Errorf("only %d keys written", len(sorted))
			}
		})
	}
}

func without(xs []string, x string) []string {
	var out []string
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// TestSimSuspicionSkipsAndProbeClears: a replica that timed out is suspected, so the next write
// skips it (straight to a hint); once it answers a probe, writes go to it again.
func TestSimSuspicionSkipsAndProbeClears(t *testing.T) {
	cfg := llTestConfig(4)
	key := keyWith(t, cfg, func(_ string, w []string) bool { return w[0] == "n1" && slices.Contains(w[:3], "n4") })
	c := newSimCluster(t, 13, cfg)
	c.isolate("n4")
	mustOK(t, "first put", c.put("n1", key, "v1", Quorums{W: 2}))
	c.run(time.Second) // the direct write to n4 times out: n4 is suspected
	if got := c.stat("n1", "replica_suspected_skip"); got != 0 {
		t.Fatalf("replica_suspected_skip before any suspicion: %d", got)
	}
	mustOK(t, "second put", c.put("n1", key, "v2", Quorums{W: 2}))
	if got := c.stat("n1", "replica_suspected_skip"); got != 1 {
		t.Fatalf("replica_suspected_skip after n4 timed out: got %d, want 1", got)
	}
	c.heal()
	c.run(time.Second) // a probe reaches n4: no longer suspected
	mustOK(t, "third put", c.put("n1", key, "v3", Quorums{W: 3}))
	if got := c.stat("n1", "replica_suspected_skip"); got != 1 {
		t.Errorf("replica_suspected_skip after the probe: got %d, want still 1", got)
	}
	if got := c.dump("n4")[key]; got.Values()[0] != "v3" {
		t.Errorf("n4 after the third put (w=3): got %+v", got)
	}
}

// TestSimAntiEntropyPages: records that do not fit one request travel in several pages, both
// ways, and the replicas converge.
func TestSimAntiEntropyPages(t *testing.T) {
	cfg := llTestConfig(2)
	cfg.N, cfg.W, cfg.R = 2, 1, 1
	cfg.HintedHandoff = false
	cfg.AntiEntropy = 300 * time.Millisecond
	cfg.MaxBodyBytes = 1024 // a record budget of 16 KiB: 2 KiB values, 8 a page
	scfg := sim.DefaultConfig()
	scfg.Seed, scfg.KeepTrace = 14, true
	c := newSimClusterOn(t, scfg, cfg)
	big := strings.Repeat("x", 2000)
	c.isolate("n2")
	for i := 0; i < 20; i++ {
		mustOK(t, "put at n1", c.put("n1", fmt.Sprintf("a%02d", i), big, Quorums{}))
		mustOK(t, "put at n2", c.put("n2", fmt.Sprintf("b%02d", i), big, Quorums{}))
	}
	c.heal()
	c.run(5 * time.Second)
	for _, id := range c.ids {
		if got := len(c.dump(id)); got != 40 {
			t.Errorf("%s holds %d keys, want 40", id, got)
		}
	}
	// Each side's 20 records take 3 pages: 3 pushes, and 2 more asks for the answer's pages.
	syncs := 0
	for _, line := range strings.Split(string(c.w.Trace().Bytes()), "\n") {
		if strings.Contains(line, "send") && strings.Contains(line, "rpc/internal/ae/sync") {
			syncs++
		}
	}
	if syncs < 5 {
		t.Errorf("%d anti-entropy sync requests, want at least 5 (paged)", syncs)
	}
	if c.stat("n1", "ae_record_too_large")+c.stat("n2", "ae_record_too_large") != 0 {
		t.Error("a record counted as too large")
	}
}

// TestSimBusyKeyDoesNotStarveReads: a read waits only for the writes of its key handed to
// the disk before it, not for those that keep coming after.
func TestSimBusyKeyDoesNotStarveReads(t *testing.T) {
	scfg := sim.DefaultConfig()
	scfg.Disk.SyncLatency = 50 * time.Millisecond
	cfg := llTestConfig(3)
	cfg.W, cfg.R = 1, 1
	c := newSimClusterOn(t, scfg, cfg)
	mustOK(t, "warm-up put", c.put("n1", "x", "v0", Quorums{}))
	start := c.w.Now()
	for i := 1; i <= 200; i++ { // a write of x every 10ms for 2s, none waited for
		c.w.At(start+time.Duration(i)*10*time.Millisecond, "write", func() {
			c.send("n1", SimKindWrite, func(id uint64) any {
				return SimWrite{ID: id, Key: "x", Op: WriteOp{Kind: KindRegister, Value: "v" + strconv.Itoa(i)}}
			})
		})
	}
	c.run(500 * time.Millisecond)
	sent := c.w.Now()
	r := c.get("n1", "x", Quorums{})
	mustOK(t, "read of the busy key", r)
	if took := c.w.Now() - sent; took > 200*time.Millisecond {
		t.Fatalf("the read took %s while x kept being written (a sync takes 50ms)", took)
	}
	if value(r) == "v0" || value(r) == "" {
		t.Errorf("read %q, want one of the writes made before it", value(r))
	}
}

func TestSimClientBadInput(t *testing.T) {
	c := newSimCluster(t, 15, llTestConfig(3))
	for _, tc := range []struct {
		name, kind string
		body       func(id uint64) any
		want       string
	}{
		{"empty key", SimKindWrite, func(id uint64) any {
			return SimWrite{ID: id, Op: WriteOp{Kind: KindRegister, Value: "v"}}
		}, "key is empty"},
		{"w above n", SimKindWrite, func(id uint64) any {
			return SimWrite{ID: id, Key: "k", Op: WriteOp{Kind: KindRegister}, Q: Quorums{W: 4}}
		}, "w 4 out of range"},
		{"unknown write kind", SimKindWrite, func(id uint64) any {
			return SimWrite{ID: id, Key: "k", Op: WriteOp{Kind: "map"}}
		}, `kind "map"`},
		{"unknown read kind", SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "k", Kind: "map"} }, `kind "map"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do("n1", tc.kind, tc.body)
			if r.Err == nil || r.Err.Status != 400 || !strings.Contains(r.Err.Msg, tc.want) {
				t.Fatalf("got %+v, want a 400 naming %q", r.Err, tc.want)
			}
		})
	}
	if got := c.stat("n1", "client_bad_request"); got != 4 {
		t.Errorf("client_bad_request: got %d, want 4", got)
	}
}

// rawPeer is a cluster member that speaks the internal protocol by hand.
type rawPeer struct {
	env     *sim.Env
	answers map[uint64]simAnswer
}

func (p *rawPeer) Receive(m sim.Message) {
	if a, ok := m.Body.(simAnswer); ok {
		p.answers[a.ID] = a
	}
}

// TestSimInternalInputChecked: a sim node checks a peer's internal request as the HTTP side
// does (cluster member, size limit, known fields only, the request's own checks).
func TestSimInternalInputChecked(t *testing.T) {
	cfg := llTestConfig(3)
	cfg.Peers["x"] = ""
	cfg.MaxBodyBytes = 1024 // record-carrying requests: at most 16 KiB + 64 KiB
	scfg := sim.DefaultConfig()
	w, err := sim.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	boot := SimBoot(cfg, zerolog.Nop(), nil)
	for _, id := range []string{"n1", "n2", "n3"} {
		if _, err := w.AddNode(id, boot); err != nil {
			t.Fatal(err)
		}
	}
	x := &rawPeer{answers: map[uint64]simAnswer{}}
	if _, err := w.AddNode("x", func(env *sim.Env) sim.Program { x.env = env; return x }); err != nil {
		t.Fatal(err)
	}
	stranger := &rawPeer{answers: map[uint64]simAnswer{}}
	if _, err := w.AddNode("y", func(env *sim.Env) sim.Program { stranger.env = env; return stranger }); err != nil {
		t.Fatal(err)
	}
	big := `{"key":"k","record":{"k":"register","r":[{"v":"` + strings.Repeat("a", 100<<10) + `","n":"n1","s":1}]}}`
	for i, tc := range []struct {
		from         *rawPeer
		route, body  string
		status       int
		wantInAnswer string
	}{
		{x, "/internal/read", `{"key":"k"}`, 0, `"record"`},
		{x, "/internal/read", `{"key":"k","extra":1}`, 400, "unknown field"},
		{x, "/internal/read", `{"key":""}`, 400, "key is empty"},
		{x, "/internal/write", `{"key":"k","record":{"k":"blob"}}`, 400, `kind "blob"`},
		{x, "/internal/write", big, 413, "more than"},
		{x, "/internal/nope", `{}`, 404, "no internal route"},
		{stranger, "/internal/read", `{"key":"k"}`, 400, "not a cluster node"},
	} {
		id := uint64(i + 1)
		tc.from.env.Send("n1", "rpc"+tc.route, simCall{ID: id, Route: tc.route, Body: simBody{raw: []byte(tc.body), size: len(tc.body)}})
		w.Run(w.Now() + 100*time.Millisecond)
		a, ok := tc.from.answers[id]
		switch {
		case !ok:
			t.Errorf("%s %.40s: no answer", tc.route, tc.body)
		case a.Status != tc.status || !strings.Contains(a.Msg+a.Body.String(), tc.wantInAnswer):
			t.Errorf("%s %.40s: got %d %q %s, want %d with %q", tc.route, tc.body, a.Status, a.Msg, a.Body, tc.status, tc.wantInAnswer)
		}
	}
}
